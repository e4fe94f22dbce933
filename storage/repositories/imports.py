"""SQL behind ``crm.importing``: look-ups by code and phone in batches (while writing, on a
connection of their own that does not see the import's own writes), and bulk writes:
one executemany (COPY on PostgreSQL) per table and chunk, the values converted here once per
distinct value, the new customers' ids taken before they are inserted; bulk UPDATE by primary
key. A chunk's rows are built while the chunk before is written. Search keys are computed
exactly as for customers created in the chat (``crm.text``); on SQLite the FTS index is filled
in bulk with its triggers suspended inside the transaction."""

from __future__ import annotations

import asyncio
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar, TypeVarTuple, cast, overload

from sqlalchemy import Result, Select, Table, TextClause, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from crm.customers import Stage, TagSource, code_number, customer_code
from crm.importing.records import (
    ContactPatch,
    CustomerUpdate,
    Existing,
    ImportedCustomer,
)
from crm.text import (
    name_keys,
    normalize_text,
    phone_tail_key,
    search_document,
    with_code,
)
from storage.models import (
    ContactRow,
    CounterRow,
    CustomerRow,
    CustomerTagRow,
    StageChangeRow,
    TagRow,
)
from storage.repositories.customers import CODE_COUNTER

BATCH = 900  # bound parameters per IN (...)
T = TypeVar("T")
W = TypeVar("W")  # rows built for a write
Row = TypeVarTuple("Row")
# Core tables: executemany, without the ORM's per-row work
_CUSTOMERS = cast(Table, CustomerRow.__table__)
_INSERT_TRIGGER = "customer_search_after_insert"  # migration 0003
_UPDATE_TRIGGER = "customer_search_after_update"
_CONTACTS = cast(Table, ContactRow.__table__)
_STAGE_CHANGES = cast(Table, StageChangeRow.__table__)
_COUNTERS = cast(Table, CounterRow.__table__)
_TAGS = cast(Table, TagRow.__table__)
_CUSTOMER_TAGS = cast(Table, CustomerTagRow.__table__)


# FTS5's ``hashsize``: bytes of new index entries held in memory before they are written out
# as a new segment (which later merges cost). FTS5's default, 1 MB, suits the chat's one
# customer per transaction; an import's 100,000 documents index ~1.5× faster with 16 MB.
# (A setting stored with the index: set back when the import ends, rolled back if it fails.)
_FTS_PENDING = 1 << 20
_FTS_BULK_PENDING = 16 << 20


def _fts_pending_bytes(size: int) -> TextClause:
    return text(
        "INSERT INTO customer_search(customer_search, rank) VALUES ('hashsize', :size)"
    ).bindparams(size=size)


# PostgreSQL advisory locks of import commits: (this namespace, the member's id)
_COMMIT_LOCKS = int.from_bytes(b"kehu", "big") >> 1

_CODES_AT_ONCE = 10_000  # codes reserved at a time by a commit; those left are given back

_MEMO_LIMIT = 4_096  # distinct values remembered per column (dates, stages, the same now)


def _batches(items: Sequence[T], size: int = BATCH) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class SqlImportRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._analyzed = False
        self._suspended: dict[str, str] = {}  # SQLite triggers dropped for a bulk write: SQL
        self._snapshot: AsyncConnection | None = None  # look-ups while the import writes
        self._snapshot_in_use = asyncio.Lock()
        self._last_write: asyncio.Future[None] | None = None
        self._next_id: int | None = None  # SQLite, while bulk writing: the next customer's id
        self._spare_codes: deque[str] = deque()  # reserved while bulk writing, not yet given
        self._counter_at = 0  # the code counter after the last reservation

    async def lock_commit(self, member_id: int) -> None:
        """On PostgreSQL an advisory lock, held until the transaction ends. On SQLite the
        transaction (``BEGIN IMMEDIATE``) already holds the database's one write lock, so no
        other transaction runs meanwhile."""
        if self._session.get_bind().dialect.name == "postgresql":
            await self._session.execute(
                text("SELECT pg_advisory_xact_lock(:space, :member)"),
                {"space": _COMMIT_LOCKS, "member": member_id},
            )

    async def try_lock_commit(self, member_id: int) -> bool:
        if self._session.get_bind().dialect.name != "postgresql":
            return True
        taken = await self._session.scalar(
            text("SELECT pg_try_advisory_xact_lock(:space, :member)"),
            {"space": _COMMIT_LOCKS, "member": member_id},
        )
        return bool(taken)

    async def begin_bulk_writes(self) -> None:
        """For the rest of the import: look-ups go through a connection of their own, outside
        the import's transaction, and see what is committed, not the import's own writes. So they
        need not wait for the writes before them (the import sorts a chunk while the one before
        is written), and they find what the dry run found: no row of the file is matched to a
        customer an earlier row created (those rows are told apart in memory, by code and
        phone). On SQLite, see also ``_suspend_triggers``."""
        engine = self._session.bind
        if isinstance(engine, AsyncEngine):
            snapshot = await engine.connect()
            self._snapshot = await snapshot.execution_options(isolation_level="AUTOCOMMIT")
        self._next_id = None
        self._spare_codes.clear()
        await self._suspend_triggers()

    async def _suspend_triggers(self) -> None:
        """On SQLite, for the rest of the transaction (until ``end_bulk_writes``): drop the
        triggers that keep the FTS index in step row by row (the writes below index in bulk,
        5-7× faster), and skip CHECK constraints (SQLite spends ~5 µs a row on each
        ``stage IN (...)``; every value written here comes through the column's Enum type,
        which accepts only the enum's own). Inside the import's transaction (``BEGIN
        IMMEDIATE``): a failure rolls the DROP back with everything else, and no other writer
        can slip in. Done once per import: each DROP or CREATE makes SQLite re-read the whole
        schema at the next statement (~30 ms). The FTS index also keeps more pending entries
        in memory before it writes them out (``_FTS_BULK_PENDING``). Nothing to do on
        PostgreSQL."""
        if self._session.get_bind().dialect.name != "sqlite" or self._suspended:
            return
        await self._session.execute(_fts_pending_bytes(_FTS_BULK_PENDING))
        for name in (_INSERT_TRIGGER, _UPDATE_TRIGGER):
            sql = await self._session.scalar(
                text("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = :name"),
                {"name": name},
            )
            if sql is not None:
                await self._session.execute(text(f"DROP TRIGGER {name}"))
                self._suspended[name] = str(sql)
        await self._session.execute(text("PRAGMA ignore_check_constraints = ON"))

    async def end_bulk_writes(self) -> None:
        self._next_id = None
        if self._snapshot is not None:
            await self._snapshot.close()
            self._snapshot = None
        await self._give_back_spare_codes()
        if self._session.get_bind().dialect.name != "sqlite":
            return
        await self._session.execute(text("PRAGMA ignore_check_constraints = OFF"))
        await self._session.execute(_fts_pending_bytes(_FTS_PENDING))
        for sql in self._suspended.values():
            await self._session.execute(text(sql))
        self._suspended = {}

    async def by_codes(self, codes: Collection[str]) -> dict[str, Existing]:
        found: dict[str, Existing] = {}
        for batch in _batches(sorted(codes)):
            rows = await self._look_up(
                select(CustomerRow.id, CustomerRow.code, CustomerRow.stage).where(
                    CustomerRow.code.in_(batch)
                )
            )
            for customer_id, code, stage in rows.all():
                found[code] = Existing(customer_id, code, Stage(stage))
        return found

    async def by_phones(self, phones: Collection[str]) -> dict[str, list[Existing]]:
        found: dict[str, dict[int, Existing]] = defaultdict(dict)
        wanted = set(phones)
        # through the indexed reversed digits (``phone`` itself has no index), then exactly;
        # two plain look-ups by index rather than a join: on PostgreSQL the join got ~3× slower
        # as the commit's own inserts grew the tables (likely plans from stale statistics)
        for batch in _batches(sorted({phone_tail_key(phone) for phone in wanted})):
            rows = await self._look_up(
                select(ContactRow.phone, ContactRow.customer_id).where(
                    ContactRow.phone_reversed.in_(batch)
                )
            )
            pairs = [(phone, owner) for phone, owner in rows.all() if phone in wanted]
            customers: dict[int, Existing] = {}
            for ids in _batches(sorted({owner for _, owner in pairs})):
                owners = await self._look_up(
                    select(CustomerRow.id, CustomerRow.code, CustomerRow.stage).where(
                        CustomerRow.id.in_(ids)
                    )
                )
                for customer_id, code, stage in owners.all():
                    customers[customer_id] = Existing(customer_id, code, Stage(stage))
            for phone, owner in sorted(pairs, key=lambda pair: pair[1]):  # by customer id
                if owner in customers:
                    found[phone][owner] = customers[owner]
        return {phone: list(customers.values()) for phone, customers in found.items()}

    async def reserve_codes(self, count: int, avoid: Collection[str]) -> list[str]:
        await self._fresh_statistics()
        codes: list[str] = []
        while len(codes) < count:
            need = count - len(codes)
            # the row stays locked by this transaction between the two statements; not one
            # UPDATE ... RETURNING: within a big transaction SQLite took up to 30 ms for it
            counter = _COUNTERS.c.name == CODE_COUNTER
            await self._session.execute(
                update(_COUNTERS).where(counter).values(value=_COUNTERS.c.value + need)
            )
            last = await self._session.scalar(select(_COUNTERS.c.value).where(counter))
            if last is None:
                raise LookupError("the customer code counter is missing (run the migrations)")
            self._counter_at = last
            candidates = [customer_code(number) for number in range(last - need + 1, last + 1)]
            taken: set[str] = set()
            wanted = set(candidates)
            # the candidates of one width are one range of the code index (a range, not an
            # IN list of thousands); what else falls in it is dropped by ``wanted``
            for width in sorted({len(code) for code in candidates}):
                same = [code for code in candidates if len(code) == width]
                found = await self._session.scalars(
                    select(CustomerRow.code).where(
                        CustomerRow.code >= same[0], CustomerRow.code <= same[-1]
                    )
                )
                taken.update(code for code in found if code in wanted)
            codes += [code for code in candidates if code not in taken and code not in avoid]
        return codes

    async def _fresh_codes(self, count: int, avoid: Collection[str]) -> list[str]:
        """``count`` codes for new customers, taken from codes reserved ``_CODES_AT_ONCE`` at a
        time (three statements per reservation, which the write of each chunk waited for)."""
        codes: list[str] = []
        while len(codes) < count:
            if not self._spare_codes:
                wanted = max(count - len(codes), _CODES_AT_ONCE)
                self._spare_codes.extend(await self.reserve_codes(wanted, ()))
            code = self._spare_codes.popleft()
            if code not in avoid:
                codes.append(code)
        return codes

    async def _give_back_spare_codes(self) -> None:
        """The counter moved back to just before the first code reserved and not given: no
        other writer has moved it meanwhile (the import's transaction holds its row)."""
        if not self._spare_codes:
            return
        first = code_number(self._spare_codes[0])
        self._spare_codes.clear()
        if first is None:
            return
        await self._session.execute(
            update(_COUNTERS)
            .where(_COUNTERS.c.name == CODE_COUNTER, _COUNTERS.c.value == self._counter_at)
            .values(value=first - 1)
        )

    async def keep_counter_at_least(self, number: int) -> None:
        await self._session.execute(
            update(CounterRow)
            .where(CounterRow.name == CODE_COUNTER, CounterRow.value < number)
            .values(value=number)
        )

    async def add_customers(
        self, customers: Sequence[ImportedCustomer], actor_id: int | None, at: datetime
    ) -> None:
        """The rows are built at once; they are written (codes given, ids taken) after the
        writes asked for before, in that order."""
        if not customers:
            return

        async def prepare() -> _NewRows:
            return self._new_rows(customers, actor_id, at)

        await self._in_turn(prepare, self._write_new)

    def _new_rows(
        self, customers: Sequence[ImportedCustomer], actor_id: int | None, at: datetime
    ) -> _NewRows:
        """The new customers, their contacts and first stage changes, column by column; a
        customer's id and code, and its contact's and stage change's customer, are set when
        written."""
        count = len(customers)
        fields = [customer.fields for customer in customers]
        stages = [customer.stage for customer in customers]
        phones = [customer.phone for customer in customers]
        customer_rows = self._bound(
            _CUSTOMERS,
            count,
            {
                "code": [customer.code for customer in customers],
                "name": [customer.name for customer in customers],
                "name_key": [customer.search.key for customer in customers],
                "name_pinyin": [customer.search.pinyin for customer in customers],
                "name_initials": [customer.search.initials for customer in customers],
                "search_text": [customer.search.document for customer in customers],
                **{name: [given.get(name) for given in fields] for name in _GIVEN_FIELDS},
                "stage": stages,
                "grade": [c.grade.value if c.grade else None for c in customers],
                "owner_id": [customer.owner_id for customer in customers],
                "created_at": [customer.created_at or at for customer in customers],
                "last_followup_at": [customer.last_followup_at for customer in customers],
            },
            {
                "id": 0,  # set when written, as are the code (when None) and the search text
                "parent_id": None,
                "created_by": actor_id,
                "custom_fields": {},
                "updated_at": at,
                "stage_changed_at": at,
            },
        )
        contacts = self._bound(
            _CONTACTS,
            count,
            {
                "name": [customer.contact for customer in customers],
                "title": [customer.title for customer in customers],
                "phone": phones,
                "phone_reversed": [phone_tail_key(p) if p else None for p in phones],
                "email": [customer.email for customer in customers],
            },
            {"customer_id": 0, "is_primary": True, "created_at": at},
        )
        changes = self._bound(
            _STAGE_CHANGES,
            count,
            {"to_stage": stages},
            {"customer_id": 0, "from_stage": None, "changed_by": actor_id, "changed_at": at},
        )
        tagged = [(index, c.tags) for index, c in enumerate(customers) if c.tags]
        return _NewRows(customer_rows, contacts, changes, tagged, actor_id, at)

    async def _write_new(self, new: _NewRows) -> None:
        """Codes and ids given, then the inserts."""
        await self._fresh_statistics()
        count = new.customers.count
        given = new.customers.column("code")
        brought = {code for code in given if code is not None}
        fresh = iter(await self._fresh_codes(count - len(brought), brought))
        codes = [code if code is not None else next(fresh) for code in given]
        ids = await self._next_ids(count)
        documents = list(map(with_code, new.customers.column("search_text"), codes))
        new.customers.set("id", ids)
        new.customers.set("code", codes)
        new.customers.set("search_text", documents)
        for bound in (new.contacts, new.changes):
            bound.set("customer_id", ids)
        search: list[_Rows] = []
        if _INSERT_TRIGGER in self._suspended:  # index the new documents in one go
            search.append(_Rows("customer_search", {"rowid": ids, "search_text": documents}))
        await self._execute([new.customers, new.contacts, new.changes], search)
        tagged = [(ids[index], tags) for index, tags in new.tagged]
        await self._add_tags(tagged, new.actor_id, new.at)

    async def _next_ids(self, count: int) -> list[int]:
        """Ids for ``count`` new customers, taken before they are inserted (so that their
        contacts and index entries are built without reading them back)."""
        if self._session.get_bind().dialect.name == "postgresql":
            taken = await self._session.scalars(
                text(
                    "SELECT nextval(pg_get_serial_sequence('customers', 'id'))"
                    " FROM generate_series(1, :count)"
                ),
                {"count": count},
            )
            return sorted(taken)
        # SQLite: the transaction holds the write lock, so no one else inserts meanwhile, and
        # the import's own inserts are counted here
        if self._next_id is None:
            last = await self._session.scalar(select(func.coalesce(func.max(CustomerRow.id), 0)))
            self._next_id = int(last or 0) + 1
        first, self._next_id = self._next_id, self._next_id + count
        return list(range(first, first + count))

    async def update_customers(
        self, updates: Sequence[CustomerUpdate], actor_id: int | None, at: datetime
    ) -> None:
        """What the customers have is read outside the import's transaction (each existing
        customer is updated once per import, so it is still what the transaction holds); the
        writes wait their turn, as in ``add_customers``."""
        if not updates:
            return

        async def prepare() -> _Updates:
            ids = [u.customer_id for u in updates]
            current = await self._current(ids)
            contacts = await self._contacts(ids)
            tags = await self._tags(ids)
            return _update_rows(updates, current, contacts, tags, actor_id, at)

        await self._in_turn(prepare, self._write_updates)

    async def _write_updates(self, rows: _Updates) -> None:
        if self._session.get_bind().dialect.name == "postgresql":
            await self._update_postgresql(_CUSTOMERS, rows.customers)
            await self._update_postgresql(_CONTACTS, rows.contact_updates)
        else:
            writes = self._updated(_CUSTOMERS, rows.customers)
            if _UPDATE_TRIGGER in self._suspended:  # re-index the changed documents in one go
                ids = [row["id"] for row in rows.customers]
                old = [rows.old_documents[customer_id] for customer_id in ids]
                new = [row["search_text"] for row in rows.customers]
                delete = {"customer_search": "delete"}
                writes.append(_Rows("customer_search", {"rowid": ids, "search_text": old}, delete))
                writes.append(_Rows("customer_search", {"rowid": ids, "search_text": new}))
            writes += self._updated(_CONTACTS, rows.contact_updates)
            await self._execute([], writes)
        await self._insert(_CONTACTS, rows.contact_inserts)
        await self._insert(_STAGE_CHANGES, rows.changes)
        await self._add_tags(rows.tagged, rows.actor_id, rows.at)

    async def _update_postgresql(self, table: Table, rows: list[dict[str, Any]]) -> None:
        """One UPDATE per set of columns, its rows given as one array a column (``unnest``),
        rather than one statement a row."""
        connection = await self._session.connection()
        raw = (await connection.get_raw_connection()).driver_connection
        assert raw is not None, "the connection is open: this session just used it"
        for write in self._updated(table, rows):
            names = list(write.columns)
            arrays = ", ".join(
                f"${index}::{table.c[name].type.compile(dialect=connection.dialect)}[]"
                for index, name in enumerate(names, 1)
            )
            changes = ", ".join(
                f"{_quoted(name)} = given.{_quoted(name)}" for name in names if name != "id"
            )
            target = _quoted(table.name)
            await raw.execute(
                f"UPDATE {target} SET {changes} FROM unnest({arrays})"
                f" AS given({', '.join(map(_quoted, names))}) WHERE {target}.id = given.id",
                *write.columns.values(),
            )

    def _updated(self, table: Table, rows: list[dict[str, Any]]) -> list[_Rows]:
        """UPDATEs by primary key (``id``), one per set of columns, the values converted as
        ``_bound`` converts them."""
        dialect = self._session.get_bind().dialect
        writes: list[_Rows] = []
        for group in _same_keys(rows):
            columns: dict[str, Sequence[Any]] = {}
            for name in group[0]:
                convert = _memoized(table.c[name].type.dialect_impl(dialect), dialect)
                values = [row[name] for row in group]
                columns[name] = values if convert is None else list(map(convert, values))
            writes.append(_Rows(table.name, columns, key="id"))
        return writes

    async def _add_tags(
        self, tagged: Sequence[tuple[int, Sequence[str]]], actor_id: int | None, at: datetime
    ) -> None:
        """The file's tags on their customers, as if a member had typed them (a tag new to
        the team is made, outside the catalogue)."""
        if not tagged:
            return
        ids = await self._tag_ids({name for _, names in tagged for name in names}, at)
        rows = [
            {
                "customer_id": customer_id,
                "tag_id": ids[name],
                "source": TagSource.MANUAL,
                "automatic": False,
                "added_by": actor_id,
                "added_at": at,
                "source_ref": None,
            }
            for customer_id, names in tagged
            for name in names
        ]
        await self._insert(_CUSTOMER_TAGS, rows)

    async def _tag_ids(self, names: Collection[str], at: datetime) -> dict[str, int]:
        found = await self._existing_tags(sorted(names))
        missing = sorted(name for name in names if name not in found)
        if missing:
            new = [
                {"name": n, "weight": 0, "in_catalogue": False, "created_at": at} for n in missing
            ]
            await self._insert(_TAGS, new)
            found |= await self._existing_tags(missing)
        return found

    async def _existing_tags(self, names: Sequence[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for batch in _batches(names):
            rows = await self._session.execute(
                select(TagRow.name, TagRow.id).where(TagRow.name.in_(batch))
            )
            found.update((name, tag_id) for name, tag_id in rows.all())
        return found

    async def _insert(self, table: Table, rows: Sequence[dict[str, Any]]) -> None:
        if not rows:
            return
        bound = self._bound(table, len(rows), {key: [row[key] for row in rows] for key in rows[0]})
        if bound is None:  # a column's default to fill: the usual way
            await self._session.execute(insert(table), list(rows))
        else:
            await self._execute([bound])

    @overload
    def _bound(
        self, table: Table, count: int, columns: dict[str, list[Any]], same: dict[str, Any]
    ) -> _Bound: ...

    @overload
    def _bound(self, table: Table, count: int, columns: dict[str, list[Any]]) -> _Bound | None: ...

    def _bound(
        self,
        table: Table,
        count: int,
        columns: dict[str, list[Any]],
        same: dict[str, Any] | None = None,
    ) -> _Bound | None:
        """``insert(table)`` of ``count`` rows, given column by column (``same``: one value
        for every row), as the driver takes them: the columns' bind processors (dates, enums,
        JSON) applied here, once per distinct value (most rows share ``at``, a stage, a
        handful of dates). None when a column is missing. Done apart from the executing, so
        that a chunk is bound while the one before is written. Same statement, same values.
        With ``same``, every column must be given."""
        dialect = self._session.get_bind().dialect
        same = same or {}
        keys = [*columns, *same]
        compiled = insert(table).compile(dialect=dialect, column_keys=keys)
        order = compiled.positiontup
        if order is None or sorted(order) != sorted(keys):
            if same:
                raise ValueError(f"every column of {table.name} must be given")
            return None
        values: list[Sequence[Any]] = []
        settable: set[str] = set()
        for key in order:
            convert = _memoized(table.c[key].type.dialect_impl(dialect), dialect)
            if convert is None:
                settable.add(key)
            if key in same:
                value = same[key] if convert is None else convert(same[key])
                values.append([value] * count)
            else:
                values.append(columns[key] if convert is None else list(map(convert, columns[key])))
        return _Bound(table, tuple(order), values, count, frozenset(settable), set(same))

    async def _execute(self, inserts: Sequence[_Bound], then: Sequence[_Rows] = ()) -> None:
        """The inserts in order, then (SQLite only) the writes of ``then``."""
        connection = await self._session.connection()
        raw = (await connection.get_raw_connection()).driver_connection
        assert raw is not None, "the connection is open: this session just used it"
        if connection.dialect.name != "postgresql":
            # one call to aiosqlite's thread per statement (SQLAlchemy's cursor makes three)
            for rows in [*(bound.as_rows() for bound in inserts if bound.count), *then]:
                await (await raw.executemany(*_statement(rows))).close()
            return
        assert not then, "SQLite's own writes"
        if not raw.is_in_transaction():  # the adapter BEGINs lazily, at the first statement
            await connection.exec_driver_sql("SELECT 1")
        for bound in inserts:
            if bound.count:
                # binary COPY on the session's own asyncpg connection, inside its transaction:
                # the same rows and values (same codecs), without executemany's Bind/Execute
                await raw.copy_records_to_table(
                    bound.table.name,
                    records=bound.rows(),
                    columns=list(bound.columns),
                    schema_name=bound.table.schema,
                )

    async def _look_up(self, statement: Select[*Row]) -> Result[*Row]:
        if self._snapshot is not None:
            async with self._snapshot_in_use:  # one statement at a time on a connection
                return await self._snapshot.execute(statement)
        await self._fresh_statistics()
        return await self._session.execute(statement)

    async def _in_turn(
        self, prepare: Callable[[], Awaitable[W]], write: Callable[[W], Awaitable[None]]
    ) -> None:
        """``prepare`` (which must not use the import's transaction) runs at once; ``write``
        once every write asked for before this one has ended, so writes go one at a time, in
        the order asked, while the next chunk's rows are being built."""
        before, mine = self._last_write, asyncio.get_running_loop().create_future()
        self._last_write = mine
        try:
            prepared = await prepare()
            if before is not None:
                await asyncio.wait([before])
            await write(prepared)
        finally:
            if before is not None and not before.done():  # failed before its turn came
                await asyncio.wait([before])
            mine.set_result(None)

    async def _fresh_statistics(self) -> None:
        """PostgreSQL: ANALYZE the looked-up tables once per transaction. Planned from stale
        statistics (autovacuum not yet past a table that was near empty) the IN look-ups by
        code and phone went to sequential scans: 27 s of a 20k commit, 29 s of a 100k one.
        Takes SHARE UPDATE EXCLUSIVE until the end: concurrent readers and writers go on
        (only VACUUM, ANALYZE and DDL on these tables wait)."""
        if self._analyzed or self._session.get_bind().dialect.name != "postgresql":
            return
        self._analyzed = True
        await self._session.execute(text("ANALYZE customers, contacts"))

    async def _current(self, ids: Sequence[int]) -> dict[int, tuple[str, str, str]]:
        """Name, code and search text by customer id."""
        found: dict[int, tuple[str, str, str]] = {}
        for batch in _batches(ids):
            rows = await self._look_up(
                select(
                    CustomerRow.id, CustomerRow.name, CustomerRow.code, CustomerRow.search_text
                ).where(CustomerRow.id.in_(batch))
            )
            for customer_id, name, code, search_text in rows.all():
                found[customer_id] = (name, code, search_text)
        return found

    async def _contacts(self, ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
        found: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for batch in _batches(ids):
            rows = await self._look_up(
                select(
                    ContactRow.id,
                    ContactRow.customer_id,
                    ContactRow.name,
                    ContactRow.title,
                    ContactRow.phone,
                    ContactRow.email,
                    ContactRow.is_primary,
                )
                .where(ContactRow.customer_id.in_(batch))
                .order_by(ContactRow.is_primary.desc(), ContactRow.id)
            )
            for contact_id, customer_id, name, title, phone, email, primary in rows.all():
                found[customer_id].append(
                    {
                        "id": contact_id,
                        "name": name,
                        "title": title,
                        "phone": phone,
                        "email": email,
                        "is_primary": primary,
                    }
                )
        return found

    async def _tags(self, ids: Sequence[int]) -> dict[int, list[str]]:
        found: dict[int, list[str]] = defaultdict(list)
        for batch in _batches(ids):
            rows = await self._look_up(
                select(CustomerTagRow.customer_id, TagRow.name)
                .join(TagRow, TagRow.id == CustomerTagRow.tag_id)
                .where(CustomerTagRow.customer_id.in_(batch))
            )
            for customer_id, name in rows.all():
                found[customer_id].append(name)
        return found


@dataclass
class _Bound:
    """An INSERT's columns and values as the driver takes them, column by column in
    the statement's order. A column the driver takes as it is may be set later (``set``),
    until the rows are made."""

    table: Table
    columns: tuple[str, ...]
    values: list[Sequence[Any]]
    count: int
    settable: frozenset[str]
    constant: set[str]  # columns with one value for every row

    def column(self, name: str) -> Sequence[Any]:
        return self.values[self.columns.index(name)]

    def set(self, name: str, values: Sequence[Any]) -> None:
        if name not in self.settable or len(values) != self.count:
            raise ValueError(f"{name}: not a column to set, or not {self.count} values")
        self.values[self.columns.index(name)] = values
        self.constant.discard(name)

    def rows(self) -> list[tuple[Any, ...]]:
        return list(zip(*self.values, strict=True))

    def as_rows(self) -> _Rows:
        given = zip(self.columns, self.values, strict=True)
        return _Rows(
            self.table.name,
            {name: values for name, values in given if name not in self.constant},
            {name: self.column(name)[0] for name in self.columns if name in self.constant},
        )


@dataclass(frozen=True)
class _Rows:
    """Rows for an INSERT into a table, as the driver takes them, column by column;
    ``constant``: one value for every row. With ``key`` (one of the columns), an UPDATE of the
    rows with those values of ``key`` instead."""

    table: str
    columns: dict[str, Sequence[Any]]
    constant: dict[str, Any] = field(default_factory=dict)
    key: str | None = None


def _statement(rows: _Rows) -> tuple[str, list[tuple[Any, ...]]]:
    """The statement for executemany, and its rows."""
    table = _quoted(rows.table)
    if rows.key is None:
        names = [*rows.columns, *rows.constant]
        listed = zip(*rows.columns.values(), strict=True)
        marks = ", ".join("?" * len(names))
        sql = f"INSERT INTO {table} ({', '.join(map(_quoted, names))}) VALUES ({marks})"
        return sql, [(*row, *rows.constant.values()) for row in listed]
    changed = [name for name in rows.columns if name != rows.key]
    changes = ", ".join(f"{_quoted(name)} = ?" for name in (*changed, *rows.constant))
    sql = f"UPDATE {table} SET {changes} WHERE {_quoted(rows.key)} = ?"
    constant = tuple(rows.constant.values())
    keyed = zip(*(rows.columns[name] for name in (*changed, rows.key)), strict=True)
    return sql, [(*row[:-1], *constant, row[-1]) for row in keyed]


_GIVEN_FIELDS = ("industry", "size", "source", "demand_type", "region", "route", "notes")


@dataclass(frozen=True)
class _NewRows:
    """New customers' rows, bound before they have ids (and some, codes)."""

    customers: _Bound
    contacts: _Bound
    changes: _Bound
    tagged: list[tuple[int, tuple[str, ...]]]  # by index in ``customers``
    actor_id: int | None
    at: datetime


@dataclass
class _Updates:
    customers: list[dict[str, Any]]
    old_documents: dict[int, str]  # what the search index holds now, by customer id
    contact_updates: list[dict[str, Any]]
    contact_inserts: list[dict[str, Any]]
    changes: list[dict[str, Any]]
    tagged: list[tuple[int, list[str]]]
    actor_id: int | None
    at: datetime


def _update_rows(
    updates: Sequence[CustomerUpdate],
    current: dict[int, tuple[str, str, str]],
    contacts: dict[int, list[dict[str, Any]]],
    tags: dict[int, list[str]],
    actor_id: int | None,
    at: datetime,
) -> _Updates:
    customer_rows: list[dict[str, Any]] = []
    contact_updates: list[dict[str, Any]] = []
    contact_inserts: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    tagged: list[tuple[int, list[str]]] = []
    for change in updates:
        name, code, _ = current[change.customer_id]
        values: dict[str, Any] = {"id": change.customer_id, "updated_at": at}
        values.update(change.values)
        new_name = change.values.get("name")
        if isinstance(new_name, str) and new_name != name:
            keys = name_keys(new_name)
            values |= {
                "name_key": keys.key,
                "name_pinyin": keys.pinyin,
                "name_initials": keys.initials,
            }
            name = new_name
        if change.to_stage is not None:
            values |= {"stage": change.to_stage, "stage_changed_at": at}
            changes.append(
                _stage_change(change.customer_id, change.from_stage, change.to_stage, actor_id, at)
            )
        people = contacts.get(change.customer_id, [])
        if change.contact is not None:
            _merge_contact(
                change.customer_id,
                name,
                change.contact,
                people,
                contact_updates,
                contact_inserts,
                at,
            )
        had = tags.get(change.customer_id, [])
        added = [tag for tag in change.tags if tag not in had]
        if added:
            tagged.append((change.customer_id, added))
        values["search_text"] = search_document(
            name, code, [(p["name"], p["phone"]) for p in people], [*had, *added]
        )
        customer_rows.append(values)
    old_documents = {customer_id: document for customer_id, (_, _, document) in current.items()}
    return _Updates(
        customer_rows,
        old_documents,
        contact_updates,
        contact_inserts,
        changes,
        tagged,
        actor_id,
        at,
    )


def _merge_contact(
    customer_id: int,
    customer_name: str,
    patch: ContactPatch,
    people: list[dict[str, Any]],
    updates: list[dict[str, Any]],
    inserts: list[dict[str, Any]],
    at: datetime,
) -> None:
    """The row's contact: the one with the same phone, else the same name, else (for a row
    without a contact name) the primary one gets the new details; otherwise a new contact.
    ``people`` is changed in place so that the search text sees the result."""
    target = None
    if patch.phone:
        target = next((p for p in people if p["phone"] == patch.phone), None)
    if target is None and patch.name:
        key = normalize_text(patch.name)
        target = next((p for p in people if normalize_text(p["name"]) == key), None)
    if target is None and not patch.name and people:
        target = people[0]
    if target is None:
        person = _contact_row(
            customer_id,
            patch.name or customer_name[:100],
            patch.title,
            patch.phone,
            patch.email,
            not people,
            at,
        )
        inserts.append(person)
        people.append(person)
        return
    changed: dict[str, Any] = {}
    for key, value in (
        ("name", patch.name),
        ("title", patch.title),
        ("phone", patch.phone),
        ("email", patch.email),
    ):
        if value is not None and value != target[key]:
            changed[key] = value
    if not changed:
        return
    target.update(changed)
    if "phone" in changed:
        changed["phone_reversed"] = phone_tail_key(changed["phone"])
    updates.append({"id": target["id"], **changed})


def _contact_row(
    customer_id: int,
    name: str,
    title: str | None,
    phone: str | None,
    email: str | None,
    primary: bool,
    at: datetime,
) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "name": name,
        "title": title,
        "phone": phone,
        "phone_reversed": phone_tail_key(phone) if phone else None,
        "email": email,
        "is_primary": primary,
        "created_at": at,
    }


def _stage_change(
    customer_id: int, from_stage: Stage | None, to_stage: Stage, actor_id: int | None, at: datetime
) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "from_stage": from_stage,
        "to_stage": to_stage,
        "changed_by": actor_id,
        "changed_at": at,
    }


def _memoized(kind: Any, dialect: Any) -> Callable[[Any], Any] | None:
    """The column type's bind processor, remembering its result per distinct value."""
    process = kind.bind_processor(dialect)
    if process is None:
        return None
    done: dict[Any, Any] = {}
    empty: list[Any] = []

    def convert(value: Any) -> Any:
        if value is None:
            return process(value)
        try:
            return done[value]
        except KeyError:
            result = process(value)
            if len(done) < _MEMO_LIMIT:
                done[value] = result
            return result
        except TypeError:  # unhashable: a JSON dict, remembered when empty (custom_fields)
            if value != {}:
                return process(value)
            if not empty:
                empty.append(process(value))
            return empty[0]

    return convert


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _same_keys(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """Bulk UPDATE by primary key wants the same columns in every parameter set."""
    groups: dict[frozenset[str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[frozenset(row)].append(row)
    yield from groups.values()
