"""What the core hands back per item: an `Outcome` holding a value or a `Failure`.

    for outcome in proc.map(fn, items):
        if outcome.ok: use(outcome.value)
        else: print(outcome.error)        # "photo.png: OSError: truncated file"
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Optional


@dataclass(frozen=True)
class Failure:
    """Why one item failed: what a report line shows."""

    item: str
    error_type: str
    message: str

    def __str__(self) -> str:
        return f"{self.item}: {self.error_type}: {self.message}"


@dataclass
class Outcome:
    """The result for one input item: a value, or a recorded failure."""

    index: int
    item: Any
    value: Any = None
    error: Optional[Failure] = None

    @property
    def ok(self) -> bool:
        return self.error is None


class FailFastError(RuntimeError):
    """Raised by `map` under `fail_fast` after the first failed item."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(str(failure))
        self.failure = failure


def describe_item(item: Any) -> str:
    """An item as a report line names it (at most 300 characters)."""
    text = str(item)
    return text if len(text) <= 300 else text[:297] + "..."


def failed(index: int, item: Any, error_type: str, message: str) -> Outcome:
    """The outcome of an item that failed with `error_type: message`."""
    return Outcome(index, item, error=Failure(describe_item(item), error_type, message))


def failed_all(pairs: Iterable[tuple[int, Any]], error_type: str, message: str) -> Iterator[Outcome]:
    """The same failure for every `(index, item)` of a chunk."""
    for index, item in pairs:
        yield failed(index, item, error_type, message)
