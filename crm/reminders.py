"""Reminders come from tasks: at the due time, and an overdue warning later."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from crm.followups import ContactMethod


@dataclass(frozen=True)
class DueReminder:
    task_id: int
    customer_id: int
    customer_code: str
    customer_name: str
    assignee_telegram_id: int
    assignee_language: str | None
    assignee_timezone: str | None
    due_at: datetime
    remind_at: datetime
    method: ContactMethod | None
    talking_points: str | None
