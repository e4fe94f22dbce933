"""Export jobs on SQLite and PostgreSQL, through ``ExportService``: one per member, held by the
run that claims it, taken over once its claim goes stale, and gone when delivered or when its
member may no longer export."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.clock import FakeClock
from crm.customer_service import CustomerService
from crm.customers import NewContact, NewCustomer
from crm.errors import InvalidInput
from crm.exports.records import ExportJob, ExportKind
from crm.exports.service import EXPORT_LEASE, ExportService
from crm.members import Member, NewMember, Role
from storage.db import session_factory
from storage.models import ExportJobRow
from storage.uow import SqlUnitOfWork

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 25, 1, 0, tzinfo=UTC))


def unit(engine: AsyncEngine, clock: FakeClock) -> SqlUnitOfWork:
    return SqlUnitOfWork(session_factory(engine), clock)


async def admin_with_a_customer(engine: AsyncEngine, clock: FakeClock) -> Member:
    async with unit(engine, clock) as uow:
        admin = await uow.members.add(NewMember(1001, "Ada", None, Role.ADMIN, None, "zh"))
        await CustomerService(uow, clock, "zh").create(
            admin, NewCustomer("华信科技", admin.id, NewContact("张伟", phone="13912345678"))
        )
        await uow.commit()
    return admin


async def requested(engine: AsyncEngine, clock: FakeClock, admin: Member) -> ExportJob:
    async with unit(engine, clock) as uow:
        request = await ExportService(uow, clock).request(
            admin, ExportKind.CUSTOMERS, "all", SHANGHAI, "en"
        )
        await uow.commit()
    assert request.job is not None
    assert (request.plan.rows, request.job.chat_id, request.job.zone) == (1, 1001, SHANGHAI.key)
    return request.job


async def test_one_export_at_a_time_per_member(engine, clock) -> None:
    admin = await admin_with_a_customer(engine, clock)
    await requested(engine, clock, admin)
    async with unit(engine, clock) as uow:
        with pytest.raises(InvalidInput) as busy:
            await ExportService(uow, clock).request(admin, ExportKind.DEALS, "all", SHANGHAI, "en")
        assert busy.value.text.key == "export.busy"
        again = await uow.export_jobs.add(
            admin.id, 1001, ExportKind.DEALS, "all", "UTC", "en", clock.now()
        )
        assert again is None, "two processes asked at once make one job"


async def test_a_run_holds_its_job_until_its_claim_goes_stale(engine, clock) -> None:
    admin = await admin_with_a_customer(engine, clock)
    job = await requested(engine, clock, admin)

    async def claim(worker: str) -> bool:
        async with unit(engine, clock) as uow:
            taken = await ExportService(uow, clock).claim(job, worker)
            await uow.commit()
        return taken

    async def renew(worker: str) -> bool:
        async with unit(engine, clock) as uow:
            renewed = await ExportService(uow, clock).renew(job, worker)
            await uow.commit()
        return renewed

    async def abandoned() -> list[int]:
        async with unit(engine, clock) as uow:
            return [j.id for j in await ExportService(uow, clock).abandoned()]

    assert await abandoned() == []  # just asked for: its run is about to start
    assert await claim("first")
    assert not await claim("second")
    clock.advance(EXPORT_LEASE - timedelta(seconds=1))
    assert await renew("first")
    clock.advance(EXPORT_LEASE - timedelta(seconds=1))
    assert (await abandoned(), await claim("second")) == ([], False)
    clock.advance(timedelta(seconds=2))  # the first run's process stopped renewing
    assert await abandoned() == [job.id]
    assert await claim("second")
    assert not await renew("first"), "taken over: the first run stops"
    assert await renew("second")
    async with unit(engine, clock) as uow:
        await ExportService(uow, clock).delivered(job)
        await uow.commit()
    assert await count_jobs(engine, clock) == 0


async def test_a_job_never_claimed_is_abandoned_after_the_lease(engine, clock) -> None:
    """The process stopped between the update's commit and the start of the run."""
    admin = await admin_with_a_customer(engine, clock)
    job = await requested(engine, clock, admin)
    clock.advance(EXPORT_LEASE + timedelta(seconds=1))
    async with unit(engine, clock) as uow:
        service = ExportService(uow, clock)
        assert [j.id for j in await service.abandoned()] == [job.id]
        resumed = await service.resume(job)
        assert resumed is not None
        plan, zone = resumed
        assert (plan.kind, plan.rows, plan.full_phones, zone) == (
            ExportKind.CUSTOMERS,
            1,
            True,
            SHANGHAI,
        )


async def test_a_member_who_may_no_longer_export_loses_the_job(engine, clock) -> None:
    admin = await admin_with_a_customer(engine, clock)
    job = await requested(engine, clock, admin)
    async with unit(engine, clock) as uow:
        await uow.members.set_role(admin.id, Role.REP, None)
        await uow.commit()
    async with unit(engine, clock) as uow:
        assert await ExportService(uow, clock).resume(job) is None
        await uow.commit()
    assert await count_jobs(engine, clock) == 0


async def count_jobs(engine: AsyncEngine, clock: FakeClock) -> int:
    async with unit(engine, clock) as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(ExportJobRow)) or 0)
