"""The use cases."""

from __future__ import annotations

from crm.clock import Clock
from crm.ports import UnitOfWork


class ExportService:
    def __init__(self, uow: UnitOfWork, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock
