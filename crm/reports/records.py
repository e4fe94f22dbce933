"""What reports needs from storage, and the plain records it gets back.

Definitions (every figure is limited to the customers the member may see):

* window: [start_at, end_at) in UTC, the period's first to last day in the member's zone; deals
  count by ``deal_date`` from ``first_day`` to ``last_day``.
* funnel: the cohort of customers created in the window (the leads) and, from the stage history,
  how many of them reached intent (or went straight to deal), deal, or were lost, by the end of
  the window. Conversion = deal / leads.
* stage durations: time spent in a stage, from entering it to the next stage change, for the
  changes that happened in the window; the average per stage in days.
* segments: customers existing at the end of the window by industry / size / source / grade;
  lifetime value (LTV) = sum of a customer's deals up to the last day; the average LTV of a
  segment is over its customers with at least one deal.
* top by amount: deals in the window, summed per customer. Top by repurchase: deals after the
  first one, up to the last day.
* leaderboard, per member: follow-ups written in the window, deals in the window on the
  customers they own (count and amount), and overdue tasks: due in the window and before now,
  not cancelled, and still open or completed after they were due.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

from crm.customers import Stage

if TYPE_CHECKING:
    from crm.access import Visibility

DIMENSIONS = ("industry", "size", "source", "grade")


@dataclass(frozen=True)
class Window:
    start_at: datetime
    end_at: datetime
    first_day: date
    last_day: date


@dataclass(frozen=True)
class Totals:
    customers: int
    """Customers existing at the end of the window."""
    new_customers: int
    deals: int
    amount: Decimal
    paying_customers: int
    """Customers with at least one deal in the window."""
    buyers: int
    """Customers with at least one deal up to the last day."""
    repeat_buyers: int
    """Customers with two deals or more up to the last day."""

    @property
    def repurchase_rate(self) -> float:
        return self.repeat_buyers / self.buyers if self.buyers else 0.0


@dataclass(frozen=True)
class Funnel:
    leads: int
    intent: int
    deal: int
    lost: int

    @property
    def conversion(self) -> float:
        return self.deal / self.leads if self.leads else 0.0

    def steps(self) -> tuple[tuple[Stage, int], ...]:
        return ((Stage.POTENTIAL, self.leads), (Stage.INTENT, self.intent), (Stage.DEAL, self.deal))


@dataclass(frozen=True)
class StageDuration:
    stage: Stage
    average_days: float
    changes: int


@dataclass(frozen=True)
class SegmentRow:
    value: str | None
    customers: int
    paying: int
    lifetime_value: Decimal
    """Sum of the deals of the segment's customers, up to the last day."""

    @property
    def average_value(self) -> Decimal:
        if not self.paying:
            return Decimal(0)
        return (self.lifetime_value / self.paying).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class CustomerFigure:
    customer_id: int
    code: str
    name: str
    amount: Decimal
    deals: int

    @property
    def repurchases(self) -> int:
        return max(self.deals - 1, 0)

    @property
    def repurchase_rate(self) -> float:
        """Share of this customer's deals that came after the first."""
        return self.repurchases / self.deals if self.deals else 0.0


@dataclass(frozen=True)
class RepFigures:
    member_id: int
    name: str
    follow_ups: int
    deals: int
    amount: Decimal
    overdue: int


@dataclass(frozen=True)
class Report:
    first_day: date
    last_day: date
    kind: str
    generated_at: datetime
    totals: Totals
    funnel: Funnel
    durations: tuple[StageDuration, ...]
    segments: dict[str, tuple[SegmentRow, ...]] = field(hash=False)
    top_amount: tuple[CustomerFigure, ...]
    top_repurchase: tuple[CustomerFigure, ...]
    reps: tuple[RepFigures, ...]

    @property
    def average_deal(self) -> Decimal:
        if not self.totals.deals:
            return Decimal(0)
        return (self.totals.amount / self.totals.deals).quantize(Decimal("0.01"))


class ReportQueries(Protocol):
    """Implemented by ``storage.repositories.reports.SqlReportQueries``. Every query is one
    aggregate statement scoped by ``visibility``."""

    async def totals(self, visibility: Visibility, window: Window) -> Totals: ...
    async def funnel(self, visibility: Visibility, window: Window) -> Funnel: ...
    async def stage_durations(
        self, visibility: Visibility, window: Window
    ) -> Sequence[StageDuration]: ...
    async def segments(
        self, visibility: Visibility, window: Window, dimension: str
    ) -> Sequence[SegmentRow]: ...
    async def top_by_amount(
        self, visibility: Visibility, window: Window, limit: int
    ) -> Sequence[CustomerFigure]: ...
    async def top_by_repurchase(
        self, visibility: Visibility, window: Window, limit: int
    ) -> Sequence[CustomerFigure]: ...
    async def leaderboard(
        self, visibility: Visibility, window: Window, now: datetime
    ) -> Sequence[RepFigures]: ...
