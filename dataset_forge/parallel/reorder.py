"""`ReorderBuffer`: results arrive in completion order and leave in input order.

    order = ReorderBuffer()
    order.put(1, b); list(order.ready())   # []: 0 has not arrived
    order.put(0, a); list(order.ready())   # [a, b]
    order.drain()                          # on cancel: what is held, in order, gaps skipped

Sequence numbers start at 0 and each is put once.
"""
from __future__ import annotations

from typing import Any, Iterator


class ReorderBuffer:
    """Holds values that finished before an earlier one, until their turn comes."""

    def __init__(self) -> None:
        self._next = 0
        self._held: dict[int, Any] = {}

    def __len__(self) -> int:
        return len(self._held)

    def put(self, seq: int, value: Any) -> None:
        if seq < self._next or seq in self._held:
            raise ValueError(f"sequence number {seq} was already put")
        self._held[seq] = value

    def ready(self) -> Iterator[Any]:
        """Yield (and forget) the values whose predecessors have all left."""
        while self._next in self._held:
            value = self._held.pop(self._next)
            self._next += 1
            yield value

    def drain(self) -> Iterator[Any]:
        """Yield every held value in sequence order, skipping the ones that never arrived."""
        for seq in sorted(self._held):
            self._next = seq + 1
            yield self._held.pop(seq)
