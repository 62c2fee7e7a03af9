"""Worker processes end when the process that started them dies (kill -9 included).

A pool worker's parent is the forkserver (or the main process with fork/spawn); the forkserver's
parent is the main process. When a parent dies its children are re-parented, so each of these
processes watches its own parent id: once it changes, the process sends its main thread SIGTERM
(pool workers turn that into SystemExit, so atomic writers remove their temporary files) and
exits hard after a short grace period. The chain main -> forkserver -> workers thus
unwinds within about a second, and the resource tracker, whose pipe they all hold, follows.
"""
from __future__ import annotations

import os
import signal
import threading
import time

POLL = 0.25   # seconds between looks at the parent id
GRACE = 1.0   # seconds SIGTERM gets to unwind the current item before a hard exit (a pool
              # worker catches the SystemExit as the item's error and would wait for more work)


def watch_parent(poll: float = POLL, grace: float = GRACE) -> threading.Thread:
    """Start a daemon thread that ends this process once its parent has died."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll)
        # to the main thread, so a blocking call there is interrupted and the handler runs
        signal.pthread_kill(threading.main_thread().ident, signal.SIGTERM)
        time.sleep(grace)
        os._exit(128 + signal.SIGTERM)

    thread = threading.Thread(target=watch, name="forge-lifeline", daemon=True)
    thread.start()
    return thread
