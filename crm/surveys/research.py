"""The manager's side of a survey: import a workbook (or a template), send it to customers,
follow its progress, and get the responses for analysis and export."""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from crm.access import Visibility
from crm.audit import AuditEntry
from crm.clock import Clock
from crm.customers import Stage
from crm.errors import InvalidInput, NotFound
from crm.members import Member
from crm.outbox import Button, OutgoingMessage
from crm.permissions import Action, require
from crm.ports import UnitOfWork
from crm.surveys import quotas, xlsform
from crm.surveys.form import Form
from crm.surveys.quotas import QuotaCell
from crm.surveys.records import (
    PERSONAL_CHANNEL,
    TELEGRAM_CHANNEL,
    LinkKind,
    NewLink,
    ResponseState,
    Survey,
    SurveyLink,
    SurveyStatus,
)
from crm.surveys.responses import CompletedResponse
from crm.surveys.templates import template_workbook
from crm.texts import Text

AUDIENCE_KINDS = ("tag", "stage", "industry", "owner")
CHANNELS = ("wechat", "email", "sms", "web")
SEND_LIMIT = 50_000
DEEP_LINK_PREFIX = "s_"


@dataclass(frozen=True)
class ResearchPolicy:
    link_days: int = 30


@dataclass(frozen=True)
class Imported:
    survey: Survey
    new_version: bool


@dataclass(frozen=True)
class PersonalLink:
    code: str
    name: str
    token: str


@dataclass(frozen=True)
class Sent:
    in_chat: int
    by_link: tuple[PersonalLink, ...]


@dataclass(frozen=True)
class ChannelCounts:
    invited: int = 0
    opened: int = 0
    consented: int = 0
    declined: int = 0
    completed: int = 0
    valid: int = 0
    quota_full: int = 0


@dataclass(frozen=True)
class Progress:
    survey: Survey
    channels: dict[str, ChannelCounts]
    total: ChannelCounts
    cells: list[QuotaCell] = field(default_factory=list)

    @property
    def target(self) -> int:
        return self.survey.form.settings.target


@dataclass(frozen=True)
class Results:
    survey: Survey
    form: Form
    responses: Sequence[CompletedResponse]


class SurveyResearch:
    def __init__(self, uow: UnitOfWork, clock: Clock, policy: ResearchPolicy) -> None:
        self._uow = uow
        self._clock = clock
        self._policy = policy

    async def import_workbook(self, member: Member | None, data: bytes) -> Imported:
        """A new survey, or a new version of the survey with the same form_id. ``member`` is
        None for the operator at the console (``kehu survey import``)."""
        if member is not None:
            require(member, Action.RUN_SURVEYS)
        form = xlsform.parse_workbook(data)
        now = self._clock.now()
        author = member.id if member else None
        existing = await self._uow.surveys.by_form_id(form.settings.form_id)
        if existing is None:
            survey = await self._uow.surveys.add(form, author, now)
        else:
            survey = await self._uow.surveys.add_version(existing.id, form, author, now)
        await self._audit(member, "survey.import", survey.id, {"version": survey.version_number})
        return Imported(survey, new_version=existing is not None)

    async def import_template(self, member: Member, name: str) -> Imported:
        require(member, Action.RUN_SURVEYS)
        try:
            data = template_workbook(name)
        except KeyError:
            raise NotFound("survey.not_found") from None
        return await self.import_workbook(member, data)

    async def surveys(self, member: Member) -> Sequence[Survey]:
        require(member, Action.RUN_SURVEYS)
        return await self._uow.surveys.all()

    async def survey(self, member: Member, survey_id: int) -> Survey:
        require(member, Action.RUN_SURVEYS)
        survey = await self._uow.surveys.get(survey_id)
        if survey is None:
            raise NotFound("survey.not_found")
        return survey

    async def set_open(self, member: Member, survey_id: int, is_open: bool) -> Survey:
        survey = await self.survey(member, survey_id)
        status = SurveyStatus.OPEN if is_open else SurveyStatus.CLOSED
        await self._uow.surveys.set_status(survey.id, status, self._clock.now())
        await self._audit(member, f"survey.{status.value}", survey.id, {})
        return await self.survey(member, survey_id)

    # Distribution

    async def audience_values(self, member: Member, kind: str) -> Sequence[str]:
        require(member, Action.RUN_SURVEYS)
        _check_kind(kind)
        if kind == "stage":
            return [stage.value for stage in Stage]
        return await self._uow.surveys.audience_values(Visibility.of(member), kind)

    async def audience_size(self, member: Member, survey_id: int, kind: str, value: str) -> int:
        survey = await self.survey(member, survey_id)
        _check_kind(kind)
        reached = await self._uow.surveys.audience(
            survey.id, Visibility.of(member), kind, value, SEND_LIMIT
        )
        return len(reached)

    async def send(self, member: Member, survey_id: int, kind: str, value: str) -> Sent:
        """Invite the matching customers not invited yet: in the chat when their person is
        linked to Telegram (through the outbox), otherwise by a personal link for the rep."""
        survey = await self.survey(member, survey_id)
        if survey.status is SurveyStatus.CLOSED:
            raise InvalidInput("survey.send_closed", title=survey.title)
        _check_kind(kind)
        now = self._clock.now()
        audience = await self._uow.surveys.audience(
            survey.id, Visibility.of(member), kind, value, SEND_LIMIT
        )
        links = await self._uow.surveys.personal_links(survey.id, [a.customer_id for a in audience])
        messages, invited, by_link = [], [], []
        settings = survey.form.settings
        for customer in audience:
            link = links.get(customer.customer_id) or await self._new_link(
                survey.id, customer.customer_id, member.id
            )
            if customer.chat_id is not None:
                messages.append(
                    OutgoingMessage(
                        key=f"survey-invite:{survey.id}:{customer.customer_id}",
                        chat_id=customer.chat_id,
                        text=Text(
                            "survey.invitation",
                            {
                                "title": settings.title_in(settings.default_language),
                                "minutes": settings.minutes,
                            },
                        ),
                        language=settings.default_language,
                        buttons=((Button(Text("survey.start"), data=f"sv:o:{link.token}"),),),
                    )
                )
                invited.append((customer.customer_id, link.id, TELEGRAM_CHANNEL))
            else:
                by_link.append(PersonalLink(customer.code, customer.name, link.token))
                invited.append((customer.customer_id, link.id, PERSONAL_CHANNEL))
        await self._uow.outbox.enqueue_many(messages, now)
        await self._uow.surveys.add_invitations(survey.id, invited, member.id, now)
        details = {"kind": kind, "value": value, "in_chat": len(messages), "by_link": len(by_link)}
        await self._audit(member, "survey.send", survey.id, details)
        return Sent(in_chat=len(messages), by_link=tuple(by_link))

    async def channel_link(self, member: Member, survey_id: int, channel: str) -> str:
        """The token of the survey's anonymous link for one channel (made on first use)."""
        survey = await self.survey(member, survey_id)
        if channel not in CHANNELS:
            raise InvalidInput("survey.unknown_channel", channels=", ".join(CHANNELS))
        link = await self._uow.surveys.channel_link(survey.id, channel)
        if link is None:
            link = await self._uow.surveys.add_link(
                NewLink(survey.id, _token(), LinkKind.CHANNEL, channel, None, member.id, None),
                self._clock.now(),
            )
        return link.token

    async def _new_link(self, survey_id: int, customer_id: int, member_id: int) -> SurveyLink:
        expires = self._clock.now() + timedelta(days=self._policy.link_days)
        return await self._uow.surveys.add_link(
            NewLink(
                survey_id,
                _token(),
                LinkKind.PERSONAL,
                PERSONAL_CHANNEL,
                customer_id,
                member_id,
                expires,
            ),
            self._clock.now(),
        )

    # Progress and results

    async def progress(self, member: Member, survey_id: int) -> Progress:
        survey = await self.survey(member, survey_id)
        by_channel: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for count in await self._uow.surveys.funnel(survey.id):
            counts = by_channel[count.channel]
            counts[count.state] += count.count
            counts["valid"] += count.valid
            if count.state in {state.value for state in ResponseState}:
                counts["opened"] += count.count
        channels = {name: _counts(values) for name, values in sorted(by_channel.items())}
        total = _counts(
            {
                name: sum(getattr(counts, name) for counts in channels.values())
                for name in ChannelCounts.__dataclass_fields__
            }
        )
        cells: list[QuotaCell] = []
        if survey.form.quotas:
            cells = quotas.cells(survey.form, await self._uow.surveys.completed(survey.id))
        return Progress(survey, channels, total, cells)

    async def results(self, member: Member, survey_id: int, *, purpose: str) -> Results:
        """The completed responses, for an export or charts (``purpose``, audit-logged)."""
        survey = await self.survey(member, survey_id)
        responses = await self._uow.surveys.completed(survey.id)
        await self._audit(member, f"survey.{purpose}", survey.id, {"responses": len(responses)})
        return Results(survey, survey.form, responses)

    # The keyword → tag dictionary

    async def keywords(self, member: Member) -> dict[str, str]:
        require(member, Action.RUN_SURVEYS)
        return await self._uow.surveys.keyword_tags()

    async def set_keyword(self, member: Member, keyword: str, tag: str) -> None:
        require(member, Action.EDIT_KEYWORDS)
        keyword, tag = keyword.strip(), tag.strip()
        if not keyword or not tag or len(keyword) > 64 or len(tag) > 64:
            raise InvalidInput("survey.keyword_usage")
        await self._uow.surveys.set_keyword_tag(keyword, tag, self._clock.now())
        await self._audit(member, "keyword.set", None, {"keyword": keyword, "tag": tag})

    async def remove_keyword(self, member: Member, keyword: str) -> bool:
        require(member, Action.EDIT_KEYWORDS)
        removed = await self._uow.surveys.remove_keyword_tag(keyword.strip())
        if removed:
            await self._audit(member, "keyword.remove", None, {"keyword": keyword})
        return removed

    async def _audit(
        self,
        member: Member | None,
        action: str,
        survey_id: int | None,
        details: dict[str, object],
    ) -> None:
        await self._uow.audit.record(
            AuditEntry(
                action=action,
                entity_type="survey",
                entity_id=str(survey_id) if survey_id is not None else None,
                actor_id=member.id if member else None,
                at=self._clock.now(),
                details=dict(details),
            )
        )


def _token() -> str:
    return secrets.token_urlsafe(12)  # 16 characters of A-Za-z0-9_-


def token_from_payload(payload: str) -> str | None:
    """The survey link token inside a /start payload, or None if it is not a survey link."""
    if not payload.startswith(DEEP_LINK_PREFIX):
        return None
    token = payload[len(DEEP_LINK_PREFIX) :]
    if 8 <= len(token) <= 32 and all(c.isalnum() or c in "-_" for c in token) and token.isascii():
        return token
    return ""  # a survey link, but garbled


def _check_kind(kind: str) -> None:
    if kind not in AUDIENCE_KINDS:
        raise InvalidInput("survey.unknown_audience")


def _counts(values: dict[str, int]) -> ChannelCounts:
    return ChannelCounts(
        invited=values.get("invited", 0),
        opened=values.get("opened", 0),
        consented=values.get("consented", 0),
        declined=values.get("declined", 0),
        completed=values.get("completed", 0),
        valid=values.get("valid", 0),
        quota_full=values.get("quota_full", 0),
    )
