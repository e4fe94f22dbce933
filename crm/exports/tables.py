"""What each export's sheet holds: its columns (headings from the catalogue) and the cells of a
record. The follow-up sheet keeps the headings of the source documents' "customer follow-up
record table" (seed 000, template 2): 跟进日期 客户编号 跟进方式 沟通要点 客户反馈 需求变化
下一步计划 负责人. Phones arrive here already masked or not: the service decides."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from crm.exports.records import (
    CustomerRecord,
    DealRecord,
    ExportKind,
    FollowUpRecord,
    TaskRecord,
)
from crm.followups import TaskState
from crm.texts import Text

Cell = str | int | float | Decimal | date | datetime | Text | None
Row = tuple[Cell, ...]


class Format(StrEnum):
    TEXT = "text"
    DATETIME = "datetime"
    DATE = "date"
    MONEY = "money"


@dataclass(frozen=True)
class Column:
    heading: Text
    width: float
    format: Format = Format.TEXT


def _column(key: str, width: float, format: Format = Format.TEXT) -> Column:
    return Column(Text(f"export.column.{key}"), width, format)


CUSTOMER_COLUMNS = (
    _column("code", 11),
    _column("customer_name", 28),
    _column("industry", 12),
    _column("size", 12),
    _column("source", 14),
    _column("demand_type", 14),
    _column("stage", 9),
    _column("grade", 7),
    _column("region", 10),
    _column("contact", 12),
    _column("title", 12),
    _column("phone", 15),
    _column("email", 24),
    _column("tags", 24),
    _column("owner", 10),
    _column("notes", 40),
    _column("created_at", 17, Format.DATETIME),
    _column("last_followup_at", 17, Format.DATETIME),
)

FOLLOW_UP_COLUMNS = (  # seed 000, template 2, in its order
    _column("followup_date", 17, Format.DATETIME),
    _column("code", 11),
    _column("method", 9),
    _column("talking_points", 40),
    _column("feedback", 32),
    _column("demand_change", 24),
    _column("next_step", 32),
    _column("owner", 10),
)

TASK_COLUMNS = (
    _column("due_at", 17, Format.DATETIME),
    _column("code", 11),
    _column("customer_name", 28),
    _column("method", 9),
    _column("talking_points", 40),
    _column("state", 9),
    _column("assignee", 10),
    _column("completed_at", 17, Format.DATETIME),
    _column("created_at", 17, Format.DATETIME),
)

DEAL_COLUMNS = (
    _column("deal_date", 12, Format.DATE),
    _column("code", 11),
    _column("customer_name", 28),
    _column("product", 24),
    _column("amount", 14, Format.MONEY),
    _column("deal_note", 32),
    _column("owner", 10),
)

COLUMNS: dict[ExportKind, tuple[Column, ...]] = {
    ExportKind.CUSTOMERS: CUSTOMER_COLUMNS,
    ExportKind.FOLLOW_UPS: FOLLOW_UP_COLUMNS,
    ExportKind.TASKS: TASK_COLUMNS,
    ExportKind.DEALS: DEAL_COLUMNS,
}

TAG_SEPARATOR = "、"

_STAGES: dict[str, Text] = {}
_METHODS: dict[str, Text] = {}
_TASK_STATES: dict[str, Text] = {}


def _cached(cache: dict[str, Text], prefix: str, value: str) -> Text:
    text = cache.get(value)
    if text is None:
        text = cache[value] = Text(f"{prefix}.{value}")
    return text


def customer_row(record: CustomerRecord, show_phone: Callable[[str], str]) -> Row:
    return (
        record.code,
        record.name,
        record.industry,
        record.size,
        record.source,
        record.demand_type,
        _cached(_STAGES, "stages", record.stage.value),
        record.grade,
        record.region,
        record.contact_name,
        record.contact_title,
        show_phone(record.phone) if record.phone else None,
        record.email,
        TAG_SEPARATOR.join(record.tags) if record.tags else None,
        record.owner_name,
        record.notes,
        record.created_at,
        record.last_followup_at,
    )


def follow_up_row(record: FollowUpRecord) -> Row:
    return (
        record.happened_at,
        record.customer_code,
        _cached(_METHODS, "methods", record.method.value),
        record.summary,
        record.feedback,
        record.demand_change,
        record.next_step,
        record.author_name,
    )


def task_row(record: TaskRecord, now: datetime) -> Row:
    state = record.state.value
    if record.state in (TaskState.OPEN, TaskState.SNOOZED) and record.due_at < now:
        state = "overdue"
    return (
        record.due_at,
        record.customer_code,
        record.customer_name,
        _cached(_METHODS, "methods", record.method.value) if record.method else None,
        record.talking_points,
        _cached(_TASK_STATES, "export.task_state", state),
        record.assignee_name,
        record.completed_at,
        record.created_at,
    )


def deal_row(record: DealRecord) -> Row:
    return (
        record.deal_date,
        record.customer_code,
        record.customer_name,
        record.product,
        record.amount,
        record.note,
        record.owner_name,
    )
