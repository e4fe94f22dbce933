"""Follow-up records (跟进记录) and follow-up tasks (跟进任务), from which reminders come."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class ContactMethod(StrEnum):
    PHONE = "phone"
    VISIT = "visit"
    EMAIL = "email"
    WECHAT = "wechat"
    CHAT = "chat"
    OTHER = "other"


class TaskState(StrEnum):
    OPEN = "open"
    DONE = "done"
    SNOOZED = "snoozed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Attachment:
    kind: str  # "photo" | "document"
    telegram_file_id: str
    file_unique_id: str
    file_name: str | None = None


@dataclass(frozen=True)
class FollowUp:
    id: int
    customer_id: int
    author_id: int
    happened_at: datetime
    method: ContactMethod
    summary: str
    feedback: str | None
    demand_change: str | None
    next_step: str | None


@dataclass(frozen=True)
class Task:
    id: int
    customer_id: int
    assignee_id: int
    due_at: datetime
    method: ContactMethod | None
    talking_points: str | None
    state: TaskState
    remind_at: datetime
    reminded_at: datetime | None
    completed_at: datetime | None


@dataclass(frozen=True)
class NewFollowUp:
    customer_id: int
    author_id: int
    happened_at: datetime
    method: ContactMethod
    summary: str
    feedback: str | None = None
    demand_change: str | None = None
    next_step: str | None = None


@dataclass(frozen=True)
class NewTask:
    customer_id: int
    assignee_id: int
    created_by: int | None
    due_at: datetime
    method: ContactMethod | None = None
    talking_points: str | None = None
    follow_up_id: int | None = None
