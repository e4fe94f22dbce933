"""Importing against SQLite and PostgreSQL: the dry run writes nothing; the commit adds new
customers (searchable exactly like ones created in the chat), updates by code or by phone
instead of duplicating, records stage changes, keeps the code counter ahead, and is undone
whole when the transaction is not committed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.access import Visibility
from crm.clock import FakeClock
from crm.customer_service import CustomerService
from crm.customers import NewContact, NewCustomer, Stage
from crm.errors import InvalidInput
from crm.importing import source
from crm.importing.service import Committed, ImportService, ImportSession
from crm.members import Member, NewMember, Role
from crm.texts import Text
from storage.db import session_factory
from storage.models import ContactRow, CustomerRow, OutboxRow, StageChangeRow
from storage.repositories import imports
from storage.repositories.imports import SqlImportRepository
from storage.uow import SqlUnitOfWork

ZONE = ZoneInfo("Asia/Shanghai")
CSV = (
    "客户编号,客户名称,所属行业,联系人*,职位,联系方式（脱敏）,客户来源,需求类型,合作阶段,备注\n"
    ",华信科技有限公司,制造业,张伟,采购经理,139 1234 5678,行业展会,自动化生产线,成交,续约\n"
    "CRM0002,,,,,,,,,改了备注\n"
    "CRM0500,ＹＹ集团 ,零售,李娜,总监,+86 137-0000-9012,老客户转介绍,CRM系统升级,意向,\n"
    ",新星贸易,批发,王强,,021-6555 1234,,,,\n"
    ",没有联系人,批发,,,13800000000,,,,\n"
    ",新星贸易二号,批发,赵六,,(021) 6555-1234,,,,\n"
    ",坏电话,批发,钱七,,139****5678,,,差不多,\n"
)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 25, 1, 0, tzinfo=UTC))


def unit(engine: AsyncEngine, clock: FakeClock) -> SqlUnitOfWork:
    return SqlUnitOfWork(session_factory(engine), clock)


async def commit_file(service: ImportService, data: bytes, name: str) -> Committed:
    """What ``kehu import FILE --commit`` does: the dry run, then the commit of what it saw."""
    checked = await service.check_file(data, name, ZONE)
    return await service.import_file(data, checked.session, ZONE)


async def admin_with_customer(engine: AsyncEngine, clock: FakeClock) -> Member:
    async with unit(engine, clock) as uow:
        admin = await uow.members.add(NewMember(1001, "Ada", None, Role.ADMIN, None, "zh"))
        customers = CustomerService(uow, clock, "zh")
        await customers.create(
            admin,
            NewCustomer(
                "华信科技", admin.id, NewContact("张伟", phone="13912345678"), stage=Stage.INTENT
            ),
        )
        await customers.create(
            admin, NewCustomer("远大物流", admin.id, NewContact("孙丽", phone="13600000000"))
        )
        await uow.commit()
        return admin


async def test_dry_run_counts_and_writes_nothing(engine, clock) -> None:
    await admin_with_customer(engine, clock)
    async with unit(engine, clock) as uow:
        preview = await ImportService(uow, clock).check_file(CSV.encode("gb18030"), "a.csv", ZONE)
        await uow.commit()
    counts = preview.outcome.counts
    assert (counts.rows, counts.new, counts.updated, counts.duplicate, counts.invalid) == (
        7, 2, 2, 1, 2
    )  # fmt: skip
    rejected = {row.number: row for row in preview.outcome.rejected}
    assert set(rejected) == {6, 7, 8}
    assert rejected[7].duplicate
    assert {p.text.key for p in rejected[8].problems} == {
        "import.reason.phone_masked",
        "import.reason.stage",
    }
    assert [p.field for p in rejected[6].problems] == ["contact"]
    async with unit(engine, clock) as uow:
        assert await uow.session.scalar(select(func.count()).select_from(CustomerRow)) == 2


async def test_commit_updates_instead_of_duplicating_and_is_searchable(engine, clock) -> None:
    admin = await admin_with_customer(engine, clock)
    async with unit(engine, clock) as uow:
        committed = await commit_file(ImportService(uow, clock), CSV.encode("utf-8-sig"), "a.csv")
        await uow.commit()
    assert (committed.counts.new, committed.counts.updated) == (2, 2)
    async with unit(engine, clock) as uow:
        rows = {
            row.code: row
            for row in await uow.session.scalars(select(CustomerRow).order_by(CustomerRow.id))
        }
        # the file brings CRM0500: the code given to the row without one comes after it
        assert sorted(rows) == ["CRM0001", "CRM0002", "CRM0500", "CRM0501"]
        first = rows["CRM0001"]
        assert (first.stage, first.industry, first.notes) == (Stage.DEAL, "制造业", "续约")
        assert (rows["CRM0002"].notes, rows["CRM0002"].name) == ("改了备注", "远大物流")
        assert rows["CRM0501"].name == "新星贸易"
        assert rows["CRM0500"].name == "YY集团"
        contacts = await uow.session.scalars(
            select(ContactRow.phone).where(ContactRow.customer_id == first.id)
        )
        assert list(contacts) == ["13912345678"]
        changes = (
            await uow.session.execute(
                select(StageChangeRow.from_stage, StageChangeRow.to_stage).where(
                    StageChangeRow.customer_id == first.id
                )
            )
        ).all()
        assert [tuple(change) for change in changes] == [
            (None, Stage.INTENT),
            (Stage.INTENT, Stage.DEAL),
        ]
        visibility = Visibility.of(admin)
        for query in ("YY集团", "新星", "xxmy", "1234", "李娜", "CRM0500"):
            hits = await uow.search.search(query, visibility)
            assert hits, query
        assert (await uow.search.search("9012", visibility))[0].code == "CRM0500"
        # the next customer made in the chat continues after them
        code = await uow.customers.next_code()
        assert code == "CRM0502"


async def test_search_keys_match_a_customer_created_in_the_chat(engine, clock) -> None:
    admin = await admin_with_customer(engine, clock)
    data = "客户名称,联系人,电话\n重庆长安汽车股份有限公司,单田芳,13800001111\n".encode()
    async with unit(engine, clock) as uow:
        await commit_file(ImportService(uow, clock), data, "b.csv")
        await CustomerService(uow, clock, "zh").create(
            admin,
            NewCustomer(
                "重庆长安汽车股份有限公司", admin.id, NewContact("单田芳", phone="13800001111")
            ),
        )
        rows = (
            await uow.session.execute(
                select(
                    CustomerRow.name_key,
                    CustomerRow.name_pinyin,
                    CustomerRow.name_initials,
                    CustomerRow.search_text,
                    CustomerRow.code,
                ).order_by(CustomerRow.id)
            )
        ).all()
        imported, chat = rows[2], rows[3]
        assert imported[:3] == chat[:3]
        assert imported[3].replace(imported[4].lower(), "") == chat[3].replace(chat[4].lower(), "")


async def test_without_commit_nothing_is_written(engine, clock) -> None:
    await admin_with_customer(engine, clock)
    async with unit(engine, clock) as uow:
        await commit_file(ImportService(uow, clock), CSV.encode(), "a.csv")
        assert await uow.session.scalar(select(func.count()).select_from(CustomerRow)) == 4
    async with unit(engine, clock) as uow:
        assert await uow.session.scalar(select(func.count()).select_from(CustomerRow)) == 2
        assert await uow.session.scalar(text("SELECT value FROM counters")) == 2


async def test_owner_column_and_the_search_index_stays_whole(engine, clock, backend) -> None:
    admin = await admin_with_customer(engine, clock)
    async with unit(engine, clock) as uow:
        rep = await uow.members.add(NewMember(2002, "韩梅梅", "hanmm", Role.REP, None, "zh"))
        await uow.commit()
    data = (
        "客户编号,客户名称,联系人,联系方式,负责人\n"
        "CRM0001,华信科技,张伟,13912345678,@hanmm\n"
        ",新客户甲,李雷,13500000001,韩梅梅\n"
        ",新客户乙,王五,13500000002,\n"
        ",新客户丙,赵六,13500000003,不存在的人\n"
    ).encode()
    async with unit(engine, clock) as uow:
        committed = await commit_file(ImportService(uow, clock), data, "o.csv")
        await uow.commit()
    assert (committed.counts.new, committed.counts.updated, committed.counts.invalid) == (2, 1, 1)
    async with unit(engine, clock) as uow:
        owners = dict(
            (await uow.session.execute(select(CustomerRow.name, CustomerRow.owner_id))).all()
        )
        assert owners == {
            "华信科技": rep.id,
            "远大物流": admin.id,
            "新客户甲": rep.id,
            "新客户乙": admin.id,
        }
        hits = await uow.search.search("新客户", Visibility.of(admin))
        assert {hit.name for hit in hits} == {"新客户甲", "新客户乙"}
        if backend == "sqlite":
            triggers = await uow.session.scalar(
                text("SELECT count(*) FROM sqlite_master WHERE type = 'trigger'")
            )
            assert triggers == 3
            await uow.session.execute(
                text(
                    "INSERT INTO customer_search(customer_search, rank)"
                    " VALUES ('integrity-check', 1)"
                )
            )


async def test_imported_rows_are_stored_as_the_chat_stores_them(engine, clock) -> None:
    """The bulk insert hands the driver pre-converted values: the stored text of dates, the
    stage, the JSON and the booleans is what the ORM writes for a customer made in the chat."""
    await admin_with_customer(engine, clock)  # 华信科技 (张伟 13912345678) and 远大物流
    data = "客户名称,联系人,联系方式\n新星贸易,孙丽,13600000009\n".encode()
    async with unit(engine, clock) as uow:
        committed = await commit_file(ImportService(uow, clock), data, "s.csv")
        await uow.commit()
    assert committed.counts.new == 1
    customer_sql = text(
        "SELECT stage, grade, custom_fields, created_at, updated_at, stage_changed_at,"
        " last_followup_at, parent_id FROM customers WHERE name = :name"
    )
    contact_sql = text(
        "SELECT c.is_primary, c.created_at, c.email, c.title FROM contacts c"
        " JOIN customers k ON k.id = c.customer_id WHERE k.name = :name"
    )
    change_sql = text(
        "SELECT s.from_stage, s.to_stage, s.changed_at FROM stage_changes s"
        " JOIN customers k ON k.id = s.customer_id WHERE k.name = :name"
    )
    async with unit(engine, clock) as uow:
        for sql in (customer_sql, contact_sql, change_sql):
            chat = (await uow.session.execute(sql, {"name": "远大物流"})).all()
            imported = (await uow.session.execute(sql, {"name": "新星贸易"})).all()
            assert imported == chat


async def test_bulk_writes_leave_checks_and_triggers_as_they_were(
    engine, clock, backend, monkeypatch
) -> None:
    """On SQLite the commit drops the FTS triggers and skips CHECK constraints while it writes;
    after it, successful or not, the connection checks again and the triggers are back."""
    if backend != "sqlite":
        pytest.skip("PostgreSQL writes with its constraints and indexes as they are")
    await admin_with_customer(engine, clock)
    bogus = text(
        "INSERT INTO stage_changes (customer_id, to_stage, changed_at)"
        " VALUES (1, 'bogus', '2026-01-01 00:00:00')"
    )

    async def broken(*args: object) -> None:
        raise RuntimeError("disk full")

    async with unit(engine, clock) as uow:
        await commit_file(ImportService(uow, clock), CSV.encode(), "a.csv")
        with pytest.raises(IntegrityError):
            await uow.session.execute(bogus)
    monkeypatch.setattr(SqlImportRepository, "update_customers", broken)
    async with unit(engine, clock) as uow:
        with pytest.raises(RuntimeError):
            await commit_file(ImportService(uow, clock), CSV.encode(), "a.csv")
        with pytest.raises(IntegrityError):
            await uow.session.execute(bogus)
    async with unit(engine, clock) as uow:
        triggers = await uow.session.scalar(
            text("SELECT count(*) FROM sqlite_master WHERE type = 'trigger'")
        )
        assert triggers == 3
        assert await uow.session.scalar(select(func.count()).select_from(CustomerRow)) == 2
        pending = await uow.session.scalar(
            text("SELECT v FROM customer_search_config WHERE k = 'hashsize'")
        )
        assert pending in (None, 1 << 20)  # FTS5's default again (16 MB only while importing)


async def test_a_tags_column_tags_new_and_updated_customers(engine, clock) -> None:
    admin = await admin_with_customer(engine, clock)  # 华信科技 CRM0001, 张伟 13912345678
    data = (
        "客户编号,客户名称,联系人,联系方式,标签\n"
        'CRM0001,华信科技,张伟,13912345678,"重点客户、华东,#VIP"\n'
        ",新星贸易,孙丽,13600000009,重点客户\n"
        ",太长标签公司,王五,13600000010," + "长" * 40 + "\n"
    ).encode()
    async with unit(engine, clock) as uow:
        committed = await commit_file(ImportService(uow, clock), data, "t.csv")
        await uow.commit()
    assert (committed.counts.new, committed.counts.updated, committed.counts.invalid) == (1, 1, 1)
    async with unit(engine, clock) as uow:
        rows = await uow.session.execute(
            text(
                "SELECT k.name, t.name, ct.source, ct.added_by FROM customer_tags ct"
                " JOIN tags t ON t.id = ct.tag_id JOIN customers k ON k.id = ct.customer_id"
                " ORDER BY k.name, t.name"
            )
        )
        assert [tuple(row) for row in rows.all()] == [
            ("华信科技", "VIP", "manual", None),
            ("华信科技", "华东", "manual", None),
            ("华信科技", "重点客户", "manual", None),
            ("新星贸易", "重点客户", "manual", None),
        ]
        assert await uow.session.scalar(text("SELECT count(*) FROM tags")) == 3
        hits = await uow.search.search("重点客户", Visibility.of(admin))
        assert {hit.name for hit in hits} == {"华信科技", "新星贸易"}
    again = "客户编号,客户名称,标签\nCRM0001,华信科技,VIP、新标签\n".encode()
    async with unit(engine, clock) as uow:
        await commit_file(ImportService(uow, clock), again, "t2.csv")
        await uow.commit()
    async with unit(engine, clock) as uow:
        names = await uow.session.scalars(
            text(
                "SELECT t.name FROM customer_tags ct JOIN tags t ON t.id = ct.tag_id"
                " JOIN customers k ON k.id = ct.customer_id WHERE k.code = 'CRM0001'"
                " ORDER BY t.name"
            )
        )
        assert list(names) == ["VIP", "华东", "新标签", "重点客户"]  # added, none doubled
        assert await uow.search.search("新标签", Visibility.of(admin))


async def previewed(engine: AsyncEngine, clock: FakeClock) -> Member:
    """An admin whose import dialog shows the preview of ``CSV`` (file id "file-1")."""
    admin = await admin_with_customer(engine, clock)
    async with unit(engine, clock) as uow:
        await ImportService(uow, clock).receive(admin, CSV.encode(), "a.csv", "file-1", ZONE)
        await uow.commit()
    return admin


async def pressed_import(engine: AsyncEngine, clock: FakeClock, admin: Member) -> ImportSession:
    """Import pressed on the preview, message 77: the dialog says "committing"."""
    async with unit(engine, clock) as uow:
        session = await ImportService(uow, clock).begin_commit(admin, 77)
        await uow.commit()
    return session


async def notices(
    engine: AsyncEngine, clock: FakeClock, uow: SqlUnitOfWork | None = None
) -> dict[str, dict[str, Any]]:
    """The import's outbox messages (as ``uow`` sees them, when given)."""
    if uow is None:
        async with unit(engine, clock) as uow:
            return await notices(engine, clock, uow)
    rows = await uow.session.execute(select(OutboxRow.idempotency_key, OutboxRow.payload))
    return {key: payload for key, payload in rows.all() if key.startswith("import:")}


def buttons(payload: dict[str, Any]) -> list[str]:
    return [button["data"] for row in payload["buttons"] for button in row]


async def test_import_pressed_again_while_committing_is_told_to_wait(engine, clock) -> None:
    admin = await previewed(engine, clock)
    session = await pressed_import(engine, clock, admin)
    assert (session.file_id, len(session.run)) == ("file-1", 12)
    async with unit(engine, clock) as uow:
        for attempt in (
            ImportService(uow, clock).begin_commit(admin, 78),
            ImportService(uow, clock).start(admin),  # a new /import waits for it too
        ):
            with pytest.raises(InvalidInput) as busy:
                await attempt
            assert busy.value.text.key == "import.busy"
    async with unit(engine, clock) as uow:  # the commit failed: the preview is back
        reason = Text("import.failed", {"file": "a.csv"})
        await ImportService(uow, clock).failed(admin, session, 77, reason)
        await uow.commit()
    async with unit(engine, clock) as uow:
        assert (await ImportService(uow, clock).session(admin)).file_id == "file-1"
    (key, payload), *others = (await notices(engine, clock)).items()
    assert (key, others) == (f"import:{admin.id}:{session.run}:failed", [])
    assert (payload["replaces"], payload["text"]["key"]) == (77, "import.failed")
    assert buttons(payload) == ["imp:go", "imp:x"]


async def test_the_result_replaces_the_importing_message_in_the_commits_transaction(
    engine, clock
) -> None:
    admin = await previewed(engine, clock)
    session = await pressed_import(engine, clock, admin)
    async with unit(engine, clock) as uow:
        await ImportService(uow, clock).commit(admin, CSV.encode(), ZONE)
        written = await notices(engine, clock, uow)  # in the import's own transaction
        await uow.rollback()
    assert await notices(engine, clock) == {}, "and gone with it"
    assert list(written) == [f"import:{admin.id}:{session.run}:done"]
    async with unit(engine, clock) as uow:
        await ImportService(uow, clock).commit(admin, CSV.encode(), ZONE)
        await uow.commit()
    payload = (await notices(engine, clock))[f"import:{admin.id}:{session.run}:done"]
    assert (payload["replaces"], payload["text"]["key"], buttons(payload)) == (
        77,
        "import.done",
        [],
    )
    assert payload["text"]["vars"]["new"] == 2
    async with unit(engine, clock) as uow:
        assert await uow.dialogs.get(admin.id) is None


async def test_a_commit_a_restart_cut_short_is_handed_back_once(engine, clock) -> None:
    admin = await previewed(engine, clock)
    session = await pressed_import(engine, clock, admin)
    async with unit(engine, clock) as uow:  # a process starting in the same instant
        assert await ImportService(uow, clock).recover_interrupted(clock.now()) == 0
    clock.advance(timedelta(seconds=30))  # the process died; another one starts
    for expected in (1, 0):
        async with unit(engine, clock) as uow:
            recovered = await ImportService(uow, clock).recover_interrupted(clock.now())
            await uow.commit()
        assert recovered == expected
    payload = (await notices(engine, clock))[f"import:{admin.id}:{session.run}:interrupted"]
    assert (payload["replaces"], payload["text"]["vars"]) == (77, {"file": "a.csv"})
    assert buttons(payload) == ["imp:go", "imp:x"]
    async with unit(engine, clock) as uow:
        dialog = await uow.dialogs.get(admin.id)
        assert dialog is not None
        assert (dialog.step, dialog.message_id) == ("preview", 77)
        assert await ImportService(uow, clock).begin_commit(admin, 77)  # Import works again


async def test_a_commit_running_in_another_process_is_not_taken_for_cut_short(
    engine, clock, backend
) -> None:
    if backend != "postgresql":
        pytest.skip("on SQLite a running commit holds the write lock: no one else looks")
    admin = await previewed(engine, clock)
    await pressed_import(engine, clock, admin)
    clock.advance(timedelta(minutes=5))  # a long commit
    async with unit(engine, clock) as running:
        await running.imports.lock_commit(admin.id)  # as ImportService.commit does first
        async with unit(engine, clock) as uow:
            assert await ImportService(uow, clock).recover_interrupted(clock.now()) == 0
            await uow.commit()
    async with unit(engine, clock) as uow:  # its transaction ended without committing
        assert await ImportService(uow, clock).recover_interrupted(clock.now()) == 1


async def test_the_commit_sorts_every_row_as_its_dry_run_did(engine, clock, monkeypatch) -> None:
    """The commit writes each chunk while sorting the next, against the database as it was
    before the import: a row is never matched to a customer an earlier row created, and the
    counts are the preview's."""
    monkeypatch.setattr(source, "CHUNK", 3)  # rows of one kind land in different chunks
    await admin_with_customer(engine, clock)
    data = (
        "客户编号,客户名称,联系人,联系方式\n"
        ",甲公司,张一,13911110001\n"
        ",乙公司,张二,13911110002\n"
        ",丙公司,张三,13912345678\n"  # 华信科技's phone: an update (renames it)
        "CRM0700,丁公司,张四,13911110001\n"  # 甲公司's phone, its own code: new, as previewed
        "CRM0001,华信科技改名,张伟,\n"  # the customer the row above 丙 updated: a duplicate
        ",戊公司,张五,13911110002\n"  # 乙公司's phone: a duplicate of that row
        "CRM0002,远大物流,孙丽,13600000000\n"  # code and phone of one customer: an update
    ).encode()
    async with unit(engine, clock) as uow:
        service = ImportService(uow, clock)
        checked = await service.check_file(data, "a.csv", ZONE)
        committed = await service.import_file(data, checked.session, ZONE)
        await uow.commit()
    assert committed.counts == checked.session.counts
    counts = committed.counts
    assert (counts.new, counts.updated, counts.duplicate, counts.invalid) == (3, 2, 2, 0)
    async with unit(engine, clock) as uow:
        names = set(await uow.session.scalars(select(CustomerRow.name)))
    assert names == {"丙公司", "远大物流", "甲公司", "乙公司", "丁公司"}


async def test_codes_given_across_chunks_follow_the_rows(engine, clock) -> None:
    """Codes are reserved a few at a time (here 6, for chunks of 4 rows), those left over given
    back: the chat's next customer gets the next code."""
    admin = await admin_with_customer(engine, clock)
    lines = ["客户名称,联系人,联系方式"]
    lines += [f"客户{n:02d},王芳,1380000{n:04d}" for n in range(1, 41)]
    data = "\n".join(lines).encode()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(source, "CHUNK", 4)  # ten chunks, written while the next are sorted
        patch.setattr(imports, "_CODES_AT_ONCE", 6)
        async with unit(engine, clock) as uow:
            committed = await commit_file(ImportService(uow, clock), data, "a.csv")
            await uow.commit()
    assert committed.counts.new == 40
    async with unit(engine, clock) as uow:
        rows = (
            await uow.session.execute(
                select(CustomerRow.name, CustomerRow.code, CustomerRow.id).where(
                    CustomerRow.name.like("客户%")
                )
            )
        ).all()
        next_code = await uow.customers.next_code()
        contacts = await uow.session.scalar(select(func.count()).select_from(ContactRow))
        found = await uow.search.search("客户17", Visibility.of(admin))
    by_name = sorted(rows)
    assert [code for _, code, _ in by_name] == [f"CRM{n:04d}" for n in range(3, 43)]
    assert [customer_id for _, _, customer_id in by_name] == sorted(r[2] for r in rows)
    assert next_code == "CRM0043"
    assert contacts == 42  # and the two before
    assert [hit.code for hit in found] == ["CRM0019"]


async def test_a_repeat_in_a_later_chunk_is_a_duplicate_of_the_first_row_kept(
    engine, clock
) -> None:
    """Repeats are told apart by the number of their code or phone within the file: a row
    left out does not count as the first, and a repeat many chunks later is still seen."""
    await admin_with_customer(engine, clock)
    lines = [
        "客户编号,客户名称,联系人,联系方式",
        ",甲公司,,13800000001",  # line 2: no contact, left out
        ",乙公司,王芳,13800000001",  # line 3: kept, the first with this phone
        "CRM0900,丙公司,李娜,13800000002",  # line 4: kept, the first with this code
        *[f",填充{n}公司,赵六,1370000{n:04d}" for n in range(1, 9)],  # lines 5-12
        ",丁公司,王芳,138 0000 0001",  # line 13: the phone of line 3
        "CRM0900,戊公司,李娜,13800000003",  # line 14: the code of line 4
    ]
    data = "\n".join(lines).encode()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(source, "CHUNK", 2)
        async with unit(engine, clock) as uow:
            service = ImportService(uow, clock)
            checked = await service.check_file(data, "a.csv", ZONE)
            committed = await service.import_file(data, checked.session, ZONE)
            await uow.commit()
    counts = committed.counts
    assert (counts.new, counts.updated, counts.duplicate, counts.invalid) == (10, 0, 2, 1)
    assert checked.session.counts == counts
    reasons = {row.number: row.problems[0].text for row in checked.outcome.rejected}
    assert reasons[13].vars == {"row": 3}
    assert reasons[14].vars == {"row": 4}
    async with unit(engine, clock) as uow:
        names = set(await uow.session.scalars(select(CustomerRow.name)))
    assert {"乙公司", "丙公司"} <= names
    assert not {"甲公司", "丁公司", "戊公司"} & names
