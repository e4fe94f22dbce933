"""Who did what to which record, when."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class AuditEntry:
    action: str
    entity_type: str
    entity_id: str | None
    actor_id: int | None
    at: datetime
    details: dict[str, Any] = field(default_factory=dict, hash=False)
