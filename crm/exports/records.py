"""What exports needs from storage, and the plain records it gets back."""

from __future__ import annotations

from typing import Protocol


class ExportQueries(Protocol):
    """Implemented by ``storage.repositories.exports.SqlExportQueries``."""
