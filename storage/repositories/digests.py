"""SQL behind ``crm.digests``."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession


class SqlDigestQueries:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session
