"""The import itself, streamed in chunks: each row is new, an update (matched by code, else by
normalised phone), a duplicate of an earlier row, or invalid. A dry run only counts; a commit
writes each chunk with bulk statements inside the caller's one transaction."""

from __future__ import annotations

import asyncio
from array import array
from collections import deque
from collections.abc import AsyncIterator, Iterable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from itertools import repeat

from crm.customers import Stage, code_number
from crm.importing import fields as f
from crm.importing.reader import RawRow
from crm.importing.records import (
    ContactPatch,
    CustomerUpdate,
    Existing,
    ImportedCustomer,
    ImportRepository,
)
from crm.importing.rows import Problem, Record, clean, search_keys
from crm.importing.source import Chunk
from crm.members import Member
from crm.texts import Text

_WRITTEN_AT_ONCE = 2  # chunks being built or written while the next is sorted
_NEW_FIELDS = (f.INDUSTRY, f.SIZE, f.SOURCE, f.DEMAND_TYPE, f.REGION, f.ROUTE, f.NOTES)


@dataclass(frozen=True)
class Counts:
    rows: int = 0
    new: int = 0
    updated: int = 0
    duplicate: int = 0
    invalid: int = 0


@dataclass(frozen=True)
class RejectedRow:
    """A row left out (invalid, or a duplicate of an earlier row), as the file had it."""

    number: int
    cells: tuple[str, ...]
    problems: tuple[Problem, ...]
    duplicate: bool = False


@dataclass(frozen=True)
class Outcome:
    counts: Counts
    rejected: tuple[RejectedRow, ...] = field(hash=False)
    top_code: int = 0  # the highest CRMnnnn number a new customer of the file brings


class Owners:
    """Who a cell of the owner column names: a member's name, @username or Telegram id."""

    def __init__(self, members: Iterable[Member]) -> None:
        self._by: dict[str, int | None] = {}
        for member in members:
            keys = {str(member.telegram_id), clean(member.name).casefold()}
            if member.username:
                keys |= {member.username.casefold(), "@" + member.username.casefold()}
            for key in keys:
                self._by[key] = None if key in self._by else member.id  # a shared name: unclear

    def find(self, text: str) -> int | None:
        return self._by.get(clean(text).casefold())


@dataclass
class _Tally:
    rows: int = 0
    new: int = 0
    updated: int = 0
    duplicate: int = 0
    invalid: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)

    def counts(self) -> Counts:
        return Counts(self.rows, self.new, self.updated, self.duplicate, self.invalid)


class ImportRun:
    def __init__(
        self,
        repository: ImportRepository,
        owners: Owners,
        default_owner: int,
        *,
        write: bool = False,
        actor_id: int | None = None,
        at: datetime | None = None,
        top_code: int = 0,
    ) -> None:
        self._repository = repository
        self._owners = owners
        self._default_owner = default_owner
        self._write = write
        self._actor_id = actor_id
        self._at = at
        self._top_code = top_code
        self._first_with_code = _FirstRows()  # by the code's number (``Record.code_number``)
        self._first_with_phone = _FirstRows()
        self._seen_customers: dict[int, int] = {}
        self._tally = _Tally()

    async def run(self, chunks: AsyncIterator[Chunk]) -> Outcome:
        """Classify (and when writing, write) every row, as ``crm.importing.source`` parses
        them (with their codes and phones numbered, ``Repeats``). A commit passes the dry run's
        ``top_code``: the code counter is moved up to it first, so that the codes given to
        rows without one never meet a code that a later row of the file brings."""
        if not self._write:
            await self._all(chunks)
            return self._outcome()
        await self._repository.begin_bulk_writes()
        try:
            if self._top_code:
                await self._repository.keep_counter_at_least(self._top_code)
            await self._all(chunks)
            if self._top_code:  # in case the file changed since the dry run: still past it
                await self._repository.keep_counter_at_least(self._top_code)
        except BaseException:
            with suppress(Exception):  # the transaction is rolled back: leave the store as it was
                await self._repository.end_bulk_writes()
            raise
        await self._repository.end_bulk_writes()
        return self._outcome()

    async def _all(self, chunks: AsyncIterator[Chunk]) -> None:
        """Chunk by chunk. When writing, a chunk's rows are sorted and built while the chunks
        before are written (the store writes them one at a time, in order). That works because
        the store's look-ups do not see the import's own writes, as in the dry run, and rows
        are matched to the file's earlier rows here, by code and phone."""
        writing: deque[asyncio.Task[None]] = deque()
        try:
            async for chunk in chunks:
                self._tally.rows += len(chunk)
                new, updates = await self._sort(chunk)
                if not self._write:
                    continue
                if len(writing) == _WRITTEN_AT_ONCE:
                    await writing.popleft()
                writing.append(asyncio.create_task(self._flush(new, updates)))
            while writing:
                await writing.popleft()
        finally:
            for task in writing:  # a write failed: the others end before the rollback
                with suppress(BaseException):
                    await task

    def _outcome(self) -> Outcome:
        return Outcome(self._tally.counts(), tuple(self._tally.rejected), self._top_code)

    async def _sort(
        self, records: list[tuple[RawRow, Record]]
    ) -> tuple[list[tuple[Record, int]], list[CustomerUpdate]]:
        """Each row of the chunk: new, an update, or left out (counted and kept)."""
        codes = {r.values[f.CODE] for _, r in records if not r.problems and f.CODE in r.values}
        phones = {r.phone for _, r in records if not r.problems and r.phone}
        by_code = await self._repository.by_codes(codes) if codes else {}
        by_phone = await self._repository.by_phones(phones) if phones else {}
        new: list[tuple[Record, int]] = []
        updates: list[CustomerUpdate] = []
        for raw, record in records:
            if record.problems:
                self._reject(raw, record.problems)
                continue
            outcome = self._classify(record, by_code, by_phone)
            if isinstance(outcome, RejectedRow):
                self._reject(raw, outcome.problems, duplicate=outcome.duplicate)
                continue
            owner = self._owner(record)
            if owner is None:
                value = record.get(f.OWNER) or ""
                self._reject(
                    raw, (Problem(f.OWNER, Text("import.reason.owner", {"value": value})),)
                )
                continue
            if outcome is None:
                missing = [
                    Problem(name, Text("import.reason.required"))
                    for name in (f.NAME, f.CONTACT)
                    if not record.get(name)
                ]
                if missing:
                    self._reject(raw, tuple(missing))
                    continue
                self._remember(record, None)
                self._top_code = max(self._top_code, code_number(record.get(f.CODE) or "") or 0)
                new.append((record, owner))
                self._tally.new += 1
            else:
                self._remember(record, outcome.id)
                updates.append(self._update(record, outcome))
                self._tally.updated += 1
        return new, updates

    def _classify(
        self,
        record: Record,
        by_code: dict[str, Existing],
        by_phone: dict[str, list[Existing]],
    ) -> Existing | RejectedRow | None:
        """The customer the row updates, None for a new one, or why the row is left out."""
        code, phone = record.get(f.CODE), record.phone
        if code is not None and (first := self._first_with_code.get(record.code_number)):
            return _duplicate(record, f.CODE, first)
        if code is None and (first := self._first_with_phone.get(record.phone_number)):
            return _duplicate(record, f.PHONE, first)
        owners_of_phone = by_phone.get(phone, []) if phone else []
        existing: Existing | None = None
        if code is not None:
            existing = by_code.get(code)
            others = [c for c in owners_of_phone if existing is None or c.id != existing.id]
            if others and (existing is None or len(owners_of_phone) == len(others)):
                reason = Text("import.reason.phone_elsewhere", {"code": others[0].code})
                return RejectedRow(record.number, (), (Problem(f.PHONE, reason),))
        elif len(owners_of_phone) > 1:
            codes = ", ".join(c.code for c in owners_of_phone[:3])
            reason = Text("import.reason.phone_ambiguous", {"codes": codes})
            return RejectedRow(record.number, (), (Problem(f.PHONE, reason),))
        elif owners_of_phone:
            existing = owners_of_phone[0]
        if existing is not None and existing.id in self._seen_customers:
            return _duplicate(record, f.CODE, self._seen_customers[existing.id])
        return existing

    def _owner(self, record: Record) -> int | None:
        named = record.get(f.OWNER)
        return self._default_owner if named is None else self._owners.find(named)

    def _remember(self, record: Record, customer_id: int | None) -> None:
        self._first_with_code.keep(record.code_number, record.number)
        self._first_with_phone.keep(record.phone_number, record.number)
        if customer_id is not None:
            self._seen_customers.setdefault(customer_id, record.number)

    def _reject(
        self, raw: RawRow, problems: tuple[Problem, ...], *, duplicate: bool = False
    ) -> None:
        if duplicate:
            self._tally.duplicate += 1
        else:
            self._tally.invalid += 1
        self._tally.rejected.append(RejectedRow(raw.number, raw.cells, problems, duplicate))

    def _update(self, record: Record, existing: Existing) -> CustomerUpdate:
        values: dict[str, object] = {
            name: record.values[name] for name in (f.NAME, *_NEW_FIELDS) if name in record.values
        }
        if record.grade is not None:
            values["grade"] = record.grade.value
        if record.get(f.OWNER) is not None:
            values["owner_id"] = self._owner(record)
        if f.LAST_FOLLOW_UP in record.dates:
            values["last_followup_at"] = record.dates[f.LAST_FOLLOW_UP]
        to_stage = record.stage if record.stage not in (None, existing.stage) else None
        contact = None
        if record.phone or any(record.get(n) for n in (f.CONTACT, f.TITLE, f.EMAIL)):
            contact = ContactPatch(
                record.get(f.CONTACT), record.get(f.TITLE), record.phone, record.get(f.EMAIL)
            )
        return CustomerUpdate(existing.id, values, existing.stage, to_stage, contact, record.tags)

    async def _flush(self, new: list[tuple[Record, int]], updates: list[CustomerUpdate]) -> None:
        assert self._at is not None
        customers = [self._new(record, owner) for record, owner in new]
        results = await asyncio.gather(
            self._repository.add_customers(customers, self._actor_id, self._at),
            self._repository.update_customers(updates, self._actor_id, self._at),
            return_exceptions=True,  # both end before an error is raised
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result

    def _new(self, record: Record, owner: int) -> ImportedCustomer:
        values = record.values
        return ImportedCustomer(
            values.get(f.CODE),
            values[f.NAME],
            owner,
            record.stage or Stage.POTENTIAL,
            record.grade,
            values,
            values[f.CONTACT],
            values.get(f.TITLE),
            record.phone,
            values.get(f.EMAIL),
            record.search or search_keys(record),  # parsed without them: here
            record.dates.get(f.CREATED),
            record.dates.get(f.LAST_FOLLOW_UP),
            record.tags,
        )


class _FirstRows:
    """The first row kept with each code (or phone) of the file, by its number: 4 bytes per
    distinct value, where a dict of the values took ~100."""

    def __init__(self) -> None:
        self._rows = array("I")  # row numbers start at 1: 0 is none

    def get(self, number: int) -> int:
        return self._rows[number] if 0 <= number < len(self._rows) else 0

    def keep(self, number: int, row: int) -> None:
        if number < 0:
            return
        if number >= len(self._rows):
            self._rows.extend(repeat(0, number + 1 - len(self._rows)))
        if not self._rows[number]:
            self._rows[number] = row


def _duplicate(record: Record, field_name: str, first: int) -> RejectedRow:
    reason = Text("import.reason.duplicate", {"row": first})
    return RejectedRow(record.number, (), (Problem(field_name, reason),), duplicate=True)
