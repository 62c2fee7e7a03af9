"""Typed messages between the engine's run (in a worker thread) and the screens.

`EventBridge` is a progress sink: it turns the engine's events (already throttled to about
20 a second by the parallel core) into Textual messages posted to one widget. `post_message`
is thread-safe, so the bridge is called straight from the worker thread.
"""
from __future__ import annotations

from typing import Optional

from textual.message import Message
from textual.message_pump import MessagePump

from dataset_forge.parallel import Advanced, Event, Finished, ItemFailed, RunSummary, Started
from dataset_forge.reports.report import Report


class RunStarted(Message):
    """A pass over the items began (an action may make several passes)."""

    def __init__(self, label: str, total: Optional[int], unit: str = "items") -> None:
        super().__init__()
        self.label, self.total, self.unit = label, total, unit


class RunAdvanced(Message):
    def __init__(self, done: int, failed: int, total: Optional[int]) -> None:
        super().__init__()
        self.done, self.failed, self.total = done, failed, total


class RunItemFailed(Message):
    def __init__(self, item: str, error_type: str, message: str) -> None:
        super().__init__()
        self.item, self.error_type, self.message = item, error_type, message


class RunPassFinished(Message):
    def __init__(self, summary: RunSummary) -> None:
        super().__init__()
        self.summary = summary


class RunEnded(Message):
    """The whole action ended: `report` when it ran (maybe cancelled), else `error`."""

    def __init__(self, report: Report | None, error: str | None = None) -> None:
        super().__init__()
        self.report, self.error = report, error


class EventBridge:
    """A sink for `run_action` that posts each engine event as a message to `target`."""

    def __init__(self, target: MessagePump) -> None:
        self.target = target

    def __call__(self, event: Event) -> None:
        if isinstance(event, Started):
            message: Message = RunStarted(event.label, event.total, event.unit)
        elif isinstance(event, Advanced):
            message = RunAdvanced(event.done, event.failed, event.total)
        elif isinstance(event, ItemFailed):
            message = RunItemFailed(event.item, event.error_type, event.message)
        elif isinstance(event, Finished):
            message = RunPassFinished(event.summary)
        else:
            return
        self.target.post_message(message)
