"""The long-lived parts of a running Kehu: settings, clock, texts, database, outbox."""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.i18n import Catalogue
from bot.settings import Settings
from crm.clock import Clock
from crm.customers import Stage
from crm.digests.service import DigestPolicy
from crm.onboarding import OnboardingPolicy
from crm.reminder_service import ReminderPolicy
from crm.services import DomainConfig, Services
from crm.surveys.answering import AnsweringPolicy
from crm.surveys.research import ResearchPolicy
from crm.task_service import StalePolicy
from scheduler.rate_limit import SendRateLimiter
from storage.uow import SqlUnitOfWork


def new_worker_id() -> str:
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{secrets.token_hex(3)}"


@dataclass
class Kehu:
    settings: Settings
    clock: Clock
    catalogue: Catalogue
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    worker_id: str = field(default_factory=new_worker_id)
    limiter: SendRateLimiter | None = None  # set by build_application

    def unit_of_work(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.sessions, self.clock)

    def services(self, uow: SqlUnitOfWork) -> Services:
        return Services(uow, self.clock, self.domain_config)

    @property
    def domain_config(self) -> DomainConfig:
        return self.domain_config_for(self.settings)

    @staticmethod
    def domain_config_for(settings: Settings) -> DomainConfig:
        return DomainConfig(
            onboarding=OnboardingPolicy(
                bootstrap_admin_ids=frozenset(settings.admin_ids),
                invite_ttl=timedelta(hours=settings.invite_ttl_hours),
                default_language=settings.language,
            ),
            stale=StalePolicy({Stage(stage): days for stage, days in settings.stale_days.items()}),
            reminders=ReminderPolicy(
                overdue_after=timedelta(hours=settings.overdue_warning_hours),
                default_language=settings.language,
                default_timezone=settings.timezone,
            ),
            answering=AnsweringPolicy(participant_tag=settings.survey_participant_tag),
            research=ResearchPolicy(link_days=settings.survey_link_days),
            digests=DigestPolicy(
                default_time=settings.digest_time,
                default_language=settings.language,
                default_timezone=settings.timezone,
            ),
        )
