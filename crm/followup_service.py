"""Logging a follow-up: a draft (from one free-text message, or from the customer card), shown
for confirmation, editable field by field, with attachments; Save writes the record and the
next task in one transaction. The draft is a ``dialogs`` row, so it survives a restart."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from crm import dialogs
from crm.access import Visibility
from crm.clock import Clock
from crm.customer_service import FREE_TEXT_MAX, CustomerService, clean_optional
from crm.dates import parse_time
from crm.dialogs import Dialog
from crm.errors import DomainError, InvalidInput, NotFound
from crm.followups import (
    Attachment,
    ContactMethod,
    FollowUp,
    NewFollowUp,
    NewTask,
    Task,
    TaskState,
)
from crm.log_parser import parse_log
from crm.members import Member
from crm.ports import UnitOfWork
from crm.search import SearchHit

KIND = "log"
EDITABLE = ("method", "feedback", "demand_change", "next_step", "next_at")
MAX_ATTACHMENTS = 10
_CANDIDATES = 6


@dataclass(frozen=True)
class LogDraft:
    customer_id: int
    customer_code: str
    customer_name: str
    method: ContactMethod | None
    feedback: str | None
    demand_change: str | None
    next_step: str | None
    next_at: datetime | None
    attachments: int


@dataclass(frozen=True)
class PickCustomer:
    """Several customers match the fragment: the rep picks one."""

    fragment: str
    candidates: list[SearchHit]


@dataclass(frozen=True)
class AskMethod:
    customer_name: str


@dataclass(frozen=True)
class AskText:
    """Waiting for the rep's text (what happened, or a new value for ``field``)."""

    field: str
    customer_name: str


@dataclass(frozen=True)
class Saved:
    follow_up: FollowUp
    task: Task | None
    attachments: int = field(default=0)


class FollowUpService:
    def __init__(self, uow: UnitOfWork, clock: Clock, customers: CustomerService) -> None:
        self._uow = uow
        self._clock = clock
        self._customers = customers

    async def start_from_text(
        self, member: Member, text: str, zone: ZoneInfo
    ) -> LogDraft | PickCustomer:
        text = _clean(text)
        parsed = parse_log(text, self._clock.now().astimezone(zone))
        if not parsed.customer_fragment or not parsed.summary:
            raise InvalidInput("log.usage")
        data = _data(
            parsed.method,
            parsed.feedback,
            parsed.demand_change,
            parsed.next_step,
            parsed.next_at,
            summary=parsed.summary,
        )
        hits = await self._uow.search.search(
            parsed.customer_fragment, Visibility.of(member), limit=_CANDIDATES
        )
        if not hits:
            raise NotFound("log.no_customer", fragment=parsed.customer_fragment)
        if len(hits) > 1 and not _clear_winner(hits):
            await self._save(
                Dialog(
                    member.id,
                    KIND,
                    "pick_customer",
                    {**data, "candidates": [hit.customer_id for hit in hits]},
                )
            )
            return PickCustomer(parsed.customer_fragment, hits)
        return await self._draft_for(member, hits[0].customer_id, data)

    async def pick_customer(self, member: Member, customer_id: int) -> LogDraft:
        dialog = await self._dialog(member, "pick_customer")
        if customer_id not in dialog.data.get("candidates", []):
            raise DomainError("errors.button_expired")
        return await self._draft_for(member, customer_id, dialog.data)

    async def start_for_customer(self, member: Member, customer_id: int) -> AskMethod:
        customer = await self._customers.get(member, customer_id)
        await self._save(
            Dialog(member.id, KIND, "method", _base(customer.id, customer.code, customer.name))
        )
        return AskMethod(customer.name)

    async def choose_method(self, member: Member, method: ContactMethod) -> AskText:
        dialog = await self._dialog(member, "method")
        await self._save(dialog.at("text", method=method.value))
        return AskText("summary", dialog.data["customer_name"])

    async def answer(self, member: Member, text: str, zone: ZoneInfo) -> LogDraft | AskText:
        """Typed text while a follow-up dialog waits for it."""
        dialog = await self._dialog(member)
        text = _clean(text)
        if dialog.step == "text":
            parsed = parse_log(f"- {text}", self._clock.now().astimezone(zone))
            method = parsed.method or ContactMethod(dialog.data["method"])
            data = _data(
                method,
                parsed.feedback,
                parsed.demand_change,
                parsed.next_step,
                parsed.next_at,
                summary=parsed.summary,
            )
            data["task_id"] = dialog.data.get("task_id")  # set when logging a reminder's outcome
            return await self._draft_for(member, dialog.data["customer_id"], data)
        if dialog.step.startswith("edit:"):
            field_name = dialog.step.removeprefix("edit:")
            value = self._parse_field(field_name, text, zone)
            updated = dialog.at("draft", **{field_name: value})
            await self._save(updated)
            return self._view(updated)
        raise InvalidInput("log.use_buttons")

    async def edit(self, member: Member, field_name: str) -> AskText:
        dialog = await self._dialog(member, "draft")
        if field_name not in EDITABLE:
            raise DomainError("errors.button_expired")
        await self._save(dialog.at(f"edit:{field_name}"))
        return AskText(field_name, dialog.data["customer_name"])

    async def set_method(self, member: Member, method: ContactMethod) -> LogDraft:
        dialog = await self._dialog(member, "edit:method")
        updated = dialog.at("draft", method=method.value)
        await self._save(updated)
        return self._view(updated)

    async def attach(self, member: Member, attachment: Attachment) -> LogDraft:
        dialog = await self._dialog(member, "draft")
        attachments = list(dialog.data.get("attachments", []))
        if len(attachments) >= MAX_ATTACHMENTS:
            raise InvalidInput("log.too_many_attachments", limit=MAX_ATTACHMENTS)
        attachments.append(asdict(attachment))
        updated = dialog.at("draft", attachments=attachments)
        await self._save(updated)
        return self._view(updated)

    async def save(self, member: Member) -> Saved:
        dialog = await self._dialog(member, "draft")
        data = dialog.data
        customer = await self._customers.get(member, data["customer_id"])
        now = self._clock.now()
        next_at = _when(data.get("next_at"))
        if next_at is not None and next_at <= now:
            raise InvalidInput("log.time_in_past")
        method = ContactMethod(data["method"]) if data.get("method") else ContactMethod.OTHER
        follow_up = await self._uow.follow_ups.add(
            NewFollowUp(
                customer_id=customer.id,
                author_id=member.id,
                happened_at=now,
                method=method,
                summary=data.get("summary") or "",
                feedback=data.get("feedback"),
                demand_change=data.get("demand_change"),
                next_step=data.get("next_step"),
            )
        )
        for attachment in data.get("attachments", []):
            await self._uow.follow_ups.add_attachment(follow_up.id, Attachment(**attachment))
        await self._uow.customers.touch_follow_up(customer.id, now)
        task = None
        if next_at is not None:
            task = await self._uow.tasks.add(
                NewTask(
                    customer_id=customer.id,
                    assignee_id=customer.owner_id,
                    created_by=member.id,
                    due_at=next_at,
                    method=method,
                    talking_points=data.get("next_step"),
                    follow_up_id=follow_up.id,
                )
            )
        if data.get("task_id"):  # logged from a reminder: that task is done
            await self._uow.tasks.set_state(int(data["task_id"]), TaskState.DONE, now)
        await self._uow.dialogs.clear(member.id)
        return Saved(follow_up, task, len(data.get("attachments", [])))

    async def cancel(self, member: Member) -> bool:
        return await dialogs.close(self._uow, member.id, KIND)

    async def for_task(self, member: Member, task_id: int, customer_id: int) -> AskMethod:
        """ "Log outcome" on a reminder: a follow-up for the task's customer that closes it."""
        asked = await self.start_for_customer(member, customer_id)
        dialog = await self._dialog(member, "method")
        await self._save(dialog.at("method", task_id=task_id))
        return asked

    # -- helpers ------------------------------------------------------------------------

    async def _draft_for(self, member: Member, customer_id: int, data: dict[str, Any]) -> LogDraft:
        customer = await self._customers.get(member, customer_id)
        next_at = _when(data.get("next_at"))
        if next_at is not None and next_at <= self._clock.now():
            raise InvalidInput("log.time_in_past")
        merged = {key: value for key, value in data.items() if key != "candidates"}
        merged |= _base(customer.id, customer.code, customer.name)
        dialog = Dialog(member.id, KIND, "draft", merged)
        await self._save(dialog)
        return self._view(dialog)

    def _parse_field(self, field_name: str, text: str, zone: ZoneInfo) -> str | None:
        if field_name == "next_at":
            if text.strip() in ("-", "无", "none", "no"):
                return None
            parsed = parse_time(text, self._clock.now().astimezone(zone))
            if parsed is None:
                raise InvalidInput("log.bad_time")
            if parsed.at <= self._clock.now():
                raise InvalidInput("log.time_in_past")
            return parsed.at.isoformat()
        if field_name == "method":
            raise InvalidInput("log.use_buttons")
        return clean_optional(text, FREE_TEXT_MAX)

    def _view(self, dialog: Dialog) -> LogDraft:
        data = dialog.data
        return LogDraft(
            customer_id=data["customer_id"],
            customer_code=data["customer_code"],
            customer_name=data["customer_name"],
            method=ContactMethod(data["method"]) if data.get("method") else None,
            feedback=data.get("feedback"),
            demand_change=data.get("demand_change"),
            next_step=data.get("next_step"),
            next_at=_when(data.get("next_at")),
            attachments=len(data.get("attachments", [])),
        )

    async def _dialog(self, member: Member, step: str | None = None) -> Dialog:
        dialog = await self._uow.dialogs.get(member.id)
        if dialog is None or dialog.kind != KIND:
            raise DomainError("log.no_draft")
        if step is not None and dialog.step != step:
            raise DomainError("errors.button_expired")
        return dialog

    async def _save(self, dialog: Dialog) -> None:
        await self._uow.dialogs.save(dialog, self._clock.now())


def _clean(text: str) -> str:
    cleaned = clean_optional(text, FREE_TEXT_MAX)
    if not cleaned:
        raise InvalidInput("log.usage")
    return cleaned


def _data(
    method: ContactMethod | None,
    feedback: str | None,
    demand_change: str | None,
    next_step: str | None,
    next_at: datetime | None,
    *,
    summary: str,
) -> dict[str, Any]:
    return {
        "method": method.value if method else None,
        "summary": summary,
        "feedback": feedback,
        "demand_change": demand_change,
        "next_step": next_step,
        "next_at": next_at.isoformat() if next_at else None,
    }


def _base(customer_id: int, code: str, name: str) -> dict[str, Any]:
    return {"customer_id": customer_id, "customer_code": code, "customer_name": name}


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _clear_winner(hits: list[SearchHit]) -> bool:
    """One hit matched exactly (code, name, phone) and the next did not."""
    return hits[0].matched in ("code", "name", "phone") and hits[1].score < hits[0].score
