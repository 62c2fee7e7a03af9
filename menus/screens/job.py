"""What the two job screens (an action's run, a recipe's run) share: a cancel token, whether
the job is still running, and the progress of the current pass fed from the engine's events.

    class RunScreen(JobScreen): ...      # yields a RunProgress; starts its worker on mount

The app's quit and Home look for running `JobScreen`s.
"""
from __future__ import annotations

from textual import on
from textual.screen import Screen

from dataset_forge.parallel import CancelToken

from ..messages import RunAdvanced, RunStarted
from ..widgets.run_progress import RunProgress


class JobScreen(Screen):
    def __init__(self) -> None:
        super().__init__()
        self.cancel_token = CancelToken()
        self.running = False

    @on(RunStarted)
    def _started(self, message: RunStarted) -> None:
        self.query_one(RunProgress).start_pass(message.label, message.total, message.unit)

    @on(RunAdvanced)
    def _advanced(self, message: RunAdvanced) -> None:
        self.query_one(RunProgress).advance(message.done, message.failed, message.total)
