"""One session, one transaction: the repositories of an update or a job share it, and whoever
opened the unit of work decides to commit. Leaving without ``commit()`` rolls back."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm.clock import Clock
from storage.repositories.audit import SqlAuditLog
from storage.repositories.choices import SqlChoiceRepository
from storage.repositories.customers import SqlCustomerRepository
from storage.repositories.dialogs import SqlDialogRepository
from storage.repositories.digests import SqlDigestQueries
from storage.repositories.export_jobs import SqlExportJobs
from storage.repositories.exports import SqlExportQueries
from storage.repositories.fields import SqlCustomFieldRepository
from storage.repositories.followups import SqlFollowUpRepository
from storage.repositories.imports import SqlImportRepository
from storage.repositories.invitations import SqlInvitationRepository
from storage.repositories.members import SqlMemberRepository, SqlTeamRepository
from storage.repositories.outbox import SqlOutboxRepository
from storage.repositories.reports import SqlReportQueries
from storage.repositories.surveys import SqlSurveyRepository
from storage.repositories.tasks import SqlTaskRepository
from storage.repositories.updates import SqlProcessedUpdates
from storage.search import SqlCustomerSearch


class SqlUnitOfWork:
    members: SqlMemberRepository
    teams: SqlTeamRepository
    invitations: SqlInvitationRepository
    outbox: SqlOutboxRepository
    audit: SqlAuditLog
    updates: SqlProcessedUpdates
    customers: SqlCustomerRepository
    choices: SqlChoiceRepository
    follow_ups: SqlFollowUpRepository
    tasks: SqlTaskRepository
    dialogs: SqlDialogRepository
    search: SqlCustomerSearch
    fields: SqlCustomFieldRepository
    surveys: SqlSurveyRepository
    reports: SqlReportQueries
    digests: SqlDigestQueries
    exports: SqlExportQueries
    export_jobs: SqlExportJobs
    imports: SqlImportRepository

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self._sessions = sessions
        self._clock = clock
        self._session: AsyncSession | None = None

    async def __aenter__(self) -> Self:
        session = self._session = self._sessions()
        self.members = SqlMemberRepository(session, self._clock)
        self.teams = SqlTeamRepository(session, self._clock)
        self.invitations = SqlInvitationRepository(session)
        self.outbox = SqlOutboxRepository(session)
        self.audit = SqlAuditLog(session)
        self.updates = SqlProcessedUpdates(session)
        self.customers = SqlCustomerRepository(session, self._clock)
        self.choices = SqlChoiceRepository(session)
        self.follow_ups = SqlFollowUpRepository(session, self._clock)
        self.tasks = SqlTaskRepository(session, self._clock)
        self.dialogs = SqlDialogRepository(session)
        self.search = SqlCustomerSearch(session)
        self.fields = SqlCustomFieldRepository(session)
        self.surveys = SqlSurveyRepository(session)
        self.reports = SqlReportQueries(session)
        self.digests = SqlDigestQueries(session)
        self.exports = SqlExportQueries(session)
        self.export_jobs = SqlExportJobs(session)
        self.imports = SqlImportRepository(session)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self._session is not None
        try:
            await self._session.rollback()
        finally:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> AsyncSession:
        assert self._session is not None, "use the unit of work inside 'async with'"
        return self._session

    async def commit(self) -> None:
        await self.session.commit()

    async def rollback(self) -> None:
        await self.session.rollback()

    @property
    def enqueued_messages(self) -> int:
        """How many outbox messages this unit of work added (to wake the dispatcher)."""
        return self.outbox.enqueued
