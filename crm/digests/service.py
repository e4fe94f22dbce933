"""The use cases: each member's digest settings, the digest itself (a manager's team, an admin's
everyone, a rep's own morning agenda), pushing the due ones through the outbox once per person
per local day, and the drill-down lists behind the digest's buttons."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from crm.access import Visibility
from crm.clock import Clock
from crm.customers import Customer
from crm.digests.records import (
    Activity,
    AgendaTask,
    DealLine,
    OverdueTask,
    Period,
    RepAgenda,
    RepStats,
    SurveyProgress,
    Window,
)
from crm.errors import InvalidInput, NotAllowed
from crm.members import Member, Role, resolve_language
from crm.outbox import Button, Chart, ChartKind, OutgoingMessage
from crm.ports import UnitOfWork
from crm.task_service import StalePolicy
from crm.texts import Text

_HOUR = re.compile(r"^\s*(\d{1,2})\s*[:：.]\s*(\d{2})\s*$")
Buttons = tuple[tuple[Button, ...], ...]


@dataclass(frozen=True)
class DigestPolicy:
    default_time: str = "08:30"
    default_language: str = "zh"
    default_timezone: str = "Asia/Shanghai"
    batch: int = 200  # members per transaction when pushing
    rep_lines: int = 12  # reps listed (and charted) in a digest; the rest are summed up
    task_lines: int = 10  # tasks listed per section of a morning agenda
    list_limit: int = 30  # rows in a drill-down list


@dataclass(frozen=True)
class DigestSettings:
    at: str
    enabled: bool
    zone: str
    custom: bool  # the member chose the hour (else the organisation's default)


@dataclass(frozen=True)
class DigestView:
    """A digest ready to render: lines of text, buttons, and maybe a chart to send after it."""

    lines: tuple[Text, ...]
    buttons: Buttons = ()
    chart: Chart | None = None


def parse_hour(raw: str) -> str | None:
    """``7:45``, ``07:45``, ``07：45`` → ``"07:45"``; anything that is not a time of day → None."""
    found = _HOUR.match(raw)
    if not found:
        return None
    hour, minute = int(found.group(1)), int(found.group(2))
    if hour > 23 or minute > 59:
        return None
    return f"{hour:02d}:{minute:02d}"


def digest_key(member_id: int, day: date) -> str:
    return f"digest:{member_id}:{day.isoformat()}"


def period_at(now: datetime, zone: ZoneInfo) -> Period:
    local = now.astimezone(zone)
    today = local.date()
    yesterday = today - timedelta(days=1)
    monday = today - timedelta(days=today.weekday())

    def midnight(day: date) -> datetime:
        return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)

    return Period(
        today=today,
        yesterday=Window(midnight(yesterday), midnight(today), yesterday, yesterday),
        week=Window(midnight(monday), now.astimezone(UTC), monday, today),
    )


def in_scope(viewer: Member, other: Member) -> bool:
    """Whether ``viewer`` may look at ``other``'s work: themselves, their team, or anyone."""
    if viewer.id == other.id or viewer.role is Role.ADMIN:
        return True
    return (
        viewer.role is Role.MANAGER
        and viewer.team_id is not None
        and other.team_id == viewer.team_id
    )


def scope_of(viewer: Member, members: Sequence[Member]) -> list[Member]:
    return [member for member in members if in_scope(viewer, member)]


class DigestService:
    def __init__(
        self,
        uow: UnitOfWork,
        clock: Clock,
        stale: StalePolicy,
        policy: DigestPolicy,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._stale = stale
        self._policy = policy

    # -- settings ------------------------------------------------------------------------------

    def zone_of(self, member: Member) -> ZoneInfo:
        return ZoneInfo(member.timezone or self._policy.default_timezone)

    def settings(self, member: Member) -> DigestSettings:
        return DigestSettings(
            at=member.digest_time or self._policy.default_time,
            enabled=member.digest_enabled,
            zone=member.timezone or self._policy.default_timezone,
            custom=member.digest_time is not None,
        )

    async def set_time(self, member: Member, raw: str) -> DigestSettings:
        at = parse_hour(raw)
        if at is None:
            raise InvalidInput("digest.bad_time", given=raw.strip()[:20], example="07:45")
        await self._uow.digests.set_settings(member.id, at, True)
        return DigestSettings(at, True, self.settings(member).zone, custom=True)

    async def set_enabled(self, member: Member, enabled: bool) -> DigestSettings:
        await self._uow.digests.set_settings(member.id, member.digest_time, enabled)
        current = self.settings(member)
        return DigestSettings(current.at, enabled, current.zone, current.custom)

    # -- the digest -----------------------------------------------------------------------------

    async def now(self, member: Member) -> DigestView:
        """The digest as it would be pushed now (``/digest now``)."""
        members = await self._uow.members.list_active()
        (view,) = await self._views([member], members, self._clock.now())
        return view

    async def dispatch_due(self) -> int:
        """Queue the digests that are due and not queued yet, one batch; how many were queued.
        The outbox key (member, local date) makes a second run, or a second bot, add nothing."""
        now = self._clock.now()
        members = await self._uow.members.list_active()
        due: dict[str, Member] = {}
        for member in members:
            day = self._due_day(member, now)
            if day is not None:
                due[digest_key(member.id, day)] = member
        if not due:
            return 0
        already = await self._uow.digests.existing_keys(list(due))
        # Managers and admins first: their digests share one set of aggregates.
        waiting = sorted(
            (member for key, member in due.items() if key not in already),
            key=lambda member: (member.role is Role.REP, member.id),
        )[: self._policy.batch]
        if not waiting:
            return 0
        views = await self._views(waiting, members, now)
        messages: list[OutgoingMessage] = []
        for member, view in zip(waiting, views, strict=True):
            messages += self._messages(member, view, now)
        await self._uow.outbox.enqueue_many(messages, now)
        return len(waiting)

    def _due_day(self, member: Member, now: datetime) -> date | None:
        """The local date whose digest is due for the member now, if any: their hour has passed
        today, and they were a member before it (someone who joins at 10:00 starts tomorrow)."""
        if not member.digest_enabled or not member.reachable:
            return None
        zone = self.zone_of(member)
        local = now.astimezone(zone)
        hour, minute = (int(part) for part in self.settings(member).at.split(":"))
        moment = datetime.combine(local.date(), time(hour, minute), tzinfo=zone)
        if local < moment or member.created_at > moment:
            return None
        return local.date()

    def _messages(self, member: Member, view: DigestView, now: datetime) -> list[OutgoingMessage]:
        language = resolve_language(member.language, None, self._policy.default_language)
        day = now.astimezone(self.zone_of(member)).date()
        key = digest_key(member.id, day)
        head, *rest = view.lines
        messages = [
            OutgoingMessage(
                key=key,
                chat_id=member.telegram_id,
                text=head,
                lines=tuple(rest),
                language=language,
                buttons=view.buttons,
            )
        ]
        if view.chart is not None:
            messages.append(
                OutgoingMessage(
                    key=f"{key}:chart",
                    chat_id=member.telegram_id,
                    text=view.chart.title,
                    language=language,
                    chart=view.chart,
                )
            )
        return messages

    async def _views(
        self, readers: Sequence[Member], members: Sequence[Member], now: datetime
    ) -> list[DigestView]:
        leaders = [reader for reader in readers if reader.role is not Role.REP]
        views: dict[int, DigestView] = {}
        by_zone: dict[str, list[Member]] = {}
        for leader in leaders:
            by_zone.setdefault(self.settings(leader).zone, []).append(leader)
        for zone_name, group in by_zone.items():
            period = period_at(now, ZoneInfo(zone_name))
            owners: set[int] | None = set()
            for leader in group:
                if leader.role is Role.ADMIN:
                    owners = None
                    break
                assert owners is not None
                owners |= {member.id for member in scope_of(leader, members)} | {leader.id}
            stats = await self._uow.digests.rep_stats(
                None if owners is None else sorted(owners),
                period,
                self._stale.cutoffs(now),
                now,
            )
            surveys = await self._uow.digests.survey_progress(period)
            for leader in group:
                views[leader.id] = self._leader_view(
                    leader, scope_of(leader, members), period, stats, surveys
                )
        reps_by_zone: dict[str, list[Member]] = {}
        for reader in readers:
            if reader.role is Role.REP:
                reps_by_zone.setdefault(self.settings(reader).zone, []).append(reader)
        for zone_name, reps in reps_by_zone.items():
            zone = ZoneInfo(zone_name)
            local = now.astimezone(zone)
            tomorrow = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=zone)
            agendas = await self._uow.digests.agendas(
                [rep.id for rep in reps],
                now,
                tomorrow.astimezone(UTC),
                self._stale.cutoffs(now),
                self._policy.task_lines,
            )
            for rep in reps:
                agenda = agendas.get(rep.id, RepAgenda(rep.id))
                views[rep.id] = self._agenda_view(rep, agenda, local, zone)
        return [views[reader.id] for reader in readers]

    def _leader_view(
        self,
        leader: Member,
        scope: Sequence[Member],
        period: Period,
        stats: dict[int, RepStats],
        surveys: Sequence[SurveyProgress],
    ) -> DigestView:
        names = {member.id: member.name for member in scope}
        mine = [stats.get(member_id, RepStats(member_id)) for member_id in names]
        if leader.role is Role.ADMIN:  # everyone's customers, members who left included
            mine += [stat for member_id, stat in stats.items() if member_id not in names]
        yesterday = sum((stat.yesterday for stat in mine), Activity())
        week = sum((stat.week for stat in mine), Activity())
        overdue = sum(stat.overdue for stat in mine)
        stale = sum(stat.stale for stat in mine)
        date_label = period.today.strftime("%m-%d")
        scope_text = Text("digest.scope_all" if leader.role is Role.ADMIN else "digest.scope_team")
        fresh_surveys = [survey for survey in surveys if survey.yesterday]
        if yesterday.empty and not overdue and not stale and not fresh_surveys:
            return DigestView((Text("digest.quiet", {"date": date_label, "scope": scope_text}),))
        lines = [
            Text("digest.title", {"date": date_label, "scope": scope_text}),
            Text("digest.legend", {"since": period.week.first_day.strftime("%m-%d")}),
            Text("digest.follow_ups", {"y": yesterday.follow_ups, "w": week.follow_ups}),
            Text(
                "digest.tasks",
                {"y": yesterday.tasks_done, "w": week.tasks_done, "overdue": overdue},
            ),
            Text("digest.customers", {"y": yesterday.new_customers, "w": week.new_customers}),
            Text(
                "digest.stages",
                {
                    "y": yesterday.stage_moves,
                    "w": week.stage_moves,
                    "cy": yesterday.conversions,
                    "cw": week.conversions,
                },
            ),
            Text(
                "digest.deals",
                {
                    "y": yesterday.deals,
                    "ya": _money(yesterday.amount),
                    "w": week.deals,
                    "wa": _money(week.amount),
                },
            ),
            Text("digest.stale", {"count": stale}),
        ]
        ranked = sorted(
            (stat for stat in mine if stat.member_id in names),
            key=lambda stat: (-stat.overdue, -stat.week.follow_ups, stat.member_id),
        )
        shown = ranked[: self._policy.rep_lines]
        if shown:
            lines.append(Text("digest.reps_header"))
            lines += [
                Text(
                    "digest.rep_line",
                    {
                        "name": names[stat.member_id],
                        "fy": stat.yesterday.follow_ups,
                        "fw": stat.week.follow_ups,
                        "dy": stat.yesterday.tasks_done,
                        "dw": stat.week.tasks_done,
                        "overdue": stat.overdue,
                    },
                )
                for stat in shown
            ]
            if len(ranked) > len(shown):
                lines.append(Text("digest.more_reps", {"count": len(ranked) - len(shown)}))
        lines += [
            Text(
                "digest.survey",
                {
                    "title": survey.title,
                    "y": survey.yesterday,
                    "w": survey.week,
                    "total": survey.total,
                    "valid": survey.valid,
                },
            )
            for survey in surveys
        ]
        buttons: list[tuple[Button, ...]] = [
            (
                Button(
                    Text(
                        "digest.button_overdue",
                        {"name": names[stat.member_id][:16], "count": stat.overdue},
                    ),
                    data=f"dg:overdue:{stat.member_id}",
                ),
            )
            for stat in shown[:4]
            if stat.overdue
        ]
        buttons.append(
            (
                Button(Text("digest.button_stale", {"count": stale}), data="dg:stale"),
                Button(Text("digest.button_deals"), data="dg:deals"),
            )
        )
        return DigestView(tuple(lines), tuple(buttons), self._chart(shown, names))

    @staticmethod
    def _chart(shown: Sequence[RepStats], names: dict[int, str]) -> Chart | None:
        charted = sorted(shown, key=lambda stat: (-stat.week.follow_ups, stat.member_id))
        if not any(stat.week.follow_ups or stat.yesterday.follow_ups for stat in charted):
            return None
        return Chart(
            kind=ChartKind.GROUPED_BAR,
            title=Text("digest.chart_title"),
            labels=tuple(names[stat.member_id][:10] for stat in charted),
            series=(
                (
                    Text("digest.series_yesterday"),
                    tuple(float(stat.yesterday.follow_ups) for stat in charted),
                ),
                (Text("digest.series_week"), tuple(float(s.week.follow_ups) for s in charted)),
            ),
        )

    def _agenda_view(
        self, rep: Member, agenda: RepAgenda, local: datetime, zone: ZoneInfo
    ) -> DigestView:
        date_label = local.strftime("%m-%d")
        if agenda.empty:
            return DigestView(
                (Text("digest.agenda_quiet", {"name": rep.name, "date": date_label}),)
            )
        lines = [Text("digest.agenda_title", {"name": rep.name, "date": date_label})]
        for header, tasks, total, late in (
            ("today.overdue", agenda.overdue, agenda.overdue_total, True),
            ("today.due", agenda.today, agenda.today_total, False),
        ):
            if total:
                lines.append(Text(header, {"count": total}))
                lines += [_task_text(task, zone, late) for task in tasks]
                if total > len(tasks):
                    lines.append(Text("digest.more_items", {"count": total - len(tasks)}))
        if agenda.stale_total:
            lines.append(Text("today.stale", {"count": agenda.stale_total}))
            lines += [
                Text("digest.stale_line", {"name": customer.name, "code": customer.code})
                for customer in agenda.stale
            ]
            if agenda.stale_total > len(agenda.stale):
                lines.append(
                    Text("digest.more_items", {"count": agenda.stale_total - len(agenda.stale)})
                )
        buttons: list[Button] = []
        if agenda.overdue_total:
            buttons.append(
                Button(
                    Text("digest.button_overdue_own", {"count": agenda.overdue_total}),
                    data=f"dg:overdue:{rep.id}",
                )
            )
        if agenda.stale_total:
            buttons.append(
                Button(Text("digest.button_stale", {"count": agenda.stale_total}), data="dg:stale")
            )
        return DigestView(tuple(lines), (tuple(buttons),) if buttons else ())

    # -- drill-down ---------------------------------------------------------------------------

    async def overdue_of(self, viewer: Member, rep_id: int) -> tuple[Member, list[OverdueTask]]:
        """A rep's overdue tasks, if the viewer may see that rep's work."""
        rep = await self._uow.members.by_id(rep_id)
        if rep is None or not in_scope(viewer, rep):
            raise NotAllowed("digest.not_yours")
        tasks = await self._uow.digests.overdue_tasks(
            rep.id, self._clock.now(), self._policy.list_limit
        )
        return rep, list(tasks)

    async def stale(self, viewer: Member) -> list[Customer]:
        return list(
            await self._uow.customers.stale_customers(
                Visibility.of(viewer),
                self._stale.cutoffs(self._clock.now()),
                self._policy.list_limit,
            )
        )

    async def deals_today(self, viewer: Member) -> tuple[date, list[DealLine]]:
        today = self._clock.now().astimezone(self.zone_of(viewer)).date()
        deals = await self._uow.digests.deals_between(
            Visibility.of(viewer), today, today, self._policy.list_limit
        )
        return today, list(deals)


def _money(amount: Decimal) -> str:
    return f"¥{amount:,.2f}"


def _task_text(task: AgendaTask, zone: ZoneInfo, overdue: bool) -> Text:
    return Text(
        "digest.task_line",
        {
            "mark": "⚠️ " if overdue else "",
            "due": task.due_at.astimezone(zone).strftime("%m-%d %H:%M"),
            "name": task.customer_name,
            "code": task.customer_code,
            "method": Text(f"methods.{task.method}") if task.method else "",
        },
    )
