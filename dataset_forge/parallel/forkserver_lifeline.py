"""Preloaded by the forkserver only (see backends.ProcessBackend): it watches its parent, the
main process, and exits when that dies. Never import this module anywhere else."""
from .lifeline import watch_parent

watch_parent()
