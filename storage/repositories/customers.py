from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm.access import Visibility
from crm.clock import Clock
from crm.customers import (
    Contact,
    Customer,
    CustomerTag,
    Deal,
    Grade,
    NewContact,
    NewCustomer,
    Stage,
    StageChange,
    Tag,
    TagSource,
    customer_code,
)
from crm.text import name_keys, phone_tail_key, search_document
from storage.models import (
    ContactRow,
    CounterRow,
    CustomerRow,
    CustomerTagRow,
    DealRow,
    MemberRow,
    StageChangeRow,
    TagRow,
)

CODE_COUNTER = "customer_code"
EDITABLE_FIELDS = frozenset(
    {
        "name",
        "industry",
        "size",
        "source",
        "demand_type",
        "region",
        "route",
        "grade",
        "parent_id",
        "notes",
        "custom_fields",
    }
)
_CANDIDATES = 50


def visible_to(visibility: Visibility) -> ColumnElement[bool]:
    """The one WHERE clause that scopes customers to what a member may see."""
    if visibility.sees_everything:
        return CustomerRow.id.is_not(None)
    if visibility.sees_team:
        team = select(MemberRow.id).where(MemberRow.team_id == visibility.team_id)
        return or_(CustomerRow.owner_id == visibility.member_id, CustomerRow.owner_id.in_(team))
    return CustomerRow.owner_id == visibility.member_id


def to_customer(row: CustomerRow) -> Customer:
    return Customer(
        id=row.id,
        code=row.code,
        name=row.name,
        owner_id=row.owner_id,
        stage=Stage(row.stage),
        grade=Grade(row.grade) if row.grade else None,
        industry=row.industry,
        size=row.size,
        source=row.source,
        demand_type=row.demand_type,
        region=row.region,
        route=row.route,
        parent_id=row.parent_id,
        notes=row.notes,
        custom_fields=dict(row.custom_fields or {}),
        created_at=row.created_at,
        last_followup_at=row.last_followup_at,
    )


def _to_deal(row: DealRow) -> Deal:
    return Deal(
        id=row.id,
        customer_id=row.customer_id,
        amount=row.amount,
        deal_date=row.deal_date,
        product=row.product,
        note=row.note,
    )


def _to_contact(row: ContactRow) -> Contact:
    return Contact(
        id=row.id,
        customer_id=row.customer_id,
        name=row.name,
        title=row.title,
        phone=row.phone,
        email=row.email,
        is_primary=row.is_primary,
    )


class SqlCustomerRepository:
    def __init__(self, session: AsyncSession, clock: Clock) -> None:
        self._session = session
        self._clock = clock

    async def next_code(self) -> str:
        while True:
            value = await self._session.scalar(
                update(CounterRow)
                .where(CounterRow.name == CODE_COUNTER)
                .values(value=CounterRow.value + 1)
                .returning(CounterRow.value)
            )
            if value is None:
                raise LookupError("the customer code counter is missing (run the migrations)")
            code = customer_code(value)
            taken = await self._session.scalar(
                select(CustomerRow.id).where(CustomerRow.code == code)
            )
            if taken is None:  # imported customers may already use the next number
                return code

    async def add(self, customer: NewCustomer, code: str, created_by: int) -> Customer:
        now = self._clock.now()
        keys = name_keys(customer.name)
        row = CustomerRow(
            code=code,
            name=customer.name,
            name_key=keys.key,
            name_pinyin=keys.pinyin,
            name_initials=keys.initials,
            search_text="",
            industry=customer.industry,
            size=customer.size,
            source=customer.source,
            demand_type=customer.demand_type,
            region=customer.region,
            route=customer.route,
            stage=customer.stage,
            grade=customer.grade.value if customer.grade else None,
            parent_id=customer.parent_id,
            owner_id=customer.owner_id,
            created_by=created_by,
            notes=customer.notes,
            custom_fields={},
            created_at=now,
            updated_at=now,
            stage_changed_at=now,
        )
        self._session.add(row)
        await self._session.flush()
        await self.add_contact(row.id, customer.contact)
        return to_customer(row)

    async def get(self, customer_id: int, visibility: Visibility) -> Customer | None:
        row = await self._session.scalar(
            select(CustomerRow).where(CustomerRow.id == customer_id, visible_to(visibility))
        )
        return to_customer(row) if row else None

    async def parent_of(self, customer_id: int) -> int | None:
        return await self._session.scalar(
            select(CustomerRow.parent_id).where(CustomerRow.id == customer_id)
        )

    async def owner_of(self, customer_id: int) -> int | None:
        return await self._session.scalar(
            select(CustomerRow.owner_id).where(CustomerRow.id == customer_id)
        )

    async def contacts(self, customer_id: int) -> Sequence[Contact]:
        rows = await self._session.scalars(
            select(ContactRow)
            .where(ContactRow.customer_id == customer_id)
            .order_by(ContactRow.is_primary.desc(), ContactRow.id)
        )
        return [_to_contact(row) for row in rows]

    async def add_contact(self, customer_id: int, contact: NewContact) -> Contact:
        row = ContactRow(
            customer_id=customer_id,
            name=contact.name,
            title=contact.title,
            phone=contact.phone,
            phone_reversed=phone_tail_key(contact.phone) if contact.phone else None,
            email=contact.email,
            is_primary=contact.is_primary,
            created_at=self._clock.now(),
        )
        self._session.add(row)
        await self._session.flush()
        await self._reindex(customer_id)
        return _to_contact(row)

    async def set_field(self, customer_id: int, field: str, value: object) -> None:
        if field not in EDITABLE_FIELDS:
            raise ValueError(f"not an editable customer field: {field}")
        values: dict[str, object] = {field: value, "updated_at": self._clock.now()}
        if field == "name":
            assert isinstance(value, str)
            keys = name_keys(value)
            values |= {
                "name_key": keys.key,
                "name_pinyin": keys.pinyin,
                "name_initials": keys.initials,
            }
        await self._session.execute(
            update(CustomerRow).where(CustomerRow.id == customer_id).values(**values)
        )
        if field == "name":
            await self._reindex(customer_id)

    async def set_stage(self, change: StageChange) -> None:
        await self._session.execute(
            update(CustomerRow)
            .where(CustomerRow.id == change.customer_id)
            .values(
                stage=change.to_stage,
                stage_changed_at=change.changed_at,
                updated_at=change.changed_at,
            )
        )
        self._session.add(
            StageChangeRow(
                customer_id=change.customer_id,
                from_stage=change.from_stage,
                to_stage=change.to_stage,
                changed_by=change.changed_by,
                changed_at=change.changed_at,
            )
        )

    async def set_owner(self, customer_id: int, owner_id: int) -> None:
        await self._session.execute(
            update(CustomerRow)
            .where(CustomerRow.id == customer_id)
            .values(owner_id=owner_id, updated_at=self._clock.now())
        )

    async def touch_follow_up(self, customer_id: int, at: datetime) -> None:
        await self._session.execute(
            update(CustomerRow)
            .where(
                CustomerRow.id == customer_id,
                or_(CustomerRow.last_followup_at.is_(None), CustomerRow.last_followup_at < at),
            )
            .values(last_followup_at=at, updated_at=self._clock.now())
        )

    async def tags(self, customer_id: int) -> Sequence[CustomerTag]:
        rows = await self._session.execute(
            select(TagRow.name, CustomerTagRow.source, CustomerTagRow.automatic)
            .join(CustomerTagRow, CustomerTagRow.tag_id == TagRow.id)
            .where(CustomerTagRow.customer_id == customer_id)
            .order_by(CustomerTagRow.added_at, TagRow.name)
        )
        return [
            CustomerTag(name=name, source=TagSource(source), automatic=automatic)
            for name, source, automatic in rows.all()
        ]

    async def add_tag(
        self,
        customer_id: int,
        name: str,
        source: TagSource,
        added_by: int | None,
        source_ref: str | None = None,
    ) -> bool:
        tag_id = await self._tag_id(name)
        insert = pg_insert if self._dialect == "postgresql" else sqlite_insert
        result = await self._session.execute(
            insert(CustomerTagRow)
            .values(
                customer_id=customer_id,
                tag_id=tag_id,
                source=source,
                automatic=source is not TagSource.MANUAL,
                added_by=added_by,
                added_at=self._clock.now(),
                source_ref=source_ref,
            )
            .on_conflict_do_nothing()
        )
        added = bool(result.rowcount == 1)  # type: ignore[attr-defined]
        if added:
            await self._reindex(customer_id)
        return added

    async def remove_tag(self, customer_id: int, name: str) -> bool:
        tag_id = await self._session.scalar(select(TagRow.id).where(TagRow.name == name))
        if tag_id is None:
            return False
        row = await self._session.get(CustomerTagRow, (customer_id, tag_id))
        if row is None:
            return False
        await self._session.delete(row)
        await self._session.flush()
        await self._reindex(customer_id)
        return True

    async def remove_tags_from(self, customer_id: int, source_ref: str) -> int:
        """Drop the automatic tags one source (e.g. a survey response) gave the customer."""
        result = await self._session.execute(
            delete(CustomerTagRow).where(
                CustomerTagRow.customer_id == customer_id,
                CustomerTagRow.source_ref == source_ref,
                CustomerTagRow.automatic,
            )
        )
        removed = int(result.rowcount)  # type: ignore[attr-defined]
        if removed:
            await self._reindex(customer_id)
        return removed

    async def link_chat(self, customer_id: int, chat_id: int, name: str) -> None:
        """Remember the Telegram chat of the customer's person: on the primary contact, or on a
        new contact when the customer has none."""
        contact_id = await self._session.scalar(
            select(ContactRow.id)
            .where(ContactRow.customer_id == customer_id)
            .order_by(ContactRow.is_primary.desc(), ContactRow.id)
            .limit(1)
        )
        if contact_id is None:
            self._session.add(
                ContactRow(
                    customer_id=customer_id,
                    name=name[:100],
                    telegram_chat_id=chat_id,
                    is_primary=True,
                    created_at=self._clock.now(),
                )
            )
        else:
            await self._session.execute(
                update(ContactRow)
                .where(ContactRow.id == contact_id)
                .values(telegram_chat_id=chat_id)
            )
        await self._session.flush()

    async def tag_catalogue(self) -> Sequence[Tag]:
        rows = await self._session.scalars(
            select(TagRow).where(TagRow.in_catalogue).order_by(TagRow.name)
        )
        return [Tag(id=row.id, name=row.name, weight=row.weight) for row in rows]

    async def list_tag(self, name: str, listed: bool) -> bool:
        tag_id = await self._tag_id(name)
        result = await self._session.execute(
            update(TagRow)
            .where(TagRow.id == tag_id, TagRow.in_catalogue.is_not(listed))
            .values(in_catalogue=listed)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def add_deal(self, deal: Deal, created_by: int) -> Deal:
        row = DealRow(
            customer_id=deal.customer_id,
            amount=deal.amount,
            deal_date=deal.deal_date,
            product=deal.product,
            note=deal.note,
            created_by=created_by,
            created_at=self._clock.now(),
        )
        self._session.add(row)
        await self._session.flush()
        return _to_deal(row)

    async def deals(self, customer_id: int) -> Sequence[Deal]:
        rows = await self._session.scalars(
            select(DealRow).where(DealRow.customer_id == customer_id).order_by(DealRow.deal_date)
        )
        return [_to_deal(row) for row in rows]

    async def same_phone(self, phone: str) -> Sequence[Customer]:
        with_phone = select(ContactRow.customer_id).where(ContactRow.phone == phone)
        rows = await self._session.scalars(
            select(CustomerRow).where(CustomerRow.id.in_(with_phone)).limit(_CANDIDATES)
        )
        return [to_customer(row) for row in rows]

    async def similar_names(self, name: str) -> Sequence[Customer]:
        keys = name_keys(name)
        conditions = [CustomerRow.name_key == keys.key]
        if keys.initials:
            conditions.append(CustomerRow.name_initials == keys.initials)
        if len(keys.key) >= 2:
            conditions.append(CustomerRow.name_key.startswith(keys.key[:2], autoescape=True))
        rows = await self._session.scalars(
            select(CustomerRow).where(or_(*conditions)).limit(_CANDIDATES)
        )
        return [to_customer(row) for row in rows]

    async def primary_phone(self, customer_id: int) -> str | None:
        return await self._session.scalar(
            select(ContactRow.phone)
            .where(ContactRow.customer_id == customer_id, ContactRow.phone.is_not(None))
            .order_by(ContactRow.is_primary.desc(), ContactRow.id)
            .limit(1)
        )

    async def labels(self, customer_ids: Sequence[int]) -> dict[int, tuple[str, str]]:
        if not customer_ids:
            return {}
        rows = await self._session.execute(
            select(CustomerRow.id, CustomerRow.code, CustomerRow.name).where(
                CustomerRow.id.in_(set(customer_ids))
            )
        )
        return {customer_id: (code, name) for customer_id, code, name in rows.all()}

    async def stale_customers(
        self, visibility: Visibility, idle_since: dict[Stage, datetime], limit: int
    ) -> Sequence[Customer]:
        if not idle_since:
            return []
        last_touch = func.coalesce(CustomerRow.last_followup_at, CustomerRow.created_at)
        idle = or_(
            *(
                (CustomerRow.stage == stage) & (last_touch < cutoff)
                for stage, cutoff in idle_since.items()
            )
        )
        rows = await self._session.scalars(
            select(CustomerRow)
            .where(visible_to(visibility), idle)
            .order_by(last_touch, CustomerRow.id)
            .limit(limit)
        )
        return [to_customer(row) for row in rows]

    @property
    def _dialect(self) -> str:
        return self._session.get_bind().dialect.name

    async def _tag_id(self, name: str) -> int:
        tag_id = await self._session.scalar(select(TagRow.id).where(TagRow.name == name))
        if tag_id is not None:
            return tag_id
        row = TagRow(name=name, weight=0, in_catalogue=False, created_at=self._clock.now())
        self._session.add(row)
        await self._session.flush()
        return row.id

    async def _reindex(self, customer_id: int) -> None:
        """Rebuild the customer's search text from its name, code, contacts and tags."""
        customer = await self._session.get(CustomerRow, customer_id)
        if customer is None:
            return
        contacts = (
            await self._session.execute(
                select(ContactRow.name, ContactRow.phone).where(
                    ContactRow.customer_id == customer_id
                )
            )
        ).all()
        tags = await self._session.scalars(
            select(TagRow.name)
            .join(CustomerTagRow, CustomerTagRow.tag_id == TagRow.id)
            .where(CustomerTagRow.customer_id == customer_id)
        )
        document = search_document(
            customer.name, customer.code, [(name, phone) for name, phone in contacts], list(tags)
        )
        await self._session.execute(
            update(CustomerRow).where(CustomerRow.id == customer_id).values(search_text=document)
        )
