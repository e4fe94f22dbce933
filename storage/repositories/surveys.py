from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, case, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from crm.access import Visibility
from crm.customers import Stage
from crm.surveys.form import Answer, Form
from crm.surveys.records import (
    Audience,
    FunnelCount,
    NewLink,
    Response,
    ResponseState,
    Survey,
    SurveyLink,
    SurveyStatus,
)
from crm.surveys.responses import CompletedResponse, Flag
from storage.models import (
    ContactRow,
    CustomerRow,
    CustomerTagRow,
    KeywordTagRow,
    MemberRow,
    SurveyInvitationRow,
    SurveyLinkRow,
    SurveyResponseRow,
    SurveyRow,
    SurveyVersionRow,
    TagRow,
)
from storage.repositories.customers import visible_to

SEGMENTS = ("industry", "size", "stage", "grade", "region", "source")
AUDIENCE_KINDS = ("tag", "stage", "industry", "owner")
IN_PROGRESS = (ResponseState.OPENED, ResponseState.ANSWERING)


class SqlSurveyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    # Surveys and versions

    async def get(self, survey_id: int) -> Survey | None:
        rows = await self._surveys(SurveyRow.id == survey_id)
        return rows[0] if rows else None

    async def by_form_id(self, form_id: str) -> Survey | None:
        rows = await self._surveys(SurveyRow.form_id == form_id)
        return rows[0] if rows else None

    async def all(self) -> Sequence[Survey]:
        return await self._surveys(None)

    async def _surveys(self, condition: ColumnElement[bool] | None) -> list[Survey]:
        latest = (
            select(SurveyVersionRow.survey_id, func.max(SurveyVersionRow.number).label("number"))
            .group_by(SurveyVersionRow.survey_id)
            .subquery()
        )
        query = (
            select(SurveyRow, SurveyVersionRow)
            .join(latest, latest.c.survey_id == SurveyRow.id)
            .join(
                SurveyVersionRow,
                (SurveyVersionRow.survey_id == SurveyRow.id)
                & (SurveyVersionRow.number == latest.c.number),
            )
            .order_by(SurveyRow.created_at.desc(), SurveyRow.id.desc())
        )
        if condition is not None:
            query = query.where(condition)
        rows = (await self._session.execute(query)).all()
        return [_to_survey(survey, version) for survey, version in rows]

    async def add(self, form: Form, created_by: int | None, at: datetime) -> Survey:
        row = SurveyRow(
            form_id=form.settings.form_id,
            title=form.settings.title_in(form.settings.default_language)[:200],
            status=SurveyStatus.OPEN,
            created_by=created_by,
            created_at=at,
            updated_at=at,
        )
        self._session.add(row)
        await self._session.flush()
        return await self.add_version(row.id, form, created_by, at)

    async def add_version(
        self, survey_id: int, form: Form, created_by: int | None, at: datetime
    ) -> Survey:
        number = await self._session.scalar(
            select(func.coalesce(func.max(SurveyVersionRow.number), 0)).where(
                SurveyVersionRow.survey_id == survey_id
            )
        )
        self._session.add(
            SurveyVersionRow(
                survey_id=survey_id,
                number=int(number or 0) + 1,
                version=form.settings.version[:32],
                form=form.to_json(),
                created_by=created_by,
                created_at=at,
            )
        )
        await self._session.execute(
            update(SurveyRow)
            .where(SurveyRow.id == survey_id)
            .values(
                title=form.settings.title_in(form.settings.default_language)[:200], updated_at=at
            )
        )
        await self._session.flush()
        survey = await self.get(survey_id)
        assert survey is not None
        return survey

    async def form_of_version(self, version_id: int) -> Form:
        data = await self._session.scalar(
            select(SurveyVersionRow.form).where(SurveyVersionRow.id == version_id)
        )
        assert data is not None, f"no survey version {version_id}"
        return Form.from_json(data)

    async def set_status(self, survey_id: int, status: SurveyStatus, at: datetime) -> None:
        await self._session.execute(
            update(SurveyRow).where(SurveyRow.id == survey_id).values(status=status, updated_at=at)
        )

    # Links and invitations

    async def add_link(self, link: NewLink, at: datetime) -> SurveyLink:
        row = SurveyLinkRow(
            survey_id=link.survey_id,
            token=link.token,
            kind=link.kind,
            channel=link.channel,
            customer_id=link.customer_id,
            created_by=link.created_by,
            created_at=at,
            expires_at=link.expires_at,
        )
        self._session.add(row)
        await self._session.flush()
        return _to_link(row)

    async def link_by_token(self, token: str) -> SurveyLink | None:
        row = await self._session.scalar(select(SurveyLinkRow).where(SurveyLinkRow.token == token))
        return _to_link(row) if row else None

    async def channel_link(self, survey_id: int, channel: str) -> SurveyLink | None:
        row = await self._session.scalar(
            select(SurveyLinkRow).where(
                SurveyLinkRow.survey_id == survey_id,
                SurveyLinkRow.customer_id.is_(None),
                SurveyLinkRow.channel == channel,
            )
        )
        return _to_link(row) if row else None

    async def personal_links(
        self, survey_id: int, customer_ids: Sequence[int]
    ) -> dict[int, SurveyLink]:
        links: dict[int, SurveyLink] = {}
        for chunk in _chunks(customer_ids):
            rows = await self._session.scalars(
                select(SurveyLinkRow).where(
                    SurveyLinkRow.survey_id == survey_id, SurveyLinkRow.customer_id.in_(chunk)
                )
            )
            for row in rows:
                assert row.customer_id is not None
                links[row.customer_id] = _to_link(row)
        return links

    async def audience(
        self, survey_id: int, visibility: Visibility, kind: str, value: str, limit: int
    ) -> Sequence[Audience]:
        invited = select(SurveyInvitationRow.customer_id).where(
            SurveyInvitationRow.survey_id == survey_id
        )
        chat = (
            select(ContactRow.telegram_chat_id)
            .where(
                ContactRow.customer_id == CustomerRow.id, ContactRow.telegram_chat_id.is_not(None)
            )
            .order_by(ContactRow.is_primary.desc(), ContactRow.id)
            .limit(1)
            .scalar_subquery()
        )
        query = (
            select(CustomerRow.id, CustomerRow.code, CustomerRow.name, CustomerRow.owner_id, chat)
            .where(visible_to(visibility), _matches(kind, value), CustomerRow.id.not_in(invited))
            .order_by(CustomerRow.id)
            .limit(limit)
        )
        rows = (await self._session.execute(query)).all()
        return [Audience(*row) for row in rows]

    async def audience_values(self, visibility: Visibility, kind: str) -> Sequence[str]:
        if kind == "tag":
            query = (
                select(TagRow.name)
                .join(CustomerTagRow, CustomerTagRow.tag_id == TagRow.id)
                .join(CustomerRow, CustomerRow.id == CustomerTagRow.customer_id)
                .where(visible_to(visibility))
                .distinct()
                .order_by(TagRow.name)
            )
        elif kind == "owner":
            query = (
                select(MemberRow.name)
                .join(CustomerRow, CustomerRow.owner_id == MemberRow.id)
                .where(visible_to(visibility))
                .distinct()
                .order_by(MemberRow.name)
            )
        else:
            column = getattr(CustomerRow, _column(kind))
            query = (
                select(column)
                .where(visible_to(visibility), column.is_not(None))
                .distinct()
                .order_by(column)
            )
        return [str(value) for value in await self._session.scalars(query.limit(40))]

    async def add_invitations(
        self, survey_id: int, invited: Sequence[tuple[int, int, str]], by: int, at: datetime
    ) -> None:
        self._session.add_all(
            SurveyInvitationRow(
                survey_id=survey_id,
                customer_id=customer_id,
                link_id=link_id,
                channel=channel,
                invited_by=by,
                invited_at=at,
            )
            for customer_id, link_id, channel in invited
        )
        await self._session.flush()

    # Responses

    async def response(self, response_id: int) -> Response | None:
        row = await self._session.get(SurveyResponseRow, response_id)
        return _to_response(row) if row else None

    async def response_of(self, survey_id: int, telegram_id: int) -> Response | None:
        row = await self._session.scalar(
            select(SurveyResponseRow).where(
                SurveyResponseRow.survey_id == survey_id,
                SurveyResponseRow.telegram_id == telegram_id,
            )
        )
        return _to_response(row) if row else None

    async def responses_in_progress(self, telegram_id: int) -> Sequence[Response]:
        rows = await self._session.scalars(
            select(SurveyResponseRow)
            .where(
                SurveyResponseRow.telegram_id == telegram_id,
                SurveyResponseRow.state.in_(IN_PROGRESS),
            )
            .order_by(SurveyResponseRow.updated_at.desc(), SurveyResponseRow.id.desc())
        )
        return [_to_response(row) for row in rows]

    async def add_response(self, response: Response, link_id: int | None, at: datetime) -> Response:
        row = SurveyResponseRow(
            survey_id=response.survey_id,
            version_id=response.version_id,
            link_id=link_id,
            telegram_id=response.telegram_id,
            customer_id=response.customer_id,
            channel=response.channel,
            language=response.language,
            state=response.state,
            seed=response.seed,
            current=response.current,
            path={"names": list(response.path)},
            answers=_answers_to_json(response.answers),
            flags={"flags": []},
            valid=None,
            opened_at=response.opened_at or at,
            updated_at=at,
        )
        self._session.add(row)
        await self._session.flush()
        return _to_response(row)

    async def save_response(self, response: Response, at: datetime) -> None:
        completed = response.state is ResponseState.COMPLETED
        await self._session.execute(
            update(SurveyResponseRow)
            .where(SurveyResponseRow.id == response.id)
            .values(
                state=response.state,
                current=response.current,
                path={"names": list(response.path)},
                answers=_answers_to_json(response.answers),
                flags={"flags": [flag.to_json() for flag in response.flags]},
                valid=(not response.flags) if completed else None,
                consented_at=response.consented_at,
                declined_at=at if response.state is ResponseState.DECLINED else None,
                completed_at=response.completed_at,
                customer_id=response.customer_id,
                updated_at=at,
            )
        )

    async def delete_responses(self, telegram_id: int) -> Sequence[Response]:
        rows = list(
            await self._session.scalars(
                select(SurveyResponseRow).where(SurveyResponseRow.telegram_id == telegram_id)
            )
        )
        deleted = [_to_response(row) for row in rows]
        if rows:
            await self._session.execute(
                delete(SurveyResponseRow).where(SurveyResponseRow.telegram_id == telegram_id)
            )
        return deleted

    async def completed(self, survey_id: int) -> Sequence[CompletedResponse]:
        segment_columns = [getattr(CustomerRow, name) for name in SEGMENTS]
        query = (
            select(
                SurveyResponseRow,
                SurveyVersionRow.number,
                CustomerRow.code,
                *segment_columns,
            )
            .join(SurveyVersionRow, SurveyVersionRow.id == SurveyResponseRow.version_id)
            .outerjoin(CustomerRow, CustomerRow.id == SurveyResponseRow.customer_id)
            .where(
                SurveyResponseRow.survey_id == survey_id,
                SurveyResponseRow.state == ResponseState.COMPLETED,
            )
            .order_by(SurveyResponseRow.completed_at, SurveyResponseRow.id)
        )
        completed = []
        for row, number, code, *segments in (await self._session.execute(query)).all():
            assert row.consented_at is not None
            assert row.completed_at is not None
            completed.append(
                CompletedResponse(
                    id=row.id,
                    answers=_answers_from_json(row.answers),
                    started_at=row.consented_at,
                    completed_at=row.completed_at,
                    flags=_flags(row.flags),
                    customer_id=row.customer_id,
                    customer_code=code,
                    channel=row.channel,
                    version=number,
                    segments={
                        name: _segment(value)
                        for name, value in zip(SEGMENTS, segments, strict=True)
                        if value is not None
                    },
                )
            )
        return completed

    async def segments_of(self, customer_id: int) -> dict[str, str]:
        columns = [getattr(CustomerRow, name) for name in SEGMENTS]
        row = (
            await self._session.execute(select(*columns).where(CustomerRow.id == customer_id))
        ).first()
        if row is None:
            return {}
        return {
            name: _segment(value)
            for name, value in zip(SEGMENTS, row, strict=True)
            if value is not None
        }

    async def completed_durations(self, survey_id: int) -> Sequence[float]:
        rows = await self._session.execute(
            select(SurveyResponseRow.consented_at, SurveyResponseRow.completed_at).where(
                SurveyResponseRow.survey_id == survey_id,
                SurveyResponseRow.state == ResponseState.COMPLETED,
            )
        )
        return [
            (completed - consented).total_seconds()
            for consented, completed in rows.all()
            if consented is not None and completed is not None
        ]

    async def funnel(self, survey_id: int) -> Sequence[FunnelCount]:
        invited = await self._session.execute(
            select(SurveyInvitationRow.channel, func.count())
            .where(SurveyInvitationRow.survey_id == survey_id)
            .group_by(SurveyInvitationRow.channel)
        )
        counts = [FunnelCount(channel, "invited", count) for channel, count in invited.all()]
        valid = func.sum(case((SurveyResponseRow.valid.is_(True), 1), else_=0))
        states = await self._session.execute(
            select(
                SurveyResponseRow.channel,
                SurveyResponseRow.state,
                func.count(),
                func.count(SurveyResponseRow.consented_at),
                valid,
            )
            .where(SurveyResponseRow.survey_id == survey_id)
            .group_by(SurveyResponseRow.channel, SurveyResponseRow.state)
        )
        for channel, state, count, consented, valid_count in states.all():
            counts.append(FunnelCount(channel, str(state), int(count), int(valid_count or 0)))
            counts.append(FunnelCount(channel, "consented", int(consented)))
        return counts

    # The keyword → tag dictionary

    async def keyword_tags(self) -> dict[str, str]:
        rows = await self._session.execute(
            select(KeywordTagRow.keyword, KeywordTagRow.tag).order_by(KeywordTagRow.keyword)
        )
        return {str(keyword): str(tag) for keyword, tag in rows.all()}

    async def set_keyword_tag(self, keyword: str, tag: str, at: datetime) -> None:
        row = await self._session.scalar(
            select(KeywordTagRow).where(KeywordTagRow.keyword == keyword)
        )
        if row is None:
            self._session.add(KeywordTagRow(keyword=keyword, tag=tag, created_at=at))
        else:
            row.tag = tag
        await self._session.flush()

    async def remove_keyword_tag(self, keyword: str) -> bool:
        result = await self._session.execute(
            delete(KeywordTagRow).where(KeywordTagRow.keyword == keyword)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


def _column(kind: str) -> str:
    if kind not in ("stage", "industry"):
        raise ValueError(f"unknown audience kind {kind!r}")
    return kind


def _matches(kind: str, value: str) -> ColumnElement[bool]:
    if kind == "tag":
        tagged = (
            select(CustomerTagRow.customer_id)
            .join(TagRow, TagRow.id == CustomerTagRow.tag_id)
            .where(TagRow.name == value)
        )
        return CustomerRow.id.in_(tagged)
    if kind == "owner":
        return CustomerRow.owner_id.in_(select(MemberRow.id).where(MemberRow.name == value))
    if kind == "stage":
        return CustomerRow.stage == Stage(value)
    return getattr(CustomerRow, _column(kind)) == value  # type: ignore[no-any-return]


def _chunks(ids: Sequence[int], size: int = 500) -> list[Sequence[int]]:
    return [ids[start : start + size] for start in range(0, len(ids), size)]


def _segment(value: object) -> str:
    return value.value if isinstance(value, Stage) else str(value)


def _to_survey(row: SurveyRow, version: SurveyVersionRow) -> Survey:
    return Survey(
        id=row.id,
        form_id=row.form_id,
        title=row.title,
        status=SurveyStatus(row.status),
        version_id=version.id,
        version_number=version.number,
        form=Form.from_json(version.form),
        created_at=row.created_at,
    )


def _to_link(row: SurveyLinkRow) -> SurveyLink:
    return SurveyLink(
        id=row.id,
        survey_id=row.survey_id,
        token=row.token,
        kind=row.kind,
        channel=row.channel,
        customer_id=row.customer_id,
        expires_at=row.expires_at,
    )


def _to_response(row: SurveyResponseRow) -> Response:
    return Response(
        id=row.id,
        survey_id=row.survey_id,
        version_id=row.version_id,
        telegram_id=row.telegram_id,
        customer_id=row.customer_id,
        channel=row.channel,
        language=row.language,
        state=ResponseState(row.state),
        seed=row.seed,
        current=row.current,
        path=tuple(row.path.get("names", [])),
        answers=_answers_from_json(row.answers),
        opened_at=row.opened_at,
        consented_at=row.consented_at,
        completed_at=row.completed_at,
        flags=_flags(row.flags),
    )


def _flags(data: dict[str, Any]) -> tuple[Flag, ...]:
    return tuple(Flag.from_json(flag) for flag in data.get("flags", []))


def _answers_to_json(answers: Any) -> dict[str, Any]:
    return {
        name: list(value) if isinstance(value, tuple) else value for name, value in answers.items()
    }


def _answers_from_json(data: dict[str, Any]) -> dict[str, Answer]:
    return {
        name: tuple(value) if isinstance(value, list) else value for name, value in data.items()
    }
