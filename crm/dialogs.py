"""Half-finished conversations, stored so that they survive a restart: one per member."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class Dialog:
    member_id: int
    kind: str
    step: str
    data: dict[str, Any] = field(default_factory=dict, hash=False)
    message_id: int | None = None

    def at(self, step: str, **data: Any) -> Dialog:
        """The same dialog moved to ``step`` with ``data`` merged in."""
        return replace(self, step=step, data={**self.data, **data})
