"""Errors that reach users as one line and an exit code (the table in docs/ARCHITECTURE.md,
"Exit codes"; `dataset-forge --help` prints it too)."""
from __future__ import annotations

EXIT_OK = 0          # every item succeeded
EXIT_ITEMS_FAILED = 1  # the run finished, some items failed (each is a line in the report)
EXIT_USAGE = 2       # usage or configuration error: nothing ran
EXIT_INTERNAL = 3    # an unexpected error (a bug): one line, the traceback with --debug
EXIT_CANCELLED = 130  # stopped by Ctrl-C


class UsageError(Exception):
    """A bad flag, path or setting: printed as `error: <message>` with exit code 2."""
