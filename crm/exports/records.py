"""What exports needs from storage, and the plain records it gets back.

Every query is scoped by a ``Visibility`` (a rep their own customers, a manager the team's, an
admin everyone's) and reads one page at a time, after a cursor (keyset pagination): a big
export never loads 100,000 ORM objects, and on SQLite no single transaction stays open for the
whole export."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from crm.access import Visibility
from crm.customers import Stage
from crm.followups import ContactMethod, TaskState


class ExportKind(StrEnum):
    CUSTOMERS = "customers"
    FOLLOW_UPS = "followups"
    TASKS = "tasks"
    DEALS = "deals"
    SURVEY_RESPONSES = "survey"


@dataclass(frozen=True, slots=True)
class CustomerRecord:
    id: int
    code: str
    name: str
    industry: str | None
    size: str | None
    source: str | None
    demand_type: str | None
    stage: Stage
    grade: str | None
    region: str | None
    owner_name: str
    notes: str | None
    created_at: datetime
    last_followup_at: datetime | None
    contact_name: str | None = None
    contact_title: str | None = None
    phone: str | None = None  # stored whole; the service masks it
    email: str | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FollowUpRecord:
    id: int
    happened_at: datetime
    customer_code: str
    customer_name: str
    method: ContactMethod
    summary: str
    feedback: str | None
    demand_change: str | None
    next_step: str | None
    author_name: str


@dataclass(frozen=True, slots=True)
class TaskRecord:
    id: int
    due_at: datetime
    customer_code: str
    customer_name: str
    method: ContactMethod | None
    talking_points: str | None
    state: TaskState
    assignee_name: str
    completed_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class DealRecord:
    id: int
    deal_date: date
    customer_code: str
    customer_name: str
    product: str
    amount: Decimal
    note: str | None
    owner_name: str


@dataclass(frozen=True)
class Window:
    """A period as UTC instants (``start`` included, ``end`` excluded); ``None`` = open."""

    start: datetime | None = None
    end: datetime | None = None


@dataclass(frozen=True)
class DateWindow:
    """The same period as calendar days (for deal dates); ``last`` included."""

    first: date | None = None
    last: date | None = None


# Cursors: the sort key of the last row of the previous page.
TimeCursor = tuple[datetime, int]
DateCursor = tuple[date, int]
Cursor = int | TimeCursor | DateCursor


class ExportQueries(Protocol):
    """Implemented by ``storage.repositories.exports.SqlExportQueries``."""

    async def count_customers(self, visibility: Visibility) -> int: ...
    async def customers(
        self, visibility: Visibility, after: int | None, limit: int
    ) -> Sequence[CustomerRecord]:
        """In id order (customer code order), each with its primary contact and tags."""
        ...

    async def count_follow_ups(self, visibility: Visibility, window: Window) -> int: ...
    async def follow_ups(
        self, visibility: Visibility, window: Window, after: TimeCursor | None, limit: int
    ) -> Sequence[FollowUpRecord]:
        """In the order they happened."""
        ...

    async def count_tasks(self, visibility: Visibility) -> int: ...
    async def tasks(
        self, visibility: Visibility, after: TimeCursor | None, limit: int
    ) -> Sequence[TaskRecord]:
        """By due time."""
        ...

    async def count_deals(self, visibility: Visibility, window: DateWindow) -> int: ...
    async def deals(
        self, visibility: Visibility, window: DateWindow, after: DateCursor | None, limit: int
    ) -> Sequence[DealRecord]:
        """By deal date."""
        ...

    async def visible_customers(
        self, visibility: Visibility, customer_ids: Collection[int]
    ) -> set[int]:
        """Those of ``customer_ids`` the member may see."""
        ...


@dataclass(frozen=True)
class ExportJob:
    """An export asked for and not yet delivered: what it was, for whom, in which time zone and
    language, and the "building…" message, if one was sent."""

    id: int
    member_id: int
    chat_id: int
    kind: ExportKind
    period: str
    zone: str
    language: str
    progress_message_id: int | None = None


class ExportJobs(Protocol):
    """Implemented by ``storage.repositories.export_jobs.SqlExportJobs``. A job is held by the
    process building it (``claim``, then ``renew`` as it goes); one whose claim has not been
    renewed since ``stale_before`` is taken to have lost its process."""

    async def add(
        self,
        member_id: int,
        chat_id: int,
        kind: ExportKind,
        period: str,
        zone: str,
        language: str,
        at: datetime,
    ) -> ExportJob | None:
        """The new job; None when the member has one already."""
        ...

    async def of_member(self, member_id: int) -> ExportJob | None: ...

    async def claim(self, job_id: int, worker: str, now: datetime, stale_before: datetime) -> bool:
        """Take the job unless a live claim holds it (one renewed since ``stale_before``)."""
        ...

    async def renew(self, job_id: int, worker: str, now: datetime) -> bool:
        """Still ``worker``'s (and now renewed)? False once another process took it over."""
        ...

    async def set_progress(self, job_id: int, message_id: int) -> None: ...

    async def finish(self, job_id: int) -> None: ...

    async def stale(self, stale_before: datetime) -> Sequence[ExportJob]:
        """Jobs no live claim holds: claimed (or, never claimed, asked for) before then."""
        ...
