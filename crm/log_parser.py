"""Reading a follow-up written in one message, Chinese or English:

    华信 电话 对价格有疑虑，需要竞品对比 下周三下午3点再联系
    acme visit demo went well, wants training; call back Friday 10am

→ customer fragment, method, feedback, demand change, next step and its time. The rep confirms
the draft before anything is saved, so the rules can stay simple and predictable."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from crm.dates import find_time
from crm.followups import ContactMethod

METHOD_WORDS: dict[str, ContactMethod] = {
    "电话": ContactMethod.PHONE,
    "打电话": ContactMethod.PHONE,
    "致电": ContactMethod.PHONE,
    "通话": ContactMethod.PHONE,
    "来电": ContactMethod.PHONE,
    "拜访": ContactMethod.VISIT,
    "上门": ContactMethod.VISIT,
    "面谈": ContactMethod.VISIT,
    "见面": ContactMethod.VISIT,
    "现场": ContactMethod.VISIT,
    "邮件": ContactMethod.EMAIL,
    "邮箱": ContactMethod.EMAIL,
    "微信": ContactMethod.WECHAT,
    "聊天": ContactMethod.CHAT,
    "在线": ContactMethod.CHAT,
    "phone": ContactMethod.PHONE,
    "call": ContactMethod.PHONE,
    "called": ContactMethod.PHONE,
    "visit": ContactMethod.VISIT,
    "visited": ContactMethod.VISIT,
    "meeting": ContactMethod.VISIT,
    "met": ContactMethod.VISIT,
    "email": ContactMethod.EMAIL,
    "e-mail": ContactMethod.EMAIL,
    "mail": ContactMethod.EMAIL,
    "emailed": ContactMethod.EMAIL,
    "wechat": ContactMethod.WECHAT,
    "weixin": ContactMethod.WECHAT,
    "chat": ContactMethod.CHAT,
    "telegram": ContactMethod.CHAT,
    "message": ContactMethod.CHAT,
}
_DEMAND_CUES = (
    "需要",
    "需求",
    "想要",
    "要求",
    "希望",
    "增加",
    "wants",
    "want ",
    "needs",
    "need ",
    "requires",
    "asked for",
    "interested in",
)
_NEXT_CUES = (
    "再联系",
    "下次",
    "下一步",
    "回访",
    "再约",
    "跟进",
    "约",
    "call back",
    "follow up",
    "follow-up",
    "next",
    "send ",
    "remind",
)
_CLAUSE_BREAK = re.compile(r"[，,；;。!！？?\n]+")
_CJK = re.compile(r"[\u3400-\u9fff]")
_METHOD_SEARCH_WINDOW = 4
_TIME_MARK = "\u0000"


@dataclass(frozen=True)
class ParsedLog:
    customer_fragment: str
    method: ContactMethod | None
    summary: str
    feedback: str | None
    demand_change: str | None
    next_step: str | None
    next_at: datetime | None


def parse_log(text: str, now: datetime) -> ParsedLog:
    """``now`` is the rep's local time (aware); times found are in that zone."""
    tokens = text.split()
    method_at = next(
        (i for i, token in enumerate(tokens[:_METHOD_SEARCH_WINDOW]) if _method(token)), None
    )
    if method_at is None:
        fragment, method, rest = (tokens[0] if tokens else ""), None, tokens[1:]
    else:
        fragment = " ".join(tokens[:method_at]) if method_at else ""
        method, rest = _method(tokens[method_at]), tokens[method_at + 1 :]
        if not fragment and rest:  # "电话 华信 ..." also works
            fragment, rest = rest[0], rest[1:]
    body = " ".join(rest).strip()
    found = find_time(body, now)
    # Mark where the time was: the clause holding it is the next step.
    marked = body[: found.start] + _TIME_MARK + body[found.end :] if found else body
    feedback, demand, next_step = _classify(marked)
    return ParsedLog(
        customer_fragment=fragment,
        method=method,
        summary=body,
        feedback=feedback,
        demand_change=demand,
        next_step=next_step,
        next_at=found.at if found else None,
    )


def _method(token: str) -> ContactMethod | None:
    return METHOD_WORDS.get(token.strip(",，.。:：").casefold())


def _classify(marked: str) -> tuple[str | None, str | None, str | None]:
    feedback: list[str] = []
    demand: list[str] = []
    next_step: list[str] = []
    for clause in _clauses(marked):
        holds_time = _TIME_MARK in clause
        clause = re.sub(r"\s+", " ", clause.replace(_TIME_MARK, " ")).strip()
        lowered = clause.casefold()
        if holds_time or any(cue in lowered for cue in _NEXT_CUES):
            if clause:
                next_step.append(clause)
        elif any(cue in lowered for cue in _DEMAND_CUES):
            demand.append(clause)
        elif clause:
            feedback.append(clause)
    return _join(feedback), _join(demand), _join(next_step)


def _clauses(body: str) -> list[str]:
    """Split at punctuation, and at spaces inside Chinese text (reps separate thoughts with
    spaces there), never at the spaces between English words."""
    clauses: list[str] = []
    for part in _CLAUSE_BREAK.split(body):
        pieces = part.split(" ") if _CJK.search(part) else [part]
        clauses += [piece for piece in pieces if piece.strip()]
    return clauses


def _join(parts: list[str]) -> str | None:
    joined = "；".join(parts) if any(_CJK.search(p) for p in parts) else "; ".join(parts)
    return joined or None
