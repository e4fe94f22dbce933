"""Follow-up tasks: the rep's day (/today), what comes later (/tasks), new tasks from the card,
and what the reminder buttons do (done, snooze an hour, tomorrow 9:00)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from crm.access import Visibility
from crm.clock import Clock
from crm.customer_service import FREE_TEXT_MAX, CustomerService, clean_optional
from crm.customers import Customer, Stage
from crm.dates import parse_time
from crm.errors import DomainError, InvalidInput, NotAllowed
from crm.followups import ContactMethod, NewTask, Task, TaskState
from crm.members import Member
from crm.ports import UnitOfWork

PAGE = 8
SNOOZE = timedelta(hours=1)
MORNING = time(9, 0)


@dataclass(frozen=True)
class TaskLine:
    task: Task
    customer_code: str
    customer_name: str
    overdue: bool


@dataclass(frozen=True)
class Agenda:
    overdue: list[TaskLine]
    today: list[TaskLine]
    stale: list[Customer]


@dataclass(frozen=True)
class StalePolicy:
    """Days without a follow-up after which a customer in that stage is flagged stale."""

    days: dict[Stage, int]

    def cutoffs(self, now: datetime) -> dict[Stage, datetime]:
        return {stage: now - timedelta(days=days) for stage, days in self.days.items()}


class TaskService:
    def __init__(
        self, uow: UnitOfWork, clock: Clock, customers: CustomerService, stale: StalePolicy
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._customers = customers
        self._stale = stale

    async def today(self, member: Member, zone: ZoneInfo) -> Agenda:
        now = self._clock.now()
        tomorrow = _start_of_day(now.astimezone(zone) + timedelta(days=1))
        tasks = await self._uow.tasks.open_for(member.id, tomorrow, None, limit=50, offset=0)
        lines = await self._lines(tasks, now)
        stale = await self._uow.customers.stale_customers(
            Visibility.own(member), self._stale.cutoffs(now), limit=10
        )
        return Agenda(
            overdue=[line for line in lines if line.overdue],
            today=[line for line in lines if not line.overdue],
            stale=list(stale),
        )

    async def later(self, member: Member, zone: ZoneInfo, page: int) -> tuple[list[TaskLine], bool]:
        """Tasks after today, a page at a time; the flag says whether there is a next page."""
        now = self._clock.now()
        tomorrow = _start_of_day(now.astimezone(zone) + timedelta(days=1))
        tasks = await self._uow.tasks.open_for(
            member.id, None, tomorrow, limit=PAGE + 1, offset=max(page, 0) * PAGE
        )
        return await self._lines(tasks[:PAGE], now), len(tasks) > PAGE

    async def create(
        self,
        member: Member,
        customer_id: int,
        when: str,
        zone: ZoneInfo,
        method: ContactMethod | None = None,
        talking_points: str | None = None,
    ) -> TaskLine:
        customer = await self._customers.get(member, customer_id)
        now = self._clock.now()
        parsed = parse_time(when, now.astimezone(zone))
        if parsed is None:
            raise InvalidInput("task.bad_time")
        if parsed.at <= now:
            raise InvalidInput("log.time_in_past")
        task = await self._uow.tasks.add(
            NewTask(
                customer_id=customer.id,
                assignee_id=customer.owner_id,
                created_by=member.id,
                due_at=parsed.at,
                method=method,
                talking_points=clean_optional(talking_points, FREE_TEXT_MAX),
            )
        )
        return TaskLine(task, customer.code, customer.name, overdue=False)

    async def done(self, member: Member, task_id: int) -> TaskLine:
        task = await self._task(member, task_id)
        await self._uow.tasks.set_state(task.id, TaskState.DONE, self._clock.now())
        (line,) = await self._lines([task], self._clock.now())
        return line

    async def snooze(self, member: Member, task_id: int) -> datetime:
        task = await self._task(member, task_id)
        until = self._clock.now() + SNOOZE
        await self._uow.tasks.reschedule(task.id, until, self._clock.now())
        return until

    async def tomorrow_morning(self, member: Member, task_id: int, zone: ZoneInfo) -> datetime:
        task = await self._task(member, task_id)
        local = self._clock.now().astimezone(zone) + timedelta(days=1)
        until = datetime.combine(local.date(), MORNING, tzinfo=zone)
        await self._uow.tasks.reschedule(task.id, until, self._clock.now())
        return until

    async def open_task(self, member: Member, task_id: int) -> Task:
        return await self._task(member, task_id)

    async def _task(self, member: Member, task_id: int) -> Task:
        """A task the member may act on: their own, or one of a customer they can see."""
        task = await self._uow.tasks.get(task_id)
        if task is None:
            raise DomainError("task.not_found")
        if task.assignee_id != member.id:
            try:
                await self._customers.get(member, task.customer_id)
            except DomainError:
                raise NotAllowed("task.not_found") from None
        if task.state in (TaskState.DONE, TaskState.CANCELLED):
            raise DomainError("task.already_done")
        return task

    async def _lines(self, tasks: Sequence[Task], now: datetime) -> list[TaskLine]:
        labels = await self._uow.customers.labels([task.customer_id for task in tasks])
        return [
            TaskLine(task, *labels.get(task.customer_id, ("?", "?")), overdue=task.due_at < now)
            for task in tasks
        ]


def _start_of_day(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)
