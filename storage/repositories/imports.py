"""SQL behind ``crm.importing``: look-ups by code and phone in batches, and bulk writes (one
executemany per table and chunk, the values converted here once per distinct value, the new
ids read back by code; bulk UPDATE by primary key). Search keys are computed exactly as for
customers created in the chat (``crm.text``); on SQLite the FTS index is filled in bulk with
its triggers suspended inside the transaction."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterator, Sequence
from datetime import datetime
from operator import itemgetter
from typing import Any, TypeVar, cast

from sqlalchemy import Table, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from crm.customers import Stage, TagSource, customer_code
from crm.importing.records import ContactPatch, CustomerUpdate, Existing, ImportedCustomer
from crm.text import name_keys, normalize_text, phone_tail_key, search_document
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
# Core tables: executemany, without the ORM's per-row work
_CUSTOMERS = cast(Table, CustomerRow.__table__)
_INSERT_TRIGGER = "customer_search_after_insert"  # migration 0003
_UPDATE_TRIGGER = "customer_search_after_update"
_CONTACTS = cast(Table, ContactRow.__table__)
_STAGE_CHANGES = cast(Table, StageChangeRow.__table__)
_COUNTERS = cast(Table, CounterRow.__table__)
_TAGS = cast(Table, TagRow.__table__)
_CUSTOMER_TAGS = cast(Table, CustomerTagRow.__table__)


_MEMO_LIMIT = 4_096  # distinct values remembered per column (dates, stages, the same now)


def _batches(items: Sequence[T], size: int = BATCH) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class SqlImportRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._analyzed = False
        self._suspended: dict[str, str] = {}  # SQLite triggers dropped for a bulk write: SQL

    async def begin_bulk_writes(self) -> None:
        """On SQLite, for the rest of the transaction (until ``end_bulk_writes``): drop the
        triggers that keep the FTS index in step row by row (the writes below index in bulk,
        5-7× faster), and skip CHECK constraints (SQLite spends ~5 µs a row on each
        ``stage IN (...)``; every value written here comes through the column's Enum type,
        which accepts only the enum's own). Inside the import's transaction (``BEGIN
        IMMEDIATE``): a failure rolls the DROP back with everything else, and no other writer
        can slip in. Done once per import: each DROP or CREATE makes SQLite re-read the whole
        schema at the next statement (~30 ms). Nothing to do on PostgreSQL."""
        if self._session.get_bind().dialect.name != "sqlite" or self._suspended:
            return
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
        if self._session.get_bind().dialect.name != "sqlite":
            return
        await self._session.execute(text("PRAGMA ignore_check_constraints = OFF"))
        for sql in self._suspended.values():
            await self._session.execute(text(sql))
        self._suspended = {}

    async def by_codes(self, codes: Collection[str]) -> dict[str, Existing]:
        await self._fresh_statistics()
        found: dict[str, Existing] = {}
        for batch in _batches(sorted(codes)):
            rows = await self._session.execute(
                select(CustomerRow.id, CustomerRow.code, CustomerRow.stage).where(
                    CustomerRow.code.in_(batch)
                )
            )
            for customer_id, code, stage in rows.all():
                found[code] = Existing(customer_id, code, Stage(stage))
        return found

    async def by_phones(self, phones: Collection[str]) -> dict[str, list[Existing]]:
        await self._fresh_statistics()
        found: dict[str, dict[int, Existing]] = defaultdict(dict)
        wanted = set(phones)
        # through the indexed reversed digits (``phone`` itself has no index), then exactly;
        # two plain look-ups by index rather than a join: on PostgreSQL the join got ~3× slower
        # as the commit's own inserts grew the tables (likely plans from stale statistics)
        for batch in _batches(sorted({phone_tail_key(phone) for phone in wanted})):
            rows = await self._session.execute(
                select(ContactRow.phone, ContactRow.customer_id).where(
                    ContactRow.phone_reversed.in_(batch)
                )
            )
            pairs = [(phone, owner) for phone, owner in rows.all() if phone in wanted]
            customers: dict[int, Existing] = {}
            for ids in _batches(sorted({owner for _, owner in pairs})):
                owners = await self._session.execute(
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

    async def keep_counter_at_least(self, number: int) -> None:
        await self._session.execute(
            update(CounterRow)
            .where(CounterRow.name == CODE_COUNTER, CounterRow.value < number)
            .values(value=number)
        )

    async def add_customers(
        self, customers: Sequence[ImportedCustomer], actor_id: int | None, at: datetime
    ) -> None:
        if not customers:
            return
        await self._fresh_statistics()
        rows: list[dict[str, Any]] = []
        for customer in customers:
            contact = customer.contact
            people = [(contact.name, contact.phone)] if contact else []
            keys = name_keys(customer.name)
            document = search_document(customer.name, customer.code, people, customer.tags)
            rows.append(
                {
                    "code": customer.code,
                    "name": customer.name,
                    "name_key": keys.key,
                    "name_pinyin": keys.pinyin,
                    "name_initials": keys.initials,
                    "search_text": document,
                    "industry": customer.fields.get("industry"),
                    "size": customer.fields.get("size"),
                    "source": customer.fields.get("source"),
                    "demand_type": customer.fields.get("demand_type"),
                    "region": customer.fields.get("region"),
                    "route": customer.fields.get("route"),
                    "notes": customer.fields.get("notes"),
                    "stage": customer.stage,
                    "grade": customer.grade.value if customer.grade else None,
                    "parent_id": None,
                    "owner_id": customer.owner_id,
                    "created_by": actor_id,
                    "custom_fields": {},
                    "created_at": customer.created_at or at,
                    "updated_at": at,
                    "stage_changed_at": at,
                    "last_followup_at": customer.last_followup_at,
                }
            )
        # executemany without RETURNING (RETURNING in bulk is row by row on SQLite), then the
        # ids back by the unique codes
        await self._insert(_CUSTOMERS, rows)
        by_code: dict[str, int] = {}
        for batch in _batches([customer.code for customer in customers]):
            found = await self._session.execute(
                select(CustomerRow.code, CustomerRow.id).where(CustomerRow.code.in_(batch))
            )
            for code, customer_id in found.all():
                by_code[code] = customer_id
        ids = [by_code[customer.code] for customer in customers]
        if _INSERT_TRIGGER in self._suspended:  # index the new documents in one go
            await self._session.execute(
                text("INSERT INTO customer_search(rowid, search_text) VALUES (:id, :text)"),
                [{"id": i, "text": row["search_text"]} for i, row in zip(ids, rows, strict=True)],
            )
        contacts: list[dict[str, Any]] = []
        changes: list[dict[str, Any]] = []
        for customer_id, customer in zip(ids, customers, strict=True):
            if customer.contact is not None:
                contacts.append(
                    _contact_row(
                        customer_id,
                        customer.contact.name,
                        customer.contact.title,
                        customer.contact.phone,
                        customer.contact.email,
                        True,
                        at,
                    )
                )
            changes.append(_stage_change(customer_id, None, customer.stage, actor_id, at))
        await self._insert(_CONTACTS, contacts)
        await self._insert(_STAGE_CHANGES, changes)
        tagged = [(i, c.tags) for i, c in zip(ids, customers, strict=True) if c.tags]
        await self._add_tags(tagged, actor_id, at)

    async def update_customers(
        self, updates: Sequence[CustomerUpdate], actor_id: int | None, at: datetime
    ) -> None:
        if not updates:
            return
        ids = [u.customer_id for u in updates]
        current = await self._current(ids)
        contacts = await self._contacts(ids)
        tags = await self._tags(ids)
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
                    _stage_change(
                        change.customer_id, change.from_stage, change.to_stage, actor_id, at
                    )
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
        for group in _same_keys(customer_rows):
            await self._session.execute(update(CustomerRow), group)
        if _UPDATE_TRIGGER in self._suspended:  # re-index the changed documents in one go
            await self._session.execute(
                text(
                    "INSERT INTO customer_search(customer_search, rowid, search_text)"
                    " VALUES ('delete', :id, :text)"
                ),
                [{"id": row["id"], "text": current[row["id"]][2]} for row in customer_rows],
            )
            await self._session.execute(
                text("INSERT INTO customer_search(rowid, search_text) VALUES (:id, :text)"),
                [{"id": row["id"], "text": row["search_text"]} for row in customer_rows],
            )
        for group in _same_keys(contact_updates):
            await self._session.execute(update(ContactRow), group)
        await self._insert(_CONTACTS, contact_inserts)
        await self._insert(_STAGE_CHANGES, changes)
        await self._add_tags(tagged, actor_id, at)

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
        """``session.execute(insert(table), rows)`` (one executemany, no RETURNING) with the
        per-row work taken out: the columns' bind processors (dates, enums, JSON) are applied
        here, remembering the result per distinct value (most rows share ``at``, a stage, a
        handful of dates), and the driver gets plain tuples. Same statement, same values."""
        if not rows:
            return
        connection = await self._session.connection()
        dialect = connection.dialect
        keys = list(rows[0])
        compiled = insert(table).compile(dialect=dialect, column_keys=keys)
        order = compiled.positiontup
        if order is None or sorted(order) != sorted(keys):  # a default to fill: the usual way
            await self._session.execute(insert(table), list(rows))
            return
        columns: list[Any] = list(zip(*map(itemgetter(*order), rows), strict=True))
        if len(order) == 1:  # itemgetter of one key gives the value, not a 1-tuple
            columns = [[row[order[0]] for row in rows]]
        for index, key in enumerate(order):
            convert = _memoized(table.c[key].type.dialect_impl(dialect), dialect)
            if convert is not None:
                columns[index] = list(map(convert, columns[index]))
        parameters = list(zip(*columns, strict=True))
        if dialect.name == "postgresql":
            # binary COPY on the session's own asyncpg connection, inside its transaction: the
            # same rows and values (same codecs), without executemany's Bind/Execute per row
            raw = (await connection.get_raw_connection()).driver_connection
            assert raw is not None, "the connection is open: this session just used it"
            if not raw.is_in_transaction():  # the adapter BEGINs lazily, at the first statement
                await connection.exec_driver_sql("SELECT 1")
            await raw.copy_records_to_table(
                table.name, records=parameters, columns=list(order), schema_name=table.schema
            )
            return
        await connection.exec_driver_sql(compiled.string, parameters)

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
            rows = await self._session.execute(
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
            rows = await self._session.execute(
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
            rows = await self._session.execute(
                select(CustomerTagRow.customer_id, TagRow.name)
                .join(TagRow, TagRow.id == CustomerTagRow.tag_id)
                .where(CustomerTagRow.customer_id.in_(batch))
            )
            for customer_id, name in rows.all():
                found[customer_id].append(name)
        return found


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


def _same_keys(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """Bulk UPDATE by primary key wants the same columns in every parameter set."""
    groups: dict[frozenset[str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[frozenset(row)].append(row)
    yield from groups.values()
