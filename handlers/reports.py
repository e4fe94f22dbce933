"""Reports on demand (/report): conversion, stage funnel, segments, lifetime value, top
lists, rep leaderboard. A period button (or ``/report 2026-11-01 2026-11-20``) gives a text
summary and charts; the PDF button the same report as a document. Charts and the PDF are
built off the event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from decimal import Decimal
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot import charts, pdf
from bot.context import KehuContext
from crm.customers import Grade, Stage
from crm.members import Member, Role
from crm.reports.periods import CUSTOM, EXAMPLE, PRESETS, Period
from crm.reports.records import DIMENSIONS, Report, SegmentRow

Translate = Callable[..., str]
SHOWN_SEGMENTS = 6
SHOWN_REPS = 15
CHART_SEGMENTS = 8
NAME_MAX = 24
MESSAGE_MAX = 4000  # Telegram takes 4096 characters


async def report_command(update: Update, context: KehuContext) -> None:
    service, member = context.services.reports, context.member
    argument = " ".join(context.args or []).strip()
    if argument:
        await send_report(context, service.custom(member, argument))
        return
    service.allowed(member)
    context.reply(context.t("report.choose", example=EXAMPLE), _periods(context))


async def pressed(update: Update, context: KehuContext) -> None:
    assert context.matches is not None
    action, rest = context.matches[0].group(1), context.matches[0].group(2)
    service, member = context.services.reports, context.member
    context.answer()
    if action == "p" and rest == CUSTOM:
        await service.ask_range(member)
        context.reply(context.t("report.custom_help", example=EXAMPLE))
    elif action == "p":
        await send_report(context, service.preset(member, rest, context.zone))
    else:
        await _send_pdf(context, Period.from_token(rest))


async def send_report(context: KehuContext, period: Period) -> None:
    report = await context.services.reports.build(context.member, period, context.zone)
    t = context.t
    context.reply(summary(report, context.member, t), _report_keyboard(context, period))
    for picture, caption in await asyncio.to_thread(render_charts, report, t):
        context.reply_photo(picture, caption)


async def _send_pdf(context: KehuContext, period: Period) -> None:
    report = await context.services.reports.build(context.member, period, context.zone, pdf=True)
    data = await asyncio.to_thread(report_pdf, report, context.member, context.t, context.zone)
    context.reply_document(
        data,
        f"kehu-report-{period.token}.pdf",
        context.t("report.pdf_caption", first=report.first_day, last=report.last_day),
    )


# -- keyboards -----------------------------------------------------------------------------


def _periods(context: KehuContext) -> InlineKeyboardMarkup:
    names = [*PRESETS, CUSTOM]
    buttons = [
        InlineKeyboardButton(context.t(f"report.period.{name}"), callback_data=f"rp:p:{name}")
        for name in names
    ]
    return InlineKeyboardMarkup([buttons[i : i + 3] for i in range(0, len(buttons), 3)])


def _report_keyboard(context: KehuContext, period: Period) -> InlineKeyboardMarkup:
    pdf_button = InlineKeyboardButton(
        context.t("report.pdf"), callback_data=f"rp:pdf:{period.button_token}"
    )
    rows = [[pdf_button]]
    return InlineKeyboardMarkup(rows + list(_periods(context).inline_keyboard))


# -- text ----------------------------------------------------------------------------------


def money(amount: Decimal) -> str:
    return f"¥{amount:,.2f}"


def percent(share: float) -> str:
    value = round(share * 100, 1)
    return f"{value:g}%"


def title(report: Report, t: Translate, key: str = "report.title") -> str:
    """The dates, and a preset's name after them (``key``: the PDF's own, without emoji)."""
    label = t(f"report.period.{report.kind}") if report.kind != CUSTOM else ""
    return t(
        key,
        first=report.first_day.isoformat(),
        last=report.last_day.isoformat(),
        label=t("report.label", label=label) if label else "",
    )


def scope(member: Member, t: Translate) -> str:
    if member.role is Role.ADMIN:
        return t("report.scope.all")
    if member.role is Role.MANAGER and member.team_id is not None:
        return t("report.scope.team")
    return t("report.scope.own")


def overview(report: Report, t: Translate) -> list[str]:
    totals, funnel = report.totals, report.funnel
    return [
        t("report.customers", new=totals.new_customers, total=totals.customers),
        t(
            "report.deals",
            deals=totals.deals,
            amount=money(totals.amount),
            customers=totals.paying_customers,
            average=money(report.average_deal),
        ),
        t(
            "report.conversion",
            rate=percent(funnel.conversion),
            leads=funnel.leads,
            won=funnel.deal,
        ),
        t(
            "report.repurchase",
            rate=percent(totals.repurchase_rate),
            buyers=totals.buyers,
            repeat=totals.repeat_buyers,
        ),
    ]


def funnel_lines(report: Report, t: Translate) -> list[str]:
    funnel = report.funnel
    steps = " → ".join(
        t("report.step", stage=t(f"stages.{stage.value}"), count=count)
        for stage, count in funnel.steps()
    )
    lines = [t("report.funnel_line", steps=steps, lost=funnel.lost)]
    if report.durations:
        stays = " · ".join(
            t("report.stay", stage=t(f"stages.{d.stage.value}"), days=f"{d.average_days:.1f}")
            for d in report.durations
        )
        lines.append(t("report.stays", stays=stays))
    return lines


def segment_label(dimension: str, value: str | None, t: Translate) -> str:
    if value is None:
        return t("report.unset")
    if dimension == "grade" and value in set(Grade):
        return t(f"grades.{value}")
    return value


def segment_lines(report: Report, t: Translate) -> list[str]:
    lines = []
    for dimension in DIMENSIONS:
        rows = report.segments[dimension]
        total = sum(row.customers for row in rows)
        if not total:
            continue
        parts = [
            t(
                "report.share",
                value=segment_label(dimension, row.value, t),
                count=row.customers,
                share=percent(row.customers / total),
            )
            for row in rows[:SHOWN_SEGMENTS]
        ]
        if len(rows) > SHOWN_SEGMENTS:
            parts.append(t("report.more", count=len(rows) - SHOWN_SEGMENTS))
        lines.append(
            t(
                "report.segment",
                dimension=t(f"report.dimension.{dimension}"),
                shares=" · ".join(parts),
            )
        )
    return lines


def value_lines(report: Report, t: Translate) -> list[str]:
    paying = [row for row in report.segments["industry"] if row.paying]
    return [
        t(
            "report.value",
            segment=segment_label("industry", row.value, t),
            average=money(row.average_value),
            customers=row.paying,
        )
        for row in paying[:SHOWN_SEGMENTS]
    ]


def summary(report: Report, member: Member, t: Translate) -> str:
    lines = [title(report, t), t("report.scope_line", scope=scope(member, t)), ""]
    lines += [t("report.section.overview"), *overview(report, t), ""]
    lines += [t("report.section.funnel"), *funnel_lines(report, t), ""]
    segments = segment_lines(report, t)
    lines += [t("report.section.segments"), *(segments or [t("report.none")]), ""]
    values = value_lines(report, t)
    lines += [t("report.section.value"), *(values or [t("report.none")]), ""]
    lines.append(t("report.section.top_amount"))
    lines += [
        t(
            "report.top_amount",
            rank=i,
            code=f.code,
            name=f.name,
            amount=money(f.amount),
            deals=f.deals,
        )
        for i, f in enumerate(report.top_amount, 1)
    ] or [t("report.none")]
    lines += ["", t("report.section.top_repurchase")]
    lines += [
        t(
            "report.top_repurchase",
            rank=i,
            code=f.code,
            name=_short(f.name),
            repurchases=f.repurchases,
            deals=f.deals,
            rate=percent(f.repurchase_rate),
        )
        for i, f in enumerate(report.top_repurchase, 1)
    ] or [t("report.none")]
    lines += ["", t("report.section.reps")]
    lines += [
        t(
            "report.rep",
            rank=i,
            name=_short(r.name),
            follow_ups=r.follow_ups,
            deals=r.deals,
            amount=money(r.amount),
            overdue=r.overdue,
        )
        for i, r in enumerate(report.reps[:SHOWN_REPS], 1)
    ] or [t("report.none")]
    if len(report.reps) > SHOWN_REPS:
        lines.append(t("report.more_in_pdf", count=len(report.reps) - SHOWN_REPS))
    text = "\n".join(lines)
    if len(text) > MESSAGE_MAX:
        cut = t("report.cut")
        text = text[: MESSAGE_MAX - len(cut) - 1].rsplit("\n", 1)[0] + "\n" + cut
    return text


def _short(name: str) -> str:
    return name if len(name) <= NAME_MAX else name[: NAME_MAX - 1] + "…"


# -- charts and the PDF ----------------------------------------------------------------------


def render_charts(report: Report, t: Translate) -> list[tuple[bytes, str]]:
    """The funnel, the customers by industry, and the leaderboard by amount (when there is
    something to draw)."""
    period = t("report.chart_period", first=report.first_day, last=report.last_day)
    rendered = []
    funnel = report.funnel
    if funnel.leads:
        labels = [t(f"stages.{stage.value}") for stage, _ in funnel.steps()]
        values = [float(count) for _, count in funnel.steps()]
        name = t("report.chart.funnel")
        rendered.append((charts.funnel(f"{name} · {period}", labels, values), name))
    industry = _top_segments(report.segments["industry"], "industry", t)
    if industry:
        name = t("report.chart.industry")
        rendered.append(
            (charts.pie(name, [n for n, _ in industry], [v for _, v in industry]), name)
        )
    if any(rep.amount for rep in report.reps):
        name = t("report.chart.reps")
        reps = report.reps[:10]
        rendered.append(
            (
                charts.bar(
                    f"{name} · {period}",
                    [rep.name for rep in reps],
                    [float(rep.amount) for rep in reps],
                    horizontal=True,
                    value_format="¥{:,.0f}",
                ),
                name,
            )
        )
    return rendered


def _top_segments(
    rows: Sequence[SegmentRow], dimension: str, t: Translate
) -> list[tuple[str, float]]:
    shown = [(segment_label(dimension, row.value, t), float(row.customers)) for row in rows]
    if len(shown) > CHART_SEGMENTS:
        rest = sum(value for _, value in shown[CHART_SEGMENTS - 1 :])
        shown = [*shown[: CHART_SEGMENTS - 1], (t("report.other"), rest)]
    return shown


def report_pdf(report: Report, member: Member, t: Translate, zone: ZoneInfo | None = None) -> bytes:
    """Summary first, then the funnel, segments, top lists, the leaderboard and the charts."""
    zone = zone or ZoneInfo("UTC")
    generated = f"{report.generated_at.astimezone(zone):%Y-%m-%d %H:%M} ({zone.key})"
    blocks: list[pdf.Block] = [
        pdf.Text(t("report.scope_line", scope=scope(member, t))),
        pdf.Text(t("report.generated", at=generated)),
        pdf.Heading(t("report.section.overview")),
        pdf.Text("\n".join(overview(report, t))),
        pdf.Heading(t("report.section.funnel")),
        pdf.Grid(
            (t("report.col.stage"), t("report.col.customers"), t("report.col.of_leads")),
            tuple(
                (
                    t(f"stages.{stage.value}"),
                    str(count),
                    percent(count / report.funnel.leads) if report.funnel.leads else "—",
                )
                for stage, count in (*report.funnel.steps(), (Stage.LOST, report.funnel.lost))
            ),
            frozenset({1, 2}),
        ),
    ]
    if report.durations:
        blocks.append(
            pdf.Grid(
                (t("report.col.stage"), t("report.col.days"), t("report.col.changes")),
                tuple(
                    (t(f"stages.{d.stage.value}"), f"{d.average_days:.1f}", str(d.changes))
                    for d in report.durations
                ),
                frozenset({1, 2}),
            )
        )
    blocks.append(pdf.Heading(t("report.section.segments")))
    for dimension in DIMENSIONS:
        rows = report.segments[dimension]
        total = sum(row.customers for row in rows)
        if not total:
            continue
        blocks.append(pdf.Heading(t(f"report.dimension.{dimension}"), level=2))
        blocks.append(
            pdf.Grid(
                (
                    t(f"report.dimension.{dimension}"),
                    t("report.col.customers"),
                    t("report.col.share"),
                    t("report.col.paying"),
                    t("report.col.ltv"),
                ),
                tuple(
                    (
                        segment_label(dimension, row.value, t),
                        str(row.customers),
                        percent(row.customers / total),
                        str(row.paying),
                        money(row.average_value) if row.paying else "—",
                    )
                    for row in rows
                ),
                frozenset({1, 2, 3, 4}),
            )
        )
    blocks.append(pdf.Heading(t("report.section.top_amount")))
    blocks.append(
        _grid_or_none(
            (t("report.col.rank"), t("report.col.customer"), t("report.col.amount"),
             t("report.col.deals")),
            tuple(
                (str(i), f"{f.code} {f.name}", money(f.amount), str(f.deals))
                for i, f in enumerate(report.top_amount, 1)
            ),
            t,
        )
    )  # fmt: skip
    blocks.append(pdf.Heading(t("report.section.top_repurchase")))
    blocks.append(
        _grid_or_none(
            (t("report.col.rank"), t("report.col.customer"), t("report.col.repurchases"),
             t("report.col.deals"), t("report.col.rate")),
            tuple(
                (str(i), f"{f.code} {f.name}", str(f.repurchases), str(f.deals),
                 percent(f.repurchase_rate))
                for i, f in enumerate(report.top_repurchase, 1)
            ),
            t,
        )
    )  # fmt: skip
    blocks.append(pdf.Heading(t("report.section.reps")))
    blocks.append(
        _grid_or_none(
            (t("report.col.rank"), t("report.col.rep"), t("report.col.follow_ups"),
             t("report.col.deals"), t("report.col.amount"), t("report.col.overdue")),
            tuple(
                (str(i), r.name, str(r.follow_ups), str(r.deals), money(r.amount),
                 str(r.overdue))
                for i, r in enumerate(report.reps, 1)
            ),
            t,
        )
    )  # fmt: skip
    pictures = render_charts(report, t)
    if pictures:
        blocks.append(pdf.NewPage())
        blocks.append(pdf.Heading(t("report.section.charts")))
        blocks += [pdf.Picture(png, caption) for png, caption in pictures]
    return pdf.build(title(report, t, "report.pdf_title"), blocks)


def _grid_or_none(
    header: tuple[str, ...], rows: tuple[tuple[str, ...], ...], t: Translate
) -> pdf.Block:
    if not rows:
        return pdf.Text(t("report.none"))
    return pdf.Grid(header, rows, frozenset(range(2, len(header))))


def handlers() -> list[BaseHandler[Update, KehuContext, None]]:
    return [
        CommandHandler("report", report_command),
        CallbackQueryHandler(pressed, pattern=r"^rp:(p|pdf):([\w-]{1,40})$"),
    ]
