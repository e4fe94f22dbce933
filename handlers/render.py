"""Turning domain results into message text and inline keyboards, through the catalogue."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from crm.customer_service import CustomerCard, DuplicateHit
from crm.customers import CHOICE_LISTS, Stage
from crm.followup_service import LogDraft
from crm.followups import ContactMethod
from crm.new_customer import CONFIRM_STEP, DUPLICATE_STEP, Prompt, Unfinished
from crm.search import SearchHit
from crm.task_service import Agenda, TaskLine
from crm.texts import Text

Translate = Callable[..., str]
ROW = 3


def button(label: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=data)


def rows(
    buttons: Sequence[InlineKeyboardButton], width: int = ROW
) -> list[list[InlineKeyboardButton]]:
    return [list(buttons[i : i + width]) for i in range(0, len(buttons), width)]


def label(t: Translate, value: Text | str) -> str:
    return t(value.key, **dict(value.vars)) if isinstance(value, Text) else value


def when(moment: datetime | None, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%m-%d %H:%M") if moment else "—"


def money(amount: Decimal) -> str:
    return f"¥{amount:,.2f}"


# -- new customer ---------------------------------------------------------------------------


def new_customer_prompt(t: Translate, prompt: Prompt) -> tuple[str, InlineKeyboardMarkup]:
    header = t("new.header", position=prompt.position, total=prompt.total)
    if prompt.step == DUPLICATE_STEP:
        return _duplicates(t, header, prompt.duplicates)
    if prompt.step == CONFIRM_STEP:
        lines = [
            f"{t(f'fields.{name}')}：{_summary_value(t, name, value)}"
            for name, value in prompt.summary.items()
        ]
        keyboard = [[button(t("new.save"), "nc:save"), button(t("common.cancel"), "nc:cancel")]]
        return f"{header} · {t('new.confirm')}\n" + "\n".join(lines), InlineKeyboardMarkup(keyboard)
    options = [
        button(label(t, option.label), f"nc:pick:{prompt.step}:{index}")
        for index, option in enumerate(prompt.options)
    ]
    controls = [button(t("common.skip"), f"nc:skip:{prompt.step}")] if prompt.skippable else []
    controls.append(button(t("common.cancel"), "nc:cancel"))
    text = f"{header} · {label(t, prompt.question)}"
    return text, InlineKeyboardMarkup([*rows(options), controls])


def _duplicates(
    t: Translate, header: str, hits: list[DuplicateHit]
) -> tuple[str, InlineKeyboardMarkup]:
    lines = [t("new.duplicate_found")]
    lines += [
        t("new.duplicate_line", name=hit.name, owner=hit.owner_name, phone=hit.phone or "—")
        for hit in hits
    ]
    opens = [
        button(t("new.open_existing", name=hit.name[:20]), f"cust:open:{hit.customer_id}")
        for hit in hits
        if hit.visible
    ][:3]
    keyboard = [[b] for b in opens]
    keyboard.append(
        [button(t("new.continue_anyway"), "nc:go"), button(t("common.cancel"), "nc:cancel")]
    )
    return f"{header}\n" + "\n".join(lines), InlineKeyboardMarkup(keyboard)


def _summary_value(t: Translate, name: str, value: str) -> str:
    if name == "stage":
        return t(f"stages.{value}")
    if name == "grade":
        return t(f"grades.{value}")
    return value


def unfinished(t: Translate, found: Unfinished) -> tuple[str, InlineKeyboardMarkup]:
    text = t("new.unfinished", position=found.position, total=found.total, name=found.name or "—")
    keyboard = [
        [
            button(t("new.resume"), "nc:resume"),
            button(t("new.restart"), "nc:restart"),
            button(t("common.cancel"), "nc:cancel"),
        ]
    ]
    return text, InlineKeyboardMarkup(keyboard)


# -- customer card ----------------------------------------------------------------------------


def card(t: Translate, view: CustomerCard, zone: ZoneInfo) -> tuple[str, InlineKeyboardMarkup]:
    customer = view.customer
    lines = [
        f"🏢 {customer.name}（{customer.code}）",
        t(
            "card.stage_grade",
            stage=t(f"stages.{customer.stage}"),
            grade=customer.grade.value if customer.grade else "—",
        ),
        t("card.owner", owner=view.owner_name),
    ]
    if view.parent_name:
        lines.append(t("card.parent", name=view.parent_name))
    lines += [f"{label}：{value}" for _, label, value in view.custom if value != "—"]
    if view.tags:
        lines.append(t("card.tags_line", tags="、".join(tag.name for tag in view.tags)))
    for contact in view.contacts:
        title = f"（{contact.title}）" if contact.title else ""
        lines.append(
            t("card.contact", name=contact.name, title=title, phone=contact.masked_phone or "—")
        )
    follow_up = view.last_follow_up
    lines.append(
        t(
            "card.last_follow_up",
            when=when(follow_up.happened_at, zone) if follow_up else "—",
            method=t(f"methods.{follow_up.method}") if follow_up else "",
            line=_one_line(follow_up.summary) if follow_up else "",
        )
    )
    task = view.next_task
    lines.append(
        t(
            "card.next_task",
            when=when(task.due_at, zone) if task else "—",
            points=_one_line(task.talking_points or "") if task else "",
        )
    )
    lines.append(t("card.deals", count=view.deal_count, total=money(view.deal_total)))
    return "\n".join(lines), card_keyboard(t, customer.id)


def card_keyboard(t: Translate, customer_id: int) -> InlineKeyboardMarkup:
    actions = [
        ("card.log", "log"),
        ("card.task", "task"),
        ("card.stage", "stage"),
        ("card.deal", "deal"),
        ("card.tags", "tags"),
        ("card.more", "more"),
    ]
    return InlineKeyboardMarkup(
        rows([button(t(key), f"card:{action}:{customer_id}") for key, action in actions], 2)
    )


def more_keyboard(t: Translate, view: CustomerCard) -> InlineKeyboardMarkup:
    customer_id = view.customer.id
    buttons: list[list[InlineKeyboardButton]] = []
    if view.can_reveal_phone:
        buttons += [
            [
                button(
                    t("card.reveal", name=contact.name[:16]),
                    f"card:reveal:{customer_id}:{contact.id}",
                )
            ]
            for contact in view.contacts
            if contact.masked_phone
        ][:3]
    buttons.append(
        [
            button(t("card.add_contact"), f"card:ask:{customer_id}:contact"),
            button(t("card.edit_notes"), f"card:ask:{customer_id}:edit:notes"),
        ]
    )
    buttons.append([button(t("card.edit_fields"), f"card:fields:{customer_id}")])
    if view.can_reassign:
        buttons.append([button(t("card.reassign"), f"card:reassign:{customer_id}")])
    buttons.append([button(t("common.back"), f"cust:open:{customer_id}")])
    return InlineKeyboardMarkup(buttons)


def fields_keyboard(t: Translate, view: CustomerCard) -> InlineKeyboardMarkup:
    customer_id = view.customer.id
    names = ("name", *CHOICE_LISTS, "grade", "parent")
    standard = [button(t(f"fields.{name}"), f"card:field:{customer_id}:{name}") for name in names]
    custom = [
        button(label[:20], f"card:field:{customer_id}:cf_{key}") for key, label, _ in view.custom
    ]
    return InlineKeyboardMarkup(
        [*rows([*standard, *custom]), [button(t("common.back"), f"cust:open:{customer_id}")]]
    )


def stage_keyboard(t: Translate, customer_id: int, current: Stage) -> InlineKeyboardMarkup:
    stages = [
        button(
            ("✓ " if stage is current else "") + t(f"stages.{stage}"),
            f"stage:{customer_id}:{stage.value}",
        )
        for stage in Stage
    ]
    return InlineKeyboardMarkup(
        [*rows(stages, 2), [button(t("common.back"), f"cust:open:{customer_id}")]]
    )


def _one_line(text: str, limit: int = 40) -> str:
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first if len(first) <= limit else first[: limit - 1] + "…"


# -- search ------------------------------------------------------------------------------------


def search_results(
    t: Translate, query: str, hits: list[SearchHit], page: int, total: int, page_size: int
) -> tuple[str, InlineKeyboardMarkup | None]:
    if not hits:
        return t("find.nothing", query=query), None
    first = page * page_size + 1
    text = t("find.results", query=query, first=first, last=first + len(hits) - 1, total=total)
    keyboard = [
        [button(f"{hit.name[:28]} · {hit.code}", f"cust:open:{hit.customer_id}")] for hit in hits
    ]
    paging = []
    if page > 0:
        paging.append(button(t("common.previous"), _page_data(query, page - 1)))
    if first + len(hits) - 1 < total:
        paging.append(button(t("common.next"), _page_data(query, page + 1)))
    if paging and all(b.callback_data for b in paging):
        keyboard.append(paging)
    return text, InlineKeyboardMarkup(keyboard)


def _page_data(query: str, page: int) -> str:
    """``find:<page>:<query>``, the query cut to fit Telegram's 64 bytes."""
    prefix = f"find:{page}:"
    room = 64 - len(prefix.encode())
    encoded = query.encode()[:room].decode(errors="ignore")
    return prefix + encoded


# -- follow-up draft -----------------------------------------------------------------------------


def draft(t: Translate, view: LogDraft, zone: ZoneInfo) -> tuple[str, InlineKeyboardMarkup]:
    lines = [
        t("log.draft_title", name=view.customer_name, code=view.customer_code),
        t("log.draft_method", method=t(f"methods.{view.method}") if view.method else "—"),
        t("log.draft_feedback", text=view.feedback or "—"),
        t("log.draft_demand", text=view.demand_change or "—"),
        t("log.draft_next", text=view.next_step or "—", when=when(view.next_at, zone)),
    ]
    if view.attachments:
        lines.append(t("log.draft_attachments", count=view.attachments))
    lines.append(t("log.draft_hint"))
    keyboard = [
        [
            button(t("log.save"), "log:save"),
            button(t("log.edit"), "log:edit"),
            button(t("common.cancel"), "log:cancel"),
        ]
    ]
    return "\n".join(lines), InlineKeyboardMarkup(keyboard)


def draft_fields(t: Translate) -> InlineKeyboardMarkup:
    names = ("method", "feedback", "demand_change", "next_step", "next_at")
    return InlineKeyboardMarkup(
        rows([button(t(f"log.field_{name}"), f"log:field:{name}") for name in names], 2)
    )


def methods_keyboard(t: Translate, prefix: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        rows(
            [
                button(t(f"methods.{method}"), f"{prefix}:{method.value}")
                for method in ContactMethod
            ],
            3,
        )
    )


def candidates(
    t: Translate, fragment: str, hits: list[SearchHit]
) -> tuple[str, InlineKeyboardMarkup]:
    keyboard = [
        [button(f"{hit.name[:28]} · {hit.code}", f"log:pick:{hit.customer_id}")] for hit in hits
    ]
    keyboard.append([button(t("common.cancel"), "log:cancel")])
    return t("log.pick_customer", fragment=fragment), InlineKeyboardMarkup(keyboard)


# -- tasks --------------------------------------------------------------------------------------


def task_line(t: Translate, line: TaskLine, zone: ZoneInfo) -> str:
    method = t(f"methods.{line.task.method}") if line.task.method else ""
    points = _one_line(line.task.talking_points or "", 30)
    mark = "⚠️ " if line.overdue else ""
    return (
        f"{mark}{when(line.task.due_at, zone)} {line.customer_name}（{line.customer_code}）"
        f"{' ' + method if method else ''}{' · ' + points if points else ''}"
    )


def agenda(t: Translate, day: Agenda, zone: ZoneInfo) -> tuple[str, InlineKeyboardMarkup | None]:
    lines: list[str] = []
    if day.overdue:
        lines.append(t("today.overdue", count=len(day.overdue)))
        lines += [task_line(t, line, zone) for line in day.overdue]
    if day.today:
        lines.append(t("today.due", count=len(day.today)))
        lines += [task_line(t, line, zone) for line in day.today]
    if day.stale:
        lines.append(t("today.stale", count=len(day.stale)))
        lines += [f"💤 {customer.name}（{customer.code}）" for customer in day.stale]
    if not lines:
        return t("today.nothing"), None
    opens = {
        line.task.customer_id: f"{line.customer_name[:20]}" for line in (*day.overdue, *day.today)
    }
    opens |= {customer.id: customer.name[:20] for customer in day.stale}
    buttons = [
        button(name, f"cust:open:{customer_id}") for customer_id, name in list(opens.items())[:12]
    ]
    return "\n".join(lines), InlineKeyboardMarkup(rows(buttons, 2))


def later(
    t: Translate, lines: list[TaskLine], page: int, more: bool, zone: ZoneInfo
) -> tuple[str, InlineKeyboardMarkup | None]:
    if not lines and page == 0:
        return t("tasks.nothing"), None
    text = "\n".join([t("tasks.title"), *(task_line(t, line, zone) for line in lines)])
    paging = []
    if page > 0:
        paging.append(button(t("common.previous"), f"tasks:{page - 1}"))
    if more:
        paging.append(button(t("common.next"), f"tasks:{page + 1}"))
    return text, InlineKeyboardMarkup([paging]) if paging else None
