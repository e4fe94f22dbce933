"""Turning due tasks into messages: a reminder at the due time (marked late when it goes out
late, e.g. after a restart) and an overdue warning later. Claiming the tasks and writing the
outbox rows happen in one transaction, so each reminder is sent once, even with two bots."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from crm.clock import Clock
from crm.members import resolve_language
from crm.outbox import Button, OutgoingMessage
from crm.ports import UnitOfWork
from crm.reminders import DueReminder
from crm.texts import Text


@dataclass(frozen=True)
class ReminderPolicy:
    overdue_after: timedelta = timedelta(hours=2)
    late_after: timedelta = timedelta(minutes=5)
    batch: int = 200
    default_language: str = "zh"
    default_timezone: str = "Asia/Shanghai"


class ReminderService:
    def __init__(self, uow: UnitOfWork, clock: Clock, policy: ReminderPolicy) -> None:
        self._uow = uow
        self._clock = clock
        self._policy = policy

    async def dispatch_due(self) -> int:
        """Claim one batch of due reminders and queue their messages; how many were claimed."""
        now = self._clock.now()
        claimed = await self._uow.tasks.claim_due_reminders(now, self._policy.batch)
        await self._uow.outbox.enqueue_many(
            [
                self._message(
                    reminder,
                    f"reminder:{reminder.task_id}:{reminder.remind_at.isoformat()}",
                    "reminder.due_late"
                    if now - reminder.remind_at > self._policy.late_after
                    else "reminder.due",
                )
                for reminder in claimed
            ],
            now,
        )
        return len(claimed)

    async def dispatch_overdue(self) -> int:
        now = self._clock.now()
        claimed = await self._uow.tasks.claim_overdue(
            now, now - self._policy.overdue_after, self._policy.batch
        )
        await self._uow.outbox.enqueue_many(
            [
                self._message(
                    reminder,
                    f"overdue:{reminder.task_id}:{reminder.due_at.isoformat()}",
                    "reminder.overdue",
                )
                for reminder in claimed
            ],
            now,
        )
        return len(claimed)

    def _message(self, reminder: DueReminder, key: str, text_key: str) -> OutgoingMessage:
        language = resolve_language(reminder.assignee_language, None, self._policy.default_language)
        zone = ZoneInfo(reminder.assignee_timezone or self._policy.default_timezone)
        return OutgoingMessage(
            key=key,
            chat_id=reminder.assignee_telegram_id,
            language=language,
            text=Text(
                text_key,
                {
                    "name": reminder.customer_name,
                    "code": reminder.customer_code,
                    "due": _local(reminder.due_at, zone),
                    "method": Text(
                        f"methods.{reminder.method}" if reminder.method else "methods.any"
                    ),
                    "points": reminder.talking_points or "—",
                },
            ),
            buttons=reminder_buttons(reminder.task_id),
        )


def reminder_buttons(task_id: int) -> tuple[tuple[Button, ...], ...]:
    return (
        (
            Button(Text("reminder.button_done"), data=f"task:done:{task_id}"),
            Button(Text("reminder.button_snooze"), data=f"task:snooze:{task_id}"),
        ),
        (
            Button(Text("reminder.button_tomorrow"), data=f"task:tomorrow:{task_id}"),
            Button(Text("reminder.button_log"), data=f"task:log:{task_id}"),
        ),
    )


def _local(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%m-%d %H:%M")
