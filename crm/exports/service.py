"""The use cases: who may export (managers and admins), what they get (only the customers they
may see, and what hangs off them), phones masked unless the role may see them whole, and an
audit entry per export (a refused one too).

An export runs in two steps so that a big one neither holds the update's transaction open nor
keeps the member waiting without a word: ``prepare`` (in the update: permission, row count,
audit entry, file name) and then ``page`` after ``page`` (each in a short unit of work of its
own), whose rows the bot writes into the workbook off the event loop.

An export asked for in the chat is an ``ExportJob`` until it is delivered (``request``): the
process building it holds it, renewing its claim as it goes (``renew``, every
``EXPORT_RENEW``); a claim not renewed for ``EXPORT_LEASE`` means that process stopped, and
another one builds the export again from the job (``resume``), so a restart loses no export."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from crm.access import Visibility
from crm.audit import AuditEntry
from crm.clock import Clock
from crm.errors import InvalidInput, NotAllowed, NotFound
from crm.exports.records import (
    Cursor,
    DateCursor,
    DateWindow,
    ExportJob,
    ExportKind,
    TimeCursor,
    Window,
)
from crm.exports.tables import (
    COLUMNS,
    Column,
    Row,
    customer_row,
    deal_row,
    follow_up_row,
    task_row,
)
from crm.members import Member
from crm.permissions import Action, can
from crm.ports import UnitOfWork
from crm.surveys.form import Form
from crm.surveys.records import Survey
from crm.surveys.responses import CompletedResponse
from crm.text import mask_phone
from crm.texts import Text

PAGE_SIZE = 2_000  # rows per read: each page's conversion holds the event loop ~0.1-0.2 s
LARGE_EXPORT = 2_000  # from this many rows the member is told the export is being built
PERIODS = ("all", "30d", "month", "last_month", "year")
DATED_KINDS = frozenset({ExportKind.FOLLOW_UPS, ExportKind.DEALS})
TABLE_KINDS = (ExportKind.CUSTOMERS, ExportKind.FOLLOW_UPS, ExportKind.TASKS, ExportKind.DEALS)
EXPORT_LEASE = timedelta(seconds=60)  # a claim not renewed for this long: its process stopped
EXPORT_RENEW = timedelta(seconds=15)


@dataclass(frozen=True)
class ExportPlan:
    """An export the member may make, as prepared: what, for whom, how many rows."""

    kind: ExportKind
    period: str
    visibility: Visibility
    full_phones: bool
    rows: int
    window: Window
    dates: DateWindow
    file_name: str
    sheet_name: Text
    columns: tuple[Column, ...]
    at: datetime

    @property
    def large(self) -> bool:
        return self.rows >= LARGE_EXPORT


@dataclass(frozen=True)
class ExportRequest:
    plan: ExportPlan
    job: ExportJob | None  # None when there is nothing to export


@dataclass(frozen=True)
class Page:
    rows: list[Row]
    after: Cursor | None  # where the next page starts; None when this was the last


@dataclass(frozen=True)
class SurveyExport:
    survey: Survey
    form: Form
    responses: Sequence[CompletedResponse]
    hidden: int  # responses of customers outside the member's scope, left out
    file_name: str = field(default="")


class ExportService:
    def __init__(self, uow: UnitOfWork, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def check(self, member: Member) -> None:
        """Refuse (with an audit entry) a member whose role may not export."""
        self._require(member, None)

    # --- customers, follow-ups, tasks, deals ---------------------------------------------

    async def prepare(
        self, member: Member, kind: ExportKind, period: str, tz: tzinfo
    ) -> ExportPlan:
        """Check, count and audit-log an export; the rows come later, page by page."""
        plan = await self._plan(member, kind, period, tz)
        details: dict[str, object] = {
            "rows": plan.rows,
            "period": plan.period,
            "phones": "full" if plan.full_phones else "masked",
            "scope": _scope_name(plan.visibility),
        }
        await self._audit(member, f"export.{kind.value}", None, details)
        return plan

    async def request(
        self, member: Member, kind: ExportKind, period: str, zone: ZoneInfo, language: str
    ) -> ExportRequest:
        """``prepare`` in the chat: the export becomes a job until it is delivered, one per
        member at a time (a second one, from any process, is told to wait)."""
        jobs = self._uow.export_jobs
        if await jobs.of_member(member.id) is not None:
            raise InvalidInput("export.busy")
        plan = await self.prepare(member, kind, period, zone)
        if plan.rows == 0:
            return ExportRequest(plan, None)
        job = await jobs.add(
            member.id,
            member.telegram_id,
            kind,
            plan.period,
            zone.key,
            language,
            self._clock.now(),
        )
        if job is None:
            raise InvalidInput("export.busy")
        return ExportRequest(plan, job)

    async def resume(self, job: ExportJob) -> tuple[ExportPlan, ZoneInfo] | None:
        """A job whose process stopped, planned again for its member as they are now (their
        scope, their role): None, and the job dropped, if they may no longer export."""
        member = await self._uow.members.by_id(job.member_id)
        if member is None or not member.active or not can(member.role, Action.EXPORT_DATA):
            await self._uow.export_jobs.finish(job.id)
            return None
        try:
            zone = ZoneInfo(job.zone)
        except (ZoneInfoNotFoundError, ValueError):
            zone = ZoneInfo("UTC")
        return await self._plan(member, job.kind, job.period, zone), zone

    async def claim(self, job: ExportJob, worker: str) -> bool:
        now = self._clock.now()
        return await self._uow.export_jobs.claim(job.id, worker, now, now - EXPORT_LEASE)

    async def renew(self, job: ExportJob, worker: str) -> bool:
        return await self._uow.export_jobs.renew(job.id, worker, self._clock.now())

    async def building(self, job: ExportJob, progress_message_id: int) -> None:
        await self._uow.export_jobs.set_progress(job.id, progress_message_id)

    async def delivered(self, job: ExportJob) -> None:
        """Sent, or failed and said so: the job is over."""
        await self._uow.export_jobs.finish(job.id)

    async def abandoned(self) -> Sequence[ExportJob]:
        """Jobs whose process stopped before delivering them."""
        return await self._uow.export_jobs.stale(self._clock.now() - EXPORT_LEASE)

    async def _plan(self, member: Member, kind: ExportKind, period: str, tz: tzinfo) -> ExportPlan:
        self._require(member, kind)
        if kind not in TABLE_KINDS or period not in PERIODS:
            raise InvalidInput("errors.button_expired")
        if kind not in DATED_KINDS:
            period = "all"
        now = self._clock.now()
        visibility = Visibility.of(member)
        window = period_window(period, now, tz)
        dates = date_window(window, tz)
        exports = self._uow.exports
        if kind is ExportKind.CUSTOMERS:
            rows = await exports.count_customers(visibility)
        elif kind is ExportKind.FOLLOW_UPS:
            rows = await exports.count_follow_ups(visibility, window)
        elif kind is ExportKind.TASKS:
            rows = await exports.count_tasks(visibility)
        else:
            rows = await exports.count_deals(visibility, dates)
        return ExportPlan(
            kind=kind,
            period=period,
            visibility=visibility,
            full_phones=can(member.role, Action.SEE_FULL_PHONES),
            rows=rows,
            window=window,
            dates=dates,
            file_name=file_name(kind.value, now, tz),
            sheet_name=Text(f"export.sheet.{kind.value}"),
            columns=COLUMNS[kind],
            at=now,
        )

    async def page(self, plan: ExportPlan, after: Cursor | None, limit: int = PAGE_SIZE) -> Page:
        """The rows after ``after`` (from the start when None), scoped and masked per plan."""
        exports, visibility = self._uow.exports, plan.visibility
        if plan.kind is ExportKind.CUSTOMERS:
            show: Callable[[str], str] = _whole if plan.full_phones else mask_phone
            customers = await exports.customers(visibility, cast(int | None, after), limit)
            rows = [customer_row(record, show) for record in customers]
            last: Cursor | None = customers[-1].id if customers else None
        elif plan.kind is ExportKind.FOLLOW_UPS:
            follow_ups = await exports.follow_ups(
                visibility, plan.window, cast(TimeCursor | None, after), limit
            )
            rows = [follow_up_row(record) for record in follow_ups]
            last = (follow_ups[-1].happened_at, follow_ups[-1].id) if follow_ups else None
        elif plan.kind is ExportKind.TASKS:
            tasks = await exports.tasks(visibility, cast(TimeCursor | None, after), limit)
            rows = [task_row(record, plan.at) for record in tasks]
            last = (tasks[-1].due_at, tasks[-1].id) if tasks else None
        else:
            deals = await exports.deals(
                visibility, plan.dates, cast(DateCursor | None, after), limit
            )
            rows = [deal_row(record) for record in deals]
            last = (deals[-1].deal_date, deals[-1].id) if deals else None
        return Page(rows, last if len(rows) >= limit else None)

    # --- survey responses ------------------------------------------------------------------

    async def surveys(self, member: Member) -> Sequence[Survey]:
        self._require(member, ExportKind.SURVEY_RESPONSES)
        return await self._uow.surveys.all()

    async def survey_responses(self, member: Member, survey_id: int, tz: tzinfo) -> SurveyExport:
        """The survey's completed responses the member may see: those of customers in their
        scope, and those not linked to any customer (answered through a channel link, so no
        one's customer data). Admins get every response."""
        self._require(member, ExportKind.SURVEY_RESPONSES)
        survey = await self._uow.surveys.get(survey_id)
        if survey is None:
            raise NotFound("survey.not_found")
        responses = await self._uow.surveys.completed(survey.id)
        total = len(responses)
        visibility = Visibility.of(member)
        if not visibility.sees_everything:
            linked = {r.customer_id for r in responses if r.customer_id is not None}
            visible = await self._uow.exports.visible_customers(visibility, linked)
            responses = [r for r in responses if r.customer_id is None or r.customer_id in visible]
        hidden = max(total - len(responses), 0)
        details: dict[str, object] = {
            "rows": len(responses),
            "hidden": hidden,
            "scope": _scope_name(visibility),
        }
        await self._audit(member, "export.survey", str(survey.id), details)
        now = self._clock.now()
        return SurveyExport(
            survey=survey,
            form=survey.form,
            responses=responses,
            hidden=hidden,
            file_name=file_name(f"survey-{survey.form_id}", now, tz),
        )

    # --- pieces ----------------------------------------------------------------------------

    def _require(self, member: Member, kind: ExportKind | None) -> None:
        if not can(member.role, Action.EXPORT_DATA):
            refused = AuditEntry(
                action="export.refused",
                entity_type="export",
                entity_id=None,
                actor_id=member.id,
                at=self._clock.now(),
                details={"kind": kind.value if kind else None, "role": member.role.value},
            )
            raise NotAllowed("export.not_allowed").with_audit(refused)

    async def _audit(
        self, member: Member, action: str, entity_id: str | None, details: dict[str, object]
    ) -> None:
        await self._uow.audit.record(
            AuditEntry(
                action=action,
                entity_type="export",
                entity_id=entity_id,
                actor_id=member.id,
                at=self._clock.now(),
                details=dict(details),
            )
        )


def _whole(phone: str) -> str:
    return phone


def _scope_name(visibility: Visibility) -> str:
    if visibility.sees_everything:
        return "all"
    if visibility.sees_team:
        return f"team:{visibility.team_id}"
    return "own"


def file_name(stem: str, now: datetime, tz: tzinfo) -> str:
    """``customers-2026-11-25.xlsx``: the member's local date."""
    return f"{stem}-{now.astimezone(tz).date().isoformat()}.xlsx"


def period_window(period: str, now: datetime, tz: tzinfo) -> Window:
    """A named period, in the member's calendar: the last 30 days, this month, last month,
    this year, or everything ("all")."""
    today = now.astimezone(tz).date()
    if period == "30d":
        return Window(start=now - timedelta(days=30))
    if period == "month":
        return Window(start=_midnight(today.replace(day=1), tz))
    if period == "last_month":
        first = today.replace(day=1)
        previous = (first - timedelta(days=1)).replace(day=1)
        return Window(start=_midnight(previous, tz), end=_midnight(first, tz))
    if period == "year":
        return Window(start=_midnight(date(today.year, 1, 1), tz))
    return Window()


def date_window(window: Window, tz: tzinfo) -> DateWindow:
    """The window as calendar days of ``tz`` (the end is exclusive, so its day is not in)."""
    first = window.start.astimezone(tz).date() if window.start else None
    last = (window.end - timedelta(microseconds=1)).astimezone(tz).date() if window.end else None
    return DateWindow(first, last)


def _midnight(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=tz)
