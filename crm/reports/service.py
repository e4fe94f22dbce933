"""The use cases: a report for a period, scoped to what the member may see."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from crm.access import Visibility
from crm.audit import AuditEntry
from crm.clock import Clock
from crm.dialogs import Dialog
from crm.errors import InvalidInput
from crm.members import Member
from crm.permissions import Action, require
from crm.ports import UnitOfWork
from crm.reports import periods
from crm.reports.periods import Period
from crm.reports.records import DIMENSIONS, Report, Window

TOP = 10
RANGE_KIND = "report_range"  # the dialog of a custom period being asked for


class ReportService:
    def __init__(self, uow: UnitOfWork, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def allowed(self, member: Member) -> None:
        """Raises unless the member may see reports (managers and admins)."""
        require(member, Action.VIEW_REPORTS)

    def preset(self, member: Member, kind: str, zone: ZoneInfo) -> Period:
        require(member, Action.VIEW_REPORTS)
        return periods.preset(kind, self._clock.now().astimezone(zone).date())

    def custom(self, member: Member, text: str) -> Period:
        require(member, Action.VIEW_REPORTS)
        return periods.parse_range(text)

    async def ask_range(self, member: Member) -> None:
        """The custom-period button: the member's next text is taken as the period."""
        require(member, Action.VIEW_REPORTS)
        await self._uow.dialogs.save(Dialog(member.id, RANGE_KIND, "range"), self._clock.now())

    async def range_given(self, member: Member, text: str) -> Period:
        """The period asked for by ``ask_range``. One that cannot be read is refused with an
        example, and the question stays open for the next try."""
        period = self.custom(member, text)
        await self._uow.dialogs.clear(member.id)
        return period

    async def build(
        self, member: Member, period: Period, zone: ZoneInfo, *, pdf: bool = False
    ) -> Report:
        """Every figure of the report; ``pdf``: it is being exported (audit-logged)."""
        require(member, Action.VIEW_REPORTS)
        if period.last_day < period.first_day:
            raise InvalidInput(
                "report.end_before_start",
                first=period.first_day.isoformat(),
                last=period.last_day.isoformat(),
                example=f"{period.last_day.isoformat()} {period.first_day.isoformat()}",
            )
        start_at, end_at = period.bounds(zone)
        window = Window(start_at, end_at, period.first_day, period.last_day)
        visibility = Visibility.of(member)
        queries = self._uow.reports
        now = self._clock.now()
        report = Report(
            first_day=period.first_day,
            last_day=period.last_day,
            kind=period.kind,
            generated_at=now,
            totals=await queries.totals(visibility, window),
            funnel=await queries.funnel(visibility, window),
            durations=tuple(await queries.stage_durations(visibility, window)),
            segments={
                dimension: tuple(await queries.segments(visibility, window, dimension))
                for dimension in DIMENSIONS
            },
            top_amount=tuple(await queries.top_by_amount(visibility, window, TOP)),
            top_repurchase=tuple(await queries.top_by_repurchase(visibility, window, TOP)),
            reps=tuple(await queries.leaderboard(visibility, window, now)),
        )
        if pdf:
            await self._uow.audit.record(
                AuditEntry(
                    action="report.pdf",
                    entity_type="report",
                    entity_id=period.token,
                    actor_id=member.id,
                    at=now,
                    details={
                        "first_day": period.first_day.isoformat(),
                        "last_day": period.last_day.isoformat(),
                        "scope": member.role.value,
                    },
                )
            )
        return report
