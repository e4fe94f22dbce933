"""Surveys, their versions, links and responses as the domain stores and reads them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from crm.surveys.form import Answer, Form
from crm.surveys.responses import Flag


class SurveyStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class ResponseState(StrEnum):
    OPENED = "opened"  # the consent screen was shown
    DECLINED = "declined"
    ANSWERING = "answering"
    COMPLETED = "completed"
    QUOTA_FULL = "quota_full"  # turned away politely: their quota cell was full


class LinkKind(StrEnum):
    CHANNEL = "channel"  # one per channel (WeChat group, e-mail campaign, ...): anonymous
    PERSONAL = "personal"  # one per customer: the answers land on the customer


# How a response came in, for the per-channel counts.
TELEGRAM_CHANNEL = "telegram"  # an invitation sent in the chat to a linked customer
PERSONAL_CHANNEL = "personal"  # a personal link pasted into WeChat, e-mail or SMS


@dataclass(frozen=True)
class Survey:
    id: int
    form_id: str
    title: str
    status: SurveyStatus
    version_id: int  # the latest version: new respondents get it
    version_number: int
    form: Form
    created_at: datetime


@dataclass(frozen=True)
class SurveyLink:
    id: int
    survey_id: int
    token: str
    kind: LinkKind
    channel: str
    customer_id: int | None
    expires_at: datetime | None


@dataclass(frozen=True)
class Response:
    id: int
    survey_id: int
    version_id: int
    telegram_id: int
    customer_id: int | None
    channel: str
    language: str
    state: ResponseState
    seed: int
    current: str | None = None  # the question being asked
    path: tuple[str, ...] = ()  # the questions asked before it, for Back
    answers: Mapping[str, Answer] = field(default_factory=dict)
    opened_at: datetime | None = None
    consented_at: datetime | None = None
    completed_at: datetime | None = None
    flags: tuple[Flag, ...] = ()
    member_id: int | None = None  # when the respondent is also a member


@dataclass(frozen=True)
class Audience:
    """Customers a send reaches: those linked to a Telegram chat get the invitation in the
    chat; the others get a personal link for their rep to pass on."""

    customer_id: int
    code: str
    name: str
    owner_id: int
    chat_id: int | None


@dataclass(frozen=True)
class NewLink:
    survey_id: int
    token: str
    kind: LinkKind
    channel: str
    customer_id: int | None
    created_by: int | None
    expires_at: datetime | None


@dataclass(frozen=True)
class FunnelCount:
    """How many invitations or responses of one channel are in one state."""

    channel: str
    state: str  # "invited" or a ResponseState value
    count: int
    valid: int = 0
