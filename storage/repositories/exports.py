"""SQL behind ``crm.exports``."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession


class SqlExportQueries:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session
