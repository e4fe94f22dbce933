"""Responses as the domain hands them around: validity flags, and a completed response with
what analysis needs (answers, timing, flags, and the customer's segments)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from crm.surveys.form import Answer
from crm.texts import Text


class FlagKind(StrEnum):
    SPEEDER = "speeder"
    STRAIGHT_LINE = "straight_line"
    ATTENTION = "attention"
    CONTRADICTION = "contradiction"


@dataclass(frozen=True)
class Flag:
    """Why a response is not counted as valid. Flagged responses are kept, never deleted."""

    kind: FlagKind
    reason: Text

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "reason": self.reason.to_json()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Flag:
        return cls(FlagKind(data["kind"]), Text.from_json(data["reason"]))


@dataclass(frozen=True)
class CompletedResponse:
    id: int
    answers: Mapping[str, Answer]
    started_at: datetime
    completed_at: datetime
    flags: tuple[Flag, ...] = ()
    customer_id: int | None = None
    customer_code: str | None = None
    channel: str = ""
    version: int = 1
    # The customer's segments when analysed: industry, size, stage, grade, region, source.
    segments: Mapping[str, str] = field(default_factory=dict)

    @property
    def duration_seconds(self) -> float:
        return (self.completed_at - self.started_at).total_seconds()

    @property
    def valid(self) -> bool:
        return not self.flags
