"""Fields the admin adds to every customer (text / number / choice / date), kept in the
customer's ``custom_fields`` and edited from the card."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from crm.clock import Clock
from crm.customer_service import CustomerService, clean_optional, clean_required
from crm.customers import FieldDefinition, FieldKind
from crm.dates import parse_time
from crm.errors import InvalidInput
from crm.members import Member
from crm.permissions import Action, require
from crm.ports import UnitOfWork

KEY = re.compile(r"^[a-z][a-z0-9_]{0,19}$")
PREFIX = "cf_"  # on the card: edit:cf_<key>
LABEL_MAX = 64
VALUE_MAX = 200
CLEAR = ("-", "无", "none")


class CustomFieldService:
    def __init__(self, uow: UnitOfWork, clock: Clock, customers: CustomerService) -> None:
        self._uow = uow
        self._clock = clock
        self._customers = customers

    async def definitions(self) -> list[FieldDefinition]:
        return list(await self._uow.fields.active())

    async def overview(self, member: Member) -> list[FieldDefinition]:
        """The definitions, for the admin who manages them."""
        require(member, Action.MANAGE_MEMBERS)
        return await self.definitions()

    async def define(
        self, member: Member | None, key: str, kind: str, label: str, options: list[str]
    ) -> bool:
        """``member`` None: the command line."""
        if member is not None:
            require(member, Action.MANAGE_MEMBERS)
        if not KEY.match(key) or kind not in FieldKind.__members__.values():
            raise InvalidInput("fields.usage")
        if kind == FieldKind.CHOICE and not options:
            raise InvalidInput("fields.choice_needs_options")
        definition = FieldDefinition(
            key=key,
            label=clean_required(label, LABEL_MAX, "fields.usage"),
            kind=FieldKind(kind),
            options=tuple(clean_required(o, LABEL_MAX, "fields.usage") for o in options),
        )
        return await self._uow.fields.define(definition)

    async def retire(self, member: Member | None, key: str) -> bool:
        if member is not None:
            require(member, Action.MANAGE_MEMBERS)
        return await self._uow.fields.retire(key)

    async def set_value(self, member: Member, customer_id: int, key: str, raw: str) -> str:
        customer = await self._customers.get(member, customer_id)
        definition = next((d for d in await self.definitions() if d.key == key), None)
        if definition is None:
            raise InvalidInput("customer.field_unknown")
        value = None if raw.strip().casefold() in CLEAR else self._parse(definition, raw)
        values = dict(customer.custom_fields)
        if value is None:
            values.pop(key, None)
        else:
            values[key] = value
        await self._uow.customers.set_field(customer.id, "custom_fields", values)
        return value or "—"

    def _parse(self, definition: FieldDefinition, raw: str) -> str:
        text = clean_required(raw, VALUE_MAX, "customer.field_unknown")
        if definition.kind is FieldKind.NUMBER:
            try:
                number = Decimal(text.replace(",", ""))
            except InvalidOperation:
                raise InvalidInput("fields.bad_number") from None
            if not number.is_finite():
                raise InvalidInput("fields.bad_number")
            return str(number)
        if definition.kind is FieldKind.DATE:
            return _date(text, self._clock.now()).isoformat()
        if definition.kind is FieldKind.CHOICE:
            match = next((o for o in definition.options if o.casefold() == text.casefold()), None)
            if match is None:
                raise InvalidInput("fields.bad_choice", options=" / ".join(definition.options))
            return match
        return clean_optional(text, VALUE_MAX) or ""


def _date(text: str, now: datetime) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        parsed = parse_time(text, now)
    if parsed is None:
        raise InvalidInput("fields.bad_date")
    return parsed.at.date()
