"""SQL behind ``crm.reports``."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession


class SqlReportQueries:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session
