"""A respondent answering in the chat: open a link, consent, one question at a time, Back,
resume after a restart, finish (validity, tags), and withdraw. Progress is a table row."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import NamedTuple

from crm import dialogs
from crm.audit import AuditEntry
from crm.clock import Clock
from crm.customers import TagSource
from crm.dialogs import Dialog
from crm.errors import NotFound
from crm.keywords import tags_for
from crm.members import Person
from crm.ports import UnitOfWork
from crm.surveys import engine, quotas, validity
from crm.surveys.form import Answer, Form, Question, QuestionType, pick
from crm.surveys.records import (
    PERSONAL_CHANNEL,
    TELEGRAM_CHANNEL,
    LinkKind,
    Response,
    ResponseState,
    Survey,
    SurveyLink,
    SurveyStatus,
)
from crm.surveys.screens import ConsentScreen, Notice, QuestionScreen, Screen
from crm.texts import Text

DIALOG_KIND = "survey"  # a member answering a survey: their plain text goes to it
TEXT_LIMIT = 1000


@dataclass(frozen=True)
class AnsweringPolicy:
    participant_tag: str = "高活跃度"


class Asked(NamedTuple):
    response: Response
    form: Form
    question: Question


class SurveyAnswering:
    def __init__(self, uow: UnitOfWork, clock: Clock, policy: AnsweringPolicy) -> None:
        self._uow = uow
        self._clock = clock
        self._policy = policy

    # Opening

    async def open_link(self, person: Person, token: str, language: str) -> Screen:
        """A /start deep link: a channel link (anonymous) or a personal one (the customer)."""
        link = await self._uow.surveys.link_by_token(token)
        if link is None:
            return Notice(Text("survey.link_invalid"))
        if link.expires_at is not None and link.expires_at <= self._clock.now():
            return Notice(Text("survey.link_expired"))
        channel = PERSONAL_CHANNEL if link.kind is LinkKind.PERSONAL else link.channel
        return await self._open(person, link, channel, language)

    async def open_invitation(self, person: Person, token: str, language: str) -> Screen:
        """The Start button of an invitation sent in the chat."""
        link = await self._uow.surveys.link_by_token(token)
        if link is None or link.kind is not LinkKind.PERSONAL:
            return Notice(Text("survey.link_invalid"), toast=True)
        return await self._open(person, link, TELEGRAM_CHANNEL, language)

    async def _open(self, person: Person, link: SurveyLink, channel: str, language: str) -> Screen:
        survey = await self._uow.surveys.get(link.survey_id)
        if survey is None:
            return Notice(Text("survey.link_invalid"))
        existing = await self._uow.surveys.response_of(survey.id, person.telegram_id)
        if existing is not None:
            return await self._reopen(existing, survey)
        if survey.status is SurveyStatus.CLOSED:
            return Notice(Text("survey.closed", {"title": survey.title}))
        if link.customer_id is not None:
            await self._uow.customers.link_chat(
                link.customer_id, person.telegram_id, person.display_name
            )
        response = await self._uow.surveys.add_response(
            Response(
                id=0,
                survey_id=survey.id,
                version_id=survey.version_id,
                telegram_id=person.telegram_id,
                customer_id=link.customer_id,
                channel=channel,
                language=language,
                state=ResponseState.OPENED,
                seed=secrets.randbelow(2**31),
                opened_at=self._clock.now(),
            ),
            link.id,
            self._clock.now(),
        )
        full = await self._full_cell_for_customer(survey, response)
        if full is not None:
            return await self._turn_away(response, survey, full)
        return self._consent_screen(response, survey.form)

    async def _reopen(self, response: Response, survey: Survey) -> Screen:
        if response.state is ResponseState.COMPLETED:
            return Notice(Text("survey.already_done", {"title": survey.title}))
        if response.state is ResponseState.QUOTA_FULL:
            return Notice(Text("survey.quota_full", {"title": survey.title}))
        form = await self._form(response)
        if response.state is ResponseState.ANSWERING:
            return self._question_screen(response, form, resumed=True)
        if survey.status is SurveyStatus.CLOSED:
            return Notice(Text("survey.closed", {"title": survey.title}))
        return self._consent_screen(response, form, resumed=True)

    # Consent

    async def consent(self, person: Person, response_id: int, agree: bool) -> Screen:
        response = await self._own(person, response_id)
        if response.state is ResponseState.ANSWERING:
            return self._question_screen(response, await self._form(response))
        if response.state not in (ResponseState.OPENED, ResponseState.DECLINED):
            return Notice(Text("survey.old_button"), toast=True)
        now = self._clock.now()
        await self._audit("survey.consent" if agree else "survey.decline", response, None)
        if not agree:
            await self._save(replace(response, state=ResponseState.DECLINED))
            return Notice(Text("survey.declined"))
        form = await self._form(response)
        first = engine.first(form, {})
        response = replace(
            response,
            state=ResponseState.ANSWERING,
            consented_at=now,
            current=first.name if first else None,
        )
        await self._save(response)
        await self._open_member_dialog(person, response)
        if first is None:
            return await self._complete(response, form)
        return self._question_screen(response, form)

    # Answers

    async def choose(self, person: Person, response_id: int, index: int, option: int) -> Screen:
        """A choice button (select_one) or a number button (range)."""
        asked = await self._asked(person, response_id, index)
        if isinstance(asked, Notice):
            return asked
        response, form, question = asked
        raw = _option(question, option)
        if raw is None:
            return Notice(Text("survey.old_button"), toast=True)
        return await self._take(response, form, question, raw)

    async def toggle(self, person: Person, response_id: int, index: int, option: int) -> Screen:
        asked = await self._asked(person, response_id, index)
        if isinstance(asked, Notice):
            return asked
        response, form, question = asked
        name = _option(question, option)
        if name is None or question.type is not QuestionType.SELECT_MULTIPLE:
            return Notice(Text("survey.old_button"), toast=True)
        chosen = _as_names(response.answers.get(question.name))
        chosen = tuple(n for n in chosen if n != name) if name in chosen else (*chosen, name)
        answers = dict(response.answers)
        answers[question.name] = chosen
        response = replace(response, answers=answers)
        await self._save(response)
        return self._question_screen(response, form)

    async def done(self, person: Person, response_id: int, index: int) -> Screen:
        """Done under a multiple choice, Continue under a note, Skip under an optional one."""
        asked = await self._asked(person, response_id, index)
        if isinstance(asked, Notice):
            return asked
        response, form, question = asked
        if question.type is QuestionType.NOTE:
            return await self._advance(response, form, question, None)
        raw = _as_names(response.answers.get(question.name))
        return await self._take(response, form, question, raw if raw else "")

    async def back(self, person: Person, response_id: int, index: int) -> Screen:
        asked = await self._asked(person, response_id, index)
        if isinstance(asked, Notice):
            return asked
        response, form = asked.response, asked.form
        if not response.path:
            return Notice(Text("survey.at_first"), toast=True)
        response = replace(response, current=response.path[-1], path=response.path[:-1])
        await self._save(response)
        return self._question_screen(response, form)

    async def text(self, person: Person, text: str) -> Screen | None:
        """Plain text from someone answering: the answer to the current question. None when
        they have no survey waiting for an answer."""
        response = await self._waiting(person)
        if response is None:
            return None
        form = await self._form(response)
        if response.state is ResponseState.OPENED:
            return self._consent_screen(response, form, resumed=True)
        question = form.question(response.current or "")
        if question is None:
            return None
        if len(text) > TEXT_LIMIT:
            problem = Text("form.answer.too_long", {"limit": TEXT_LIMIT})
            return self._question_screen(response, form, problem=problem)
        return await self._take(response, form, question, _typed(question, text, response))

    async def not_text(self, person: Person) -> Screen | None:
        """A sticker, voice note, photo or file where an answer was expected."""
        response = await self._waiting(person)
        if response is None:
            return None
        form = await self._form(response)
        if response.state is ResponseState.OPENED:
            return self._consent_screen(response, form, resumed=True)
        return self._question_screen(response, form, problem=Text("survey.text_expected"))

    async def has_survey_waiting(self, telegram_id: int) -> bool:
        return bool(await self._uow.surveys.responses_in_progress(telegram_id))

    async def _take(
        self, response: Response, form: Form, question: Question, raw: str | tuple[str, ...]
    ) -> Screen:
        try:
            value = engine.accept(
                form, question, raw, response.answers, response.seed, response.language
            )
        except engine.AnswerRejected as rejected:
            return self._question_screen(response, form, problem=rejected.text)
        return await self._advance(response, form, question, value)

    async def _advance(
        self, response: Response, form: Form, question: Question, value: Answer | None
    ) -> Screen:
        answers = dict(response.answers)
        if value is None:
            answers.pop(question.name, None)
        else:
            answers[question.name] = value
        response = replace(response, answers=answers, path=(*response.path, question.name))
        if quotas.screens(form, question.name):
            survey = await self._uow.surveys.get(response.survey_id)
            assert survey is not None
            completed = await self._uow.surveys.completed(survey.id)
            full = quotas.full_cell_for_answers(form, answers, completed)
            if full is not None:
                return await self._turn_away(response, survey, full)
        following = engine.next_after(form, question.name, answers)
        if following is None:
            return await self._complete(response, form)
        response = replace(response, current=following.name)
        await self._save(response)
        return self._question_screen(response, form)

    # Finishing

    async def _complete(self, response: Response, form: Form) -> Screen:
        now = self._clock.now()
        answers = engine.prune(form, response.answers)
        assert response.consented_at is not None
        duration = (now - response.consented_at).total_seconds()
        durations = await self._uow.surveys.completed_durations(response.survey_id)
        flags = validity.flags_for(form, answers, duration, validity.median_duration(durations))
        response = replace(
            response,
            state=ResponseState.COMPLETED,
            answers=answers,
            current=None,
            completed_at=now,
            flags=flags,
        )
        await self._save(response)
        tags = await self._tag_customer(response, form)
        await self._audit("survey.complete", response, {"flags": [f.kind for f in flags]})
        if response.telegram_id:
            await self._close_member_dialog(response)
        title = form.settings.title_in(response.language)
        return Notice(Text("survey.thanks", {"title": title, "tags": len(tags)}))

    async def _tag_customer(self, response: Response, form: Form) -> list[str]:
        if response.customer_id is None:
            return []
        source = f"survey:{response.survey_id}"
        tags: dict[str, TagSource] = {self._policy.participant_tag: TagSource.SURVEY}
        if not response.flags:  # answers of a flagged response do not drive tags
            tags.update(dict.fromkeys(_answer_tags(form, response.answers), TagSource.SURVEY))
            dictionary = await self._uow.surveys.keyword_tags()
            for text in _open_answers(form, response.answers):
                tags.update(dict.fromkeys(tags_for(text, dictionary), TagSource.KEYWORD))
        for name, kind in tags.items():
            await self._uow.customers.add_tag(response.customer_id, name, kind, None, source)
        return list(tags)

    async def _turn_away(self, response: Response, survey: Survey, cell: str) -> Screen:
        response = replace(response, state=ResponseState.QUOTA_FULL, current=None)
        await self._save(response)
        await self._audit("survey.quota_full", response, {"cell": cell})
        await self._close_member_dialog(response)
        return Notice(Text("survey.quota_full", {"title": survey.title}))

    async def _full_cell_for_customer(self, survey: Survey, response: Response) -> str | None:
        if response.customer_id is None or not survey.form.quotas:
            return None
        completed = await self._uow.surveys.completed(survey.id)
        segments = await self._uow.surveys.segments_of(response.customer_id)
        return quotas.full_cell_for_customer(survey.form, segments, completed)

    # Withdrawal

    async def withdraw(self, person: Person) -> int:
        """Delete every answer the person gave, and the tags their answers put on a customer."""
        deleted = await self._uow.surveys.delete_responses(person.telegram_id)
        for response in deleted:
            if response.customer_id is not None:
                await self._uow.customers.remove_tags_from(
                    response.customer_id, f"survey:{response.survey_id}"
                )
            await self._close_member_dialog(response)
        await self._uow.audit.record(
            AuditEntry(
                action="survey.withdraw",
                entity_type="respondent",
                entity_id=str(person.telegram_id),
                actor_id=None,
                at=self._clock.now(),
                details={"responses": len(deleted)},
            )
        )
        return len(deleted)

    # Helpers

    async def _own(self, person: Person, response_id: int) -> Response:
        response = await self._uow.surveys.response(response_id)
        if response is None or response.telegram_id != person.telegram_id:
            raise NotFound("survey.not_yours")
        return response

    async def _asked(self, person: Person, response_id: int, index: int) -> Asked | Notice:
        """The question a button belongs to, if it is the one being asked."""
        response = await self._own(person, response_id)
        if response.state is not ResponseState.ANSWERING:
            return Notice(Text("survey.old_button"), toast=True)
        form = await self._form(response)
        if not 0 <= index < len(form.questions):
            raise NotFound("survey.not_yours")
        question = form.questions[index]
        if question.name != response.current:
            return Notice(Text("survey.already_answered"), toast=True)
        return Asked(response, form, question)

    async def _waiting(self, person: Person) -> Response | None:
        waiting = await self._uow.surveys.responses_in_progress(person.telegram_id)
        return waiting[0] if waiting else None

    async def _form(self, response: Response) -> Form:
        return await self._uow.surveys.form_of_version(response.version_id)

    async def _save(self, response: Response) -> None:
        await self._uow.surveys.save_response(response, self._clock.now())

    async def _open_member_dialog(self, person: Person, response: Response) -> None:
        member = await self._uow.members.by_telegram_id(person.telegram_id)
        if member is not None:
            dialog = Dialog(member.id, DIALOG_KIND, "answering", {"response": response.id})
            await self._uow.dialogs.save(dialog, self._clock.now())

    async def _close_member_dialog(self, response: Response) -> None:
        member = await self._uow.members.by_telegram_id(response.telegram_id)
        if member is not None:
            await dialogs.close(self._uow, member.id, DIALOG_KIND)

    async def _audit(
        self, action: str, response: Response, details: dict[str, object] | None
    ) -> None:
        await self._uow.audit.record(
            AuditEntry(
                action=action,
                entity_type="survey_response",
                entity_id=str(response.id),
                actor_id=None,
                at=self._clock.now(),
                details={"survey": response.survey_id, **(details or {})},
            )
        )

    def _consent_screen(self, response: Response, form: Form, *, resumed: bool = False) -> Screen:
        settings = form.settings
        return ConsentScreen(
            response_id=response.id,
            title=settings.title_in(response.language),
            minutes=settings.minutes,
            purpose=pick(settings.consent, response.language),
            retention_days=settings.retention_days,
            resumed=resumed,
        )

    def _question_screen(
        self, response: Response, form: Form, *, problem: Text | None = None, resumed: bool = False
    ) -> Screen:
        question = form.question(response.current or "")
        if question is None:
            return Notice(Text("survey.old_button"), toast=True)
        answer = response.answers.get(question.name)
        return QuestionScreen(
            response_id=response.id,
            index=form.questions.index(question),
            question=question,
            choices=engine.choices_for(form, question, response.answers, response.seed),
            selected=_as_names(answer),
            position=engine.position(form, question.name, response.answers),
            can_go_back=bool(response.path),
            problem=problem,
            resumed=resumed,
        )


def _option(question: Question, option: int) -> str | None:
    """The raw answer behind button ``option``: a choice name, or a scale value."""
    if question.range is not None:
        values = question.range.values()
        return _number(values[option]) if 0 <= option < len(values) else None
    if 0 <= option < len(question.choices):
        return question.choices[option].name
    return None


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _as_names(answer: Answer | None) -> tuple[str, ...]:
    if answer is None:
        return ()
    if isinstance(answer, tuple):
        return answer
    if isinstance(answer, float):
        return (_number(answer),)
    return (str(answer),)


def _typed(question: Question, text: str, response: Response) -> str | tuple[str, ...]:
    """Typed text for a question with buttons: a choice's label or name works too."""
    if question.type not in (QuestionType.SELECT_ONE, QuestionType.SELECT_MULTIPLE):
        return text
    wanted = text.strip().casefold()
    for choice in question.choices:
        labels = {choice.name.casefold(), *(label.casefold() for label in choice.labels.values())}
        if wanted in labels:
            return (choice.name,) if question.type is QuestionType.SELECT_MULTIPLE else choice.name
    return text


def _answer_tags(form: Form, answers: Mapping[str, Answer]) -> list[str]:
    tags: list[str] = []
    for question in form.questions:
        answer = answers.get(question.name)
        if answer is None:
            continue
        if question.tag:
            tags.append(question.tag)
        for name in _as_names(answer) if question.choices else ():
            choice = question.choice(name)
            if choice is not None and choice.tag:
                tags.append(choice.tag)
    return tags


def _open_answers(form: Form, answers: Mapping[str, Answer]) -> list[str]:
    return [
        str(answers[q.name])
        for q in form.questions
        if q.type is QuestionType.TEXT and isinstance(answers.get(q.name), str)
    ]
