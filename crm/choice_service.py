"""The admin's choice lists (industry, size, source, demand type, region, route)."""

from __future__ import annotations

from crm.audit import AuditEntry
from crm.clock import Clock
from crm.customer_service import clean_required
from crm.customers import CHOICE_LISTS
from crm.errors import InvalidInput
from crm.members import Member
from crm.permissions import Action, require
from crm.ports import UnitOfWork

VALUE_MAX = 64
TAG_CATALOGUE = "tags"
LISTS = (*CHOICE_LISTS, TAG_CATALOGUE)


class ChoiceService:
    def __init__(self, uow: UnitOfWork, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def all(self, member: Member | None) -> dict[str, list[str]]:
        if member is not None:
            require(member, Action.MANAGE_MEMBERS)
        lists = {key: list(await self._uow.choices.options(key)) for key in CHOICE_LISTS}
        lists[TAG_CATALOGUE] = [tag.name for tag in await self._uow.customers.tag_catalogue()]
        return lists

    async def add(self, member: Member | None, list_key: str, value: str) -> bool:
        return await self._change(member, list_key, value, adding=True)

    async def remove(self, member: Member | None, list_key: str, value: str) -> bool:
        return await self._change(member, list_key, value, adding=False)

    async def _change(
        self, member: Member | None, list_key: str, value: str, *, adding: bool
    ) -> bool:
        """``member`` None: the ``kehu choices`` command line, run by whoever runs the server."""
        if member is not None:
            require(member, Action.MANAGE_MEMBERS)
        if list_key not in LISTS:
            raise InvalidInput("choices.unknown_list", lists=", ".join(LISTS))
        cleaned = clean_required(value, VALUE_MAX, "choices.usage")
        if list_key == TAG_CATALOGUE:
            changed = await self._uow.customers.list_tag(cleaned.lstrip("#＃"), adding)
        elif adding:
            changed = await self._uow.choices.add(list_key, cleaned)
        else:
            changed = await self._uow.choices.remove(list_key, cleaned)
        if changed:
            await self._uow.audit.record(
                AuditEntry(
                    action="choice.added" if adding else "choice.removed",
                    entity_type="choice_list",
                    entity_id=list_key,
                    actor_id=member.id if member else None,
                    at=self._clock.now(),
                    details={"value": cleaned},
                )
            )
        return changed
