"""The short questions a customer card asks ("amount and product?", "new tag?", "when?", "new
value?"), kept as a dialog row so that the answer still lands after a restart."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from crm import custom_fields
from crm.clock import Clock
from crm.custom_fields import CustomFieldService
from crm.customer_service import CustomerService
from crm.customers import CHOICE_LISTS, NewContact
from crm.dates import find_time, remove_span
from crm.dialogs import Dialog
from crm.errors import DomainError, InvalidInput
from crm.members import Member
from crm.ports import UnitOfWork
from crm.task_service import TaskService

KIND = "card"
ROLLED_FORWARD_DAYS = 60  # a month and day this far ahead meant this year's, already past
QUESTIONS = ("deal", "tag", "task", "contact")
EDITABLE_BY_TEXT = ("name", "notes", "grade", "parent", *CHOICE_LISTS)


@dataclass(frozen=True)
class Question:
    customer_id: int
    customer_name: str
    asks: str  # "deal" | "tag" | "task" | "contact" | "edit:<field>"
    custom_label: str | None = None  # the admin's label, when the field is a custom one


@dataclass(frozen=True)
class Answered:
    customer_id: int
    asks: str
    detail: str  # what was saved, for the confirmation


class CardActions:
    def __init__(
        self,
        uow: UnitOfWork,
        clock: Clock,
        customers: CustomerService,
        tasks: TaskService,
        fields: CustomFieldService,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._customers = customers
        self._tasks = tasks
        self._fields = fields

    async def ask(self, member: Member, customer_id: int, asks: str) -> Question:
        field = asks.removeprefix("edit:")
        custom = field.startswith(custom_fields.PREFIX)
        if asks not in QUESTIONS and field not in EDITABLE_BY_TEXT and not custom:
            raise DomainError("errors.button_expired")
        customer = await self._customers.get(member, customer_id)
        label = None
        if custom:
            key = field.removeprefix(custom_fields.PREFIX)
            definitions = {d.key: d.label for d in await self._fields.definitions()}
            if key not in definitions:
                raise DomainError("errors.button_expired")
            label = definitions[key]
        await self._uow.dialogs.save(
            Dialog(member.id, KIND, asks, {"customer_id": customer.id}), self._clock.now()
        )
        return Question(customer.id, customer.name, asks, label)

    async def answer(self, member: Member, text: str, zone: ZoneInfo) -> Answered:
        dialog = await self._uow.dialogs.get(member.id)
        if dialog is None or dialog.kind != KIND:
            raise DomainError("errors.button_expired")
        customer_id = int(dialog.data["customer_id"])
        detail = await self._apply(member, customer_id, dialog.step, text, zone)
        await self._uow.dialogs.clear(member.id)
        return Answered(customer_id, dialog.step, detail)

    async def _apply(
        self, member: Member, customer_id: int, asks: str, text: str, zone: ZoneInfo
    ) -> str:
        if asks == "deal":
            return await self._add_deal(member, customer_id, text, zone)
        if asks == "tag":
            await self._customers.add_tag(member, customer_id, text)
            return text.strip().lstrip("#＃")
        if asks == "task":
            line = await self._tasks.create(member, customer_id, text, zone)
            return _local(line.task.due_at, zone)
        if asks == "contact":
            return await self._add_contact(member, customer_id, text)
        field = asks.removeprefix("edit:")
        if field.startswith(custom_fields.PREFIX):
            key = field.removeprefix(custom_fields.PREFIX)
            return await self._fields.set_value(member, customer_id, key, text)
        if field == "parent":
            return await self._customers.set_parent(member, customer_id, text) or "—"
        await self._customers.set_field(member, customer_id, field, text)
        return text.strip()

    async def _add_deal(self, member: Member, customer_id: int, text: str, zone: ZoneInfo) -> str:
        """ "amount product [date] [; note]", e.g. "5万 CRM系统升级 11月20日；年度合作"."""
        parts = re.split(r"[;；]", text, maxsplit=1)
        body, note = parts[0], (parts[1].strip() if len(parts) > 1 else None)
        now = self._clock.now().astimezone(zone)
        when = find_time(body, now)
        if when is not None:
            body = remove_span(body, when)
        on = when.at.date() if when is not None else now.date()
        if (on - now.date()).days > ROLLED_FORWARD_DAYS:  # "11月20日" was rolled to next year
            on = on.replace(year=on.year - 1, day=min(on.day, 28) if on.month == 2 else on.day)
        if on > now.date():
            raise InvalidInput("deal.future_date")
        amount, _, product = body.strip().partition(" ")
        deal = await self._customers.add_deal(member, customer_id, amount, product, on, note)
        return f"{deal.amount} {deal.product} {deal.deal_date.isoformat()}"

    async def _add_contact(self, member: Member, customer_id: int, text: str) -> str:
        """ "name phone [title]", e.g. "王经理 13912345678 采购经理"."""
        parts = text.split()
        email = next((part for part in parts if "@" in part), None)
        parts = [part for part in parts if part != email]
        if len(parts) < 2:
            raise InvalidInput("card.contact_usage")
        name, phone, title = parts[0], parts[1], " ".join(parts[2:]) or None
        contact = await self._customers.add_contact(
            member, customer_id, NewContact(name=name, phone=phone, title=title, email=email)
        )
        return contact.name


def _local(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")
