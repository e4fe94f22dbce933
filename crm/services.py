"""The domain's use cases, bound to one unit of work (one update or one job)."""

from __future__ import annotations

from dataclasses import dataclass, field

from crm.card_actions import CardActions
from crm.choice_service import ChoiceService
from crm.clock import Clock
from crm.conversation import Conversation
from crm.custom_fields import CustomFieldService
from crm.customer_service import CustomerService
from crm.digests.service import DigestPolicy, DigestService
from crm.exports.service import ExportService
from crm.followup_service import FollowUpService
from crm.importing.service import ImportService
from crm.new_customer import NewCustomerFlow
from crm.onboarding import MemberService, OnboardingPolicy
from crm.ports import UnitOfWork
from crm.reminder_service import ReminderPolicy, ReminderService
from crm.reports.service import ReportService
from crm.surveys.answering import AnsweringPolicy, SurveyAnswering
from crm.surveys.research import ResearchPolicy, SurveyResearch
from crm.task_service import StalePolicy, TaskService


@dataclass(frozen=True)
class DomainConfig:
    onboarding: OnboardingPolicy
    stale: StalePolicy = field(default_factory=lambda: StalePolicy({}))
    reminders: ReminderPolicy = field(default_factory=ReminderPolicy)
    answering: AnsweringPolicy = field(default_factory=AnsweringPolicy)
    research: ResearchPolicy = field(default_factory=ResearchPolicy)
    digests: DigestPolicy = field(default_factory=DigestPolicy)


class Services:
    def __init__(self, uow: UnitOfWork, clock: Clock, config: DomainConfig) -> None:
        language = config.onboarding.default_language
        self.members = MemberService(uow, clock, config.onboarding)
        self.customers = CustomerService(uow, clock, language)
        self.new_customer = NewCustomerFlow(uow, clock, self.customers)
        self.follow_ups = FollowUpService(uow, clock, self.customers)
        self.tasks = TaskService(uow, clock, self.customers, config.stale)
        self.reminders = ReminderService(uow, clock, config.reminders)
        self.choices = ChoiceService(uow, clock)
        self.fields = CustomFieldService(uow, clock, self.customers)
        self.card = CardActions(uow, clock, self.customers, self.tasks, self.fields)
        self.answering = SurveyAnswering(uow, clock, config.answering)
        self.research = SurveyResearch(uow, clock, config.research)
        self.reports = ReportService(uow, clock)
        self.digests = DigestService(uow, clock, config.stale, config.digests)
        self.exports = ExportService(uow, clock)
        self.imports = ImportService(uow, clock, language)
        self.conversation = Conversation(
            uow,
            self.customers,
            self.new_customer,
            self.follow_ups,
            self.card,
            self.answering,
            self.reports,
        )
