"""Cooperative cancellation shared by the CLI (Ctrl-C) and the app (a cancel button)."""
from __future__ import annotations

import threading


class CancelToken:
    """A flag that any thread may set; the core checks it at least every ~0.1 s."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout: float) -> bool:
        return self._event.wait(timeout)
