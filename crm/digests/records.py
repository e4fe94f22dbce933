"""What digests needs from storage, and the plain records it gets back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

from crm.access import Visibility
from crm.customers import Stage
from crm.followups import ContactMethod


@dataclass(frozen=True)
class Window:
    """[start, end) in UTC; ``first_day`` / ``last_day`` are the same span as local dates
    (deals carry a date, not a time)."""

    start: datetime
    end: datetime
    first_day: date
    last_day: date


@dataclass(frozen=True)
class Period:
    """What a digest covers: yesterday, and the week so far (Monday 00:00 local up to now)."""

    today: date
    yesterday: Window
    week: Window

    @property
    def start(self) -> datetime:
        return min(self.yesterday.start, self.week.start)

    @property
    def end(self) -> datetime:
        return max(self.yesterday.end, self.week.end)


@dataclass(frozen=True)
class Activity:
    """One rep's (or a whole scope's) work in one window."""

    follow_ups: int = 0
    tasks_done: int = 0
    new_customers: int = 0
    stage_moves: int = 0
    conversions: int = 0  # stage moves into "deal"
    deals: int = 0
    amount: Decimal = Decimal(0)

    def __add__(self, other: Activity) -> Activity:
        return Activity(
            follow_ups=self.follow_ups + other.follow_ups,
            tasks_done=self.tasks_done + other.tasks_done,
            new_customers=self.new_customers + other.new_customers,
            stage_moves=self.stage_moves + other.stage_moves,
            conversions=self.conversions + other.conversions,
            deals=self.deals + other.deals,
            amount=self.amount + other.amount,
        )

    @property
    def empty(self) -> bool:
        return self == Activity()


@dataclass(frozen=True)
class RepStats:
    member_id: int
    yesterday: Activity = field(default_factory=Activity)
    week: Activity = field(default_factory=Activity)
    overdue: int = 0  # open tasks past their due time, now
    stale: int = 0  # customers owned with no follow-up for longer than their stage allows


@dataclass(frozen=True)
class SurveyProgress:
    survey_id: int
    title: str
    yesterday: int  # responses completed
    week: int
    total: int
    valid: int


@dataclass(frozen=True)
class OverdueTask:
    task_id: int
    customer_id: int
    customer_code: str
    customer_name: str
    due_at: datetime
    talking_points: str | None


@dataclass(frozen=True)
class DealLine:
    customer_id: int
    customer_code: str
    customer_name: str
    owner_name: str
    amount: Decimal
    product: str


@dataclass(frozen=True)
class AgendaTask:
    task_id: int
    customer_id: int
    customer_code: str
    customer_name: str
    due_at: datetime
    method: ContactMethod | None
    talking_points: str | None


@dataclass(frozen=True)
class StaleCustomer:
    customer_id: int
    code: str
    name: str


@dataclass(frozen=True)
class RepAgenda:
    """A rep's morning: open tasks overdue and due today, customers gone quiet; the first few
    of each and how many there are in all."""

    member_id: int
    overdue: tuple[AgendaTask, ...] = ()
    overdue_total: int = 0
    today: tuple[AgendaTask, ...] = ()
    today_total: int = 0
    stale: tuple[StaleCustomer, ...] = ()
    stale_total: int = 0

    @property
    def empty(self) -> bool:
        return not (self.overdue_total or self.today_total or self.stale_total)


class DigestQueries(Protocol):
    """Implemented by ``storage.repositories.digests.SqlDigestQueries``. Every figure is an SQL
    aggregate grouped by rep; nothing walks the rows in Python."""

    async def rep_stats(
        self,
        owners: Sequence[int] | None,
        period: Period,
        stale_since: dict[Stage, datetime],
        now: datetime,
    ) -> dict[int, RepStats]:
        """Per rep (only those in ``owners``; ``None``: everyone), only reps with something."""
        ...

    async def agendas(
        self,
        reps: Sequence[int],
        now: datetime,
        until: datetime,
        stale_since: dict[Stage, datetime],
        limit: int,
    ) -> dict[int, RepAgenda]:
        """Each rep's open tasks due before ``until`` (split at ``now``) and stale customers,
        ``limit`` of each per rep, for all the reps at once."""
        ...

    async def survey_progress(self, period: Period) -> Sequence[SurveyProgress]:
        """Open surveys with at least one completed response."""
        ...

    async def existing_keys(self, keys: Sequence[str]) -> set[str]:
        """Those of ``keys`` already in the outbox (in any state)."""
        ...

    async def set_settings(self, member_id: int, at: str | None, enabled: bool) -> None: ...

    async def overdue_tasks(
        self, assignee_id: int, now: datetime, limit: int
    ) -> Sequence[OverdueTask]: ...

    async def deals_between(
        self, visibility: Visibility, first_day: date, last_day: date, limit: int
    ) -> Sequence[DealLine]: ...
