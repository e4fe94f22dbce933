"""What importing needs from storage, and the plain records it gets back."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple, Protocol

from crm.customers import Grade, Stage


@dataclass(frozen=True)
class Existing:
    """A customer already in the database that a row may update."""

    id: int
    code: str
    stage: Stage


class SearchKeys(NamedTuple):
    """A new customer's search keys (``crm.text.name_keys``) and its search document without
    the code (``crm.text.document_without_code``): computed where the row is parsed, before
    the customer has a code (for a big file, in the process that reads it); the code is added
    when the customer is written (``crm.text.with_code``)."""

    key: str
    pinyin: str
    initials: str
    document: str


class ImportedCustomer(NamedTuple):
    """A new customer from a row, with its primary contact. ``fields`` holds the row's text
    values by field name (``crm.importing.fields``): the customer's industry, size, source,
    demand_type, region, route and notes are those given there. (A tuple: an import makes
    one for each of up to 200,000 rows.)"""

    code: str | None  # None: the next from the code counter
    name: str
    owner_id: int
    stage: Stage
    grade: Grade | None
    fields: Mapping[str, str]
    contact: str
    title: str | None
    phone: str | None  # normalised
    email: str | None
    search: SearchKeys
    created_at: datetime | None = None
    last_followup_at: datetime | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class ContactPatch:
    """What a row says about a contact of an existing customer; None: not in the row."""

    name: str | None
    title: str | None
    phone: str | None
    email: str | None


@dataclass(frozen=True)
class CustomerUpdate:
    """The columns of ``customers`` to set (only what the row gives), a stage change if the
    stage differs, and the contact to update or add."""

    customer_id: int
    values: Mapping[str, object] = field(hash=False)
    from_stage: Stage
    to_stage: Stage | None
    contact: ContactPatch | None
    tags: tuple[str, ...] = ()  # added to the customer's (none is removed)


class ImportRepository(Protocol):
    """Implemented by ``storage.repositories.imports.SqlImportRepository``."""

    async def by_codes(self, codes: Collection[str]) -> dict[str, Existing]: ...

    async def lock_commit(self, member_id: int) -> None:
        """Mark the member's import commit as running until this transaction ends (waiting
        for another transaction that holds the mark), so that no other process takes it for
        one a restart cut short."""
        ...

    async def try_lock_commit(self, member_id: int) -> bool:
        """``lock_commit`` if no one holds it: False while a commit of the member's runs."""
        ...

    async def begin_bulk_writes(self) -> None:
        """Before the first write of an import: the store may set itself up for many rows
        (one transaction, ended by ``end_bulk_writes`` before it commits)."""
        ...

    async def end_bulk_writes(self) -> None: ...

    async def by_phones(self, phones: Collection[str]) -> dict[str, list[Existing]]:
        """Customers with a contact of that (normalised) phone, by phone."""
        ...

    async def keep_counter_at_least(self, number: int) -> None:
        """Move the code counter up to ``number`` (the highest CRMnnnn code imported), so
        that codes given later follow it."""
        ...

    async def add_customers(
        self, customers: Sequence[ImportedCustomer], actor_id: int | None, at: datetime
    ) -> None:
        """Insert with contacts, the first stage change and the search keys, in bulk; a
        customer without a code gets the next free one from the counter (CRM0001, ...). The
        writes of successive calls (of this and ``update_customers``) happen one at a time, in
        the order of the calls, even when the calls overlap."""
        ...

    async def update_customers(
        self, updates: Sequence[CustomerUpdate], actor_id: int | None, at: datetime
    ) -> None:
        """Apply in bulk; contacts merged (same phone, else same name, else the primary
        contact), search keys rebuilt."""
        ...
