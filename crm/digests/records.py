"""What digests needs from storage, and the plain records it gets back."""

from __future__ import annotations

from typing import Protocol


class DigestQueries(Protocol):
    """Implemented by ``storage.repositories.digests.SqlDigestQueries``."""
