"""What reports needs from storage, and the plain records it gets back."""

from __future__ import annotations

from typing import Protocol


class ReportQueries(Protocol):
    """Implemented by ``storage.repositories.reports.SqlReportQueries``."""
