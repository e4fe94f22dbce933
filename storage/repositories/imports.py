"""SQL behind ``crm.importing``."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession


class SqlImportRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session
