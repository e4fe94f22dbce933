"""What importing needs from storage, and the plain records it gets back."""

from __future__ import annotations

from typing import Protocol


class ImportRepository(Protocol):
    """Implemented by ``storage.repositories.imports.SqlImportRepository``."""
