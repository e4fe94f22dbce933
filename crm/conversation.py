"""Where a member's plain text goes: to the dialog waiting for it (new customer, follow-up
draft, a card question, a report's custom period), or, when none is open, to the customer
search."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from crm import card_actions, dialogs, followup_service, new_customer
from crm.card_actions import Answered, CardActions
from crm.customer_service import CustomerService, SearchPage
from crm.errors import DomainError
from crm.followup_service import AskText, FollowUpService, LogDraft
from crm.followups import Attachment
from crm.members import Member
from crm.new_customer import Created, NewCustomerFlow, Prompt
from crm.ports import UnitOfWork
from crm.reports import service as report_service
from crm.reports.periods import Period
from crm.reports.service import ReportService
from crm.surveys import answering as survey_answering
from crm.surveys.answering import SurveyAnswering
from crm.surveys.screens import Screen

TextOutcome = Prompt | Created | LogDraft | AskText | Answered | SearchPage | Screen | Period


class Conversation:
    def __init__(
        self,
        uow: UnitOfWork,
        customers: CustomerService,
        flow: NewCustomerFlow,
        follow_ups: FollowUpService,
        card: CardActions,
        answering: SurveyAnswering,
        reports: ReportService,
    ) -> None:
        self._uow = uow
        self._customers = customers
        self._flow = flow
        self._follow_ups = follow_ups
        self._card = card
        self._answering = answering
        self._reports = reports

    async def text(self, member: Member, text: str, zone: ZoneInfo, page_size: int) -> TextOutcome:
        dialog = await self._uow.dialogs.get(member.id)
        kind = dialog.kind if dialog else None
        if kind == new_customer.KIND:
            return await self._flow.answer(member, text)
        if kind == followup_service.KIND:
            return await self._follow_ups.answer(member, text, zone)
        if kind == card_actions.KIND:
            return await self._card.answer(member, text, zone)
        if kind == report_service.RANGE_KIND:
            return await self._reports.range_given(member, text)
        if kind == survey_answering.DIALOG_KIND:
            screen = await self._answering.text(member.as_person(), text)
            if screen is not None:
                return screen
        return await self._customers.find(member, text, 0, page_size)

    async def attachment(self, member: Member, attachment: Attachment) -> LogDraft:
        """A photo or document: attached to the open follow-up draft, if there is one."""
        dialog = await self._uow.dialogs.get(member.id)
        if dialog is None or dialog.kind != followup_service.KIND:
            raise DomainError("log.attach_without_draft")
        return await self._follow_ups.attach(member, attachment)

    async def has_log_draft(self, member: Member) -> bool:
        dialog = await self._uow.dialogs.get(member.id)
        return dialog is not None and dialog.kind == followup_service.KIND

    async def cancel(self, member: Member) -> bool:
        """/cancel: drop whatever dialog is open."""
        return await dialogs.close(self._uow, member.id)
