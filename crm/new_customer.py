"""The guided "new customer" dialog: a state machine whose progress is a row in ``dialogs``, so
a restart resumes at the same step. Name, contact and phone are required (the source documents
say so); every other step is a choice that can be skipped."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from crm import dialogs
from crm.clock import Clock
from crm.customer_service import (
    NAME_MAX,
    CustomerService,
    DuplicateHit,
    clean_required,
    valid_phone,
)
from crm.customers import Customer, Grade, NewContact, NewCustomer, Stage
from crm.dialogs import Dialog
from crm.errors import DomainError, InvalidInput
from crm.members import Member
from crm.ports import UnitOfWork
from crm.texts import Text

KIND = "new_customer"
DUPLICATE_STEP = "duplicate"
CONFIRM_STEP = "confirm"


@dataclass(frozen=True)
class Step:
    name: str
    required: bool = False
    choice_list: str | None = None  # an admin-configured list
    fixed: tuple[str, ...] = ()  # fixed values (stage, grade)


STEPS: tuple[Step, ...] = (
    Step("name", required=True),
    Step("contact", required=True),
    Step("phone", required=True),
    Step("industry", choice_list="industry"),
    Step("size", choice_list="size"),
    Step("source", choice_list="source"),
    Step("demand_type", choice_list="demand_type"),
    Step("stage", fixed=tuple(stage.value for stage in Stage)),
    Step("grade", fixed=tuple(grade.value for grade in Grade)),
    Step("region", choice_list="region"),
    Step("route", choice_list="route"),
)
_BY_NAME = {step.name: step for step in STEPS}


@dataclass(frozen=True)
class Option:
    label: Text | str
    value: str


@dataclass(frozen=True)
class Prompt:
    """What to ask next."""

    step: str
    position: int
    total: int
    question: Text
    options: list[Option] = field(default_factory=list)
    skippable: bool = False
    duplicates: list[DuplicateHit] = field(default_factory=list)
    summary: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Unfinished:
    """/new while a new-customer dialog is open: offer to resume or start over."""

    step: str
    position: int
    total: int
    name: str | None


@dataclass(frozen=True)
class Created:
    customer: Customer


class NewCustomerFlow:
    def __init__(self, uow: UnitOfWork, clock: Clock, customers: CustomerService) -> None:
        self._uow = uow
        self._clock = clock
        self._customers = customers

    async def start(self, member: Member, *, restart: bool = False) -> Prompt | Unfinished:
        current = await self._uow.dialogs.get(member.id)
        if current is not None and current.kind == KIND and not restart:
            position, total = await self._position(current.step)
            return Unfinished(current.step, position, total, current.data.get("name"))
        dialog = Dialog(member_id=member.id, kind=KIND, step=STEPS[0].name)
        await self._save(dialog)
        return await self._prompt(dialog, member)

    async def resume(self, member: Member) -> Prompt:
        return await self._prompt(await self._dialog(member), member)

    async def answer(self, member: Member, text: str) -> Prompt | Created:
        """A typed answer to the current step."""
        dialog = await self._dialog(member)
        step = dialog.step
        if step in (DUPLICATE_STEP, CONFIRM_STEP):
            raise InvalidInput("new.use_buttons")
        value = await self._typed_value(_BY_NAME[step], text)
        return await self._advance(member, dialog.at(step, **{step: value}))

    async def pick(self, member: Member, step: str, index: int) -> Prompt | Created:
        """A pressed option button (``index`` into the options offered for ``step``)."""
        dialog = await self._current(member, step)
        options = await self._options(_BY_NAME[step])
        if not 0 <= index < len(options):
            raise DomainError("errors.button_expired")
        return await self._advance(member, dialog.at(step, **{step: options[index].value}))

    async def skip(self, member: Member, step: str) -> Prompt | Created:
        dialog = await self._current(member, step)
        if _BY_NAME[step].required:
            raise InvalidInput("new.required")
        return await self._advance(member, dialog.at(step, **{step: None}))

    async def continue_despite_duplicates(self, member: Member) -> Prompt | Created:
        dialog = await self._current(member, DUPLICATE_STEP)
        return await self._advance(member, dialog.at(DUPLICATE_STEP, duplicates_seen=True))

    async def save(self, member: Member) -> Created:
        dialog = await self._current(member, CONFIRM_STEP)
        customer = await self._customers.create(member, _draft(member, dialog.data))
        await self._uow.dialogs.clear(member.id)
        return Created(customer)

    async def cancel(self, member: Member) -> bool:
        return await dialogs.close(self._uow, member.id, KIND)

    # -- the machine --------------------------------------------------------------------

    async def _advance(self, member: Member, dialog: Dialog) -> Prompt | Created:
        if dialog.step == "phone" and not dialog.data.get("duplicates_seen"):
            hits = await self._customers.duplicates(
                member, dialog.data["name"], dialog.data["phone"]
            )
            if hits:
                dialog = dialog.at(DUPLICATE_STEP)
                await self._save(dialog)
                return await self._prompt(dialog, member, hits)
        next_step = await self._next_step(dialog.step)
        dialog = dialog.at(next_step)
        await self._save(dialog)
        return await self._prompt(dialog, member)

    async def _next_step(self, step: str) -> str:
        if step == DUPLICATE_STEP:
            step = "phone"
        names = [s.name for s in STEPS]
        for candidate in STEPS[names.index(step) + 1 :]:
            if candidate.required or await self._options(candidate):
                return candidate.name
        return CONFIRM_STEP

    async def _prompt(
        self, dialog: Dialog, member: Member, hits: list[DuplicateHit] | None = None
    ) -> Prompt:
        position, total = await self._position(dialog.step)
        if dialog.step == DUPLICATE_STEP:
            duplicates = (
                hits
                if hits is not None
                else await self._customers.duplicates(
                    member, dialog.data["name"], dialog.data["phone"]
                )
            )
            return Prompt(
                DUPLICATE_STEP, position, total, Text("new.duplicate_found"), duplicates=duplicates
            )
        if dialog.step == CONFIRM_STEP:
            return Prompt(
                CONFIRM_STEP, total, total, Text("new.confirm"), summary=_summary(dialog.data)
            )
        step = _BY_NAME[dialog.step]
        return Prompt(
            step.name,
            position,
            total,
            Text(f"new.ask_{step.name}"),
            options=await self._options(step),
            skippable=not step.required,
        )

    async def _options(self, step: Step) -> list[Option]:
        if step.fixed:
            return [Option(Text(f"{step.name}s.{value}"), value) for value in step.fixed]
        if step.choice_list:
            return [
                Option(value, value) for value in await self._customers.choices(step.choice_list)
            ]
        return []

    async def _typed_value(self, step: Step, text: str) -> str:
        if step.name == "phone":
            return valid_phone(text)
        if step.required:
            return clean_required(text, NAME_MAX, f"new.ask_{step.name}")
        typed = text.strip().casefold()
        for option in await self._options(step):
            if typed == option.value.casefold():
                return option.value
        raise InvalidInput("new.pick_an_option")

    async def _position(self, step: str) -> tuple[int, int]:
        active = [s.name for s in STEPS if s.required or await self._options(s)]
        total = len(active) + 1  # the confirmation
        if step == CONFIRM_STEP:
            return total, total
        if step == DUPLICATE_STEP:
            step = "phone"
        return active.index(step) + 1, total

    async def _dialog(self, member: Member) -> Dialog:
        dialog = await self._uow.dialogs.get(member.id)
        if dialog is None or dialog.kind != KIND:
            raise DomainError("new.no_dialog")
        return dialog

    async def _current(self, member: Member, step: str) -> Dialog:
        """The dialog, if it is still at ``step`` (a button from an older message is refused)."""
        dialog = await self._dialog(member)
        if dialog.step != step:
            raise DomainError("errors.button_expired")
        return dialog

    async def _save(self, dialog: Dialog) -> None:
        await self._uow.dialogs.save(dialog, self._clock.now())


def _draft(member: Member, data: dict[str, Any]) -> NewCustomer:
    return NewCustomer(
        name=data["name"],
        owner_id=member.id,
        contact=NewContact(name=data["contact"], phone=data["phone"]),
        stage=Stage(data["stage"]) if data.get("stage") else Stage.POTENTIAL,
        grade=Grade(data["grade"]) if data.get("grade") else None,
        industry=data.get("industry"),
        size=data.get("size"),
        source=data.get("source"),
        demand_type=data.get("demand_type"),
        region=data.get("region"),
        route=data.get("route"),
    )


def _summary(data: dict[str, Any]) -> dict[str, str]:
    return {step.name: str(data[step.name]) for step in STEPS if data.get(step.name)}
