"""Half-finished conversations, stored so that they survive a restart: one per member."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crm.ports import UnitOfWork


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


async def close(uow: UnitOfWork, member_id: int, kind: str | None = None) -> bool:
    """Drop the member's open dialog (only if it is of ``kind``, when given)."""
    dialog = await uow.dialogs.get(member_id)
    if dialog is None or (kind is not None and dialog.kind != kind):
        return False
    await uow.dialogs.clear(member_id)
    return True
