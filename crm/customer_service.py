"""Use cases on customers: create (with the duplicate check), the card, stage, deals, tags,
contacts, fields, reassignment, revealing a phone. Every access is scoped by the member's
visibility; a refused access reveals nothing and is audit-logged."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal, InvalidOperation

from crm.access import Visibility
from crm.audit import AuditEntry
from crm.clock import Clock
from crm.customers import (
    CHOICE_LISTS,
    Contact,
    Customer,
    CustomerTag,
    Deal,
    Grade,
    NewContact,
    NewCustomer,
    Stage,
    StageChange,
    TagSource,
)
from crm.errors import InvalidInput, NotAllowed, NotFound
from crm.followups import FollowUp, Task
from crm.members import Member, Role, resolve_language
from crm.outbox import Button, OutgoingMessage
from crm.ports import UnitOfWork
from crm.search import SearchHit
from crm.text import mask_phone, names_look_alike, normalize_phone
from crm.texts import Text

NAME_MAX = 100
SEARCH_MAX = 100
MAX_PARENT_DEPTH = 20
FREE_TEXT_MAX = 1000
TAG_MAX = 32


@dataclass(frozen=True)
class DuplicateHit:
    """An existing customer that looks like the one being entered, shown masked."""

    customer_id: int
    name: str
    owner_name: str  # masked: 李*
    phone: str | None  # masked: 139****5678
    visible: bool  # may the member open it?
    same_phone: bool


@dataclass(frozen=True)
class SearchPage:
    query: str
    hits: list[SearchHit]
    page: int
    total: int


@dataclass(frozen=True)
class CardContact:
    id: int
    name: str
    title: str | None
    masked_phone: str | None
    email: str | None


@dataclass(frozen=True)
class CustomerCard:
    customer: Customer
    owner_name: str
    contacts: list[CardContact]
    tags: list[CustomerTag]
    last_follow_up: FollowUp | None
    next_task: Task | None
    deal_count: int
    deal_total: Decimal
    can_reveal_phone: bool
    can_reassign: bool = field(default=False)
    parent_name: str | None = None
    custom: list[tuple[str, str, str]] = field(default_factory=list)  # key, label, value


def mask_name(name: str) -> str:
    """李娜 → 李*, Ada Lovelace → A*** (who owns a record you may not open)."""
    name = name.strip()
    if not name:
        return "*"
    return name[0] + "*" * max(1, min(len(name) - 1, 3))


class CustomerService:
    def __init__(self, uow: UnitOfWork, clock: Clock, default_language: str) -> None:
        self._uow = uow
        self._clock = clock
        self._default_language = default_language

    # -- creating -----------------------------------------------------------------------

    async def duplicates(self, member: Member, name: str, phone: str | None) -> list[DuplicateHit]:
        """Existing customers with the same phone or a name that looks alike, across everyone's
        records (shown masked, so a rep learns it exists without seeing someone else's data)."""
        found: dict[int, DuplicateHit] = {}
        normalized = normalize_phone(phone) if phone else None
        if normalized:
            for customer in await self._uow.customers.same_phone(normalized):
                found[customer.id] = await self._hit(member, customer, same_phone=True)
        for customer in await self._uow.customers.similar_names(name):
            if customer.id not in found and names_look_alike(name, customer.name):
                found[customer.id] = await self._hit(member, customer, same_phone=False)
        return list(found.values())

    async def create(self, member: Member, draft: NewCustomer) -> Customer:
        name = clean_required(draft.name, NAME_MAX, "customer.name_required")
        contact_name = clean_required(draft.contact.name, NAME_MAX, "customer.contact_required")
        phone = valid_phone(draft.contact.phone)
        code = await self._uow.customers.next_code()
        contact = replace(draft.contact, name=contact_name, phone=phone, is_primary=True)
        customer = await self._uow.customers.add(
            replace(draft, name=name, owner_id=member.id, contact=contact),
            code,
            created_by=member.id,
        )
        await self._uow.customers.set_stage(
            StageChange(customer.id, None, customer.stage, member.id, self._clock.now())
        )
        await self._audit(member, "customer.created", customer.id)
        return customer

    # -- reading ------------------------------------------------------------------------

    async def get(self, member: Member, customer_id: int) -> Customer:
        customer = await self._uow.customers.get(customer_id, Visibility.of(member))
        if customer is not None:
            return customer
        owner = await self._uow.customers.owner_of(customer_id)
        if owner is not None:  # it exists, but not for this member: refuse, reveal nothing
            denied = self._entry(member, "customer.access_denied", customer_id)
            raise NotFound("customer.not_found").with_audit(denied)
        raise NotFound("customer.not_found")

    async def card(self, member: Member, customer_id: int) -> CustomerCard:
        customer = await self.get(member, customer_id)
        owner = await self._uow.members.by_id(customer.owner_id)
        contacts = await self._uow.customers.contacts(customer.id)
        deals = await self._uow.customers.deals(customer.id)
        return CustomerCard(
            customer=customer,
            owner_name=owner.name if owner else "?",
            contacts=[
                CardContact(
                    c.id, c.name, c.title, mask_phone(c.phone) if c.phone else None, c.email
                )
                for c in contacts
            ],
            tags=list(await self._uow.customers.tags(customer.id)),
            last_follow_up=await self._uow.follow_ups.latest(customer.id),
            next_task=await self._uow.tasks.next_open(customer.id),
            deal_count=len(deals),
            deal_total=sum((deal.amount for deal in deals), Decimal(0)),
            can_reveal_phone=may_reveal_phone(member, customer),
            can_reassign=member.role in (Role.ADMIN, Role.MANAGER),
            parent_name=await self._name_of(customer.parent_id),
            custom=[
                (
                    definition.key,
                    definition.label,
                    str(customer.custom_fields.get(definition.key, "—")),
                )
                for definition in await self._uow.fields.active()
            ],
        )

    async def _name_of(self, customer_id: int | None) -> str | None:
        if customer_id is None:
            return None
        labels = await self._uow.customers.labels([customer_id])
        return labels[customer_id][1] if customer_id in labels else None

    async def reveal_phone(self, member: Member, customer_id: int, contact_id: int) -> Contact:
        customer = await self.get(member, customer_id)
        if not may_reveal_phone(member, customer):
            raise NotAllowed("errors.not_allowed")
        contact = next(
            (c for c in await self._uow.customers.contacts(customer.id) if c.id == contact_id),
            None,
        )
        if contact is None or contact.phone is None:
            raise NotFound("customer.not_found")
        await self._audit(member, "phone.revealed", customer.id, contact=str(contact.id))
        return contact

    async def find(
        self, member: Member, query: str, page: int = 0, page_size: int = 8
    ) -> SearchPage:
        """Customers the member may see that match ``query``, one page at a time."""
        query = " ".join(query.split())
        if not query:
            raise InvalidInput("find.usage")
        if len(query) > SEARCH_MAX:
            raise InvalidInput("errors.too_long", limit=SEARCH_MAX)
        visibility = Visibility.of(member)
        hits = await self._uow.search.search(
            query, visibility, limit=page_size, offset=max(page, 0) * page_size
        )
        total = await self._uow.search.count(query, visibility) if hits else 0
        return SearchPage(query, hits, max(page, 0), total)

    async def choices(self, list_key: str) -> list[str]:
        if list_key not in CHOICE_LISTS:
            raise ValueError(list_key)
        return list(await self._uow.choices.options(list_key))

    # -- changing -----------------------------------------------------------------------

    async def change_stage(self, member: Member, customer_id: int, stage: Stage) -> Customer:
        customer = await self.get(member, customer_id)
        if customer.stage is stage:
            return customer
        await self._uow.customers.set_stage(
            StageChange(customer.id, customer.stage, stage, member.id, self._clock.now())
        )
        await self._audit(member, "customer.stage_changed", customer.id, stage=stage.value)
        return await self.get(member, customer_id)

    async def add_deal(
        self,
        member: Member,
        customer_id: int,
        amount: str,
        product: str,
        on: date,
        note: str | None = None,
    ) -> Deal:
        customer = await self.get(member, customer_id)
        deal = await self._uow.customers.add_deal(
            Deal(
                0,
                customer.id,
                parse_amount(amount),
                on,
                clean_required(product, NAME_MAX, "deal.product_required"),
                clean_optional(note, FREE_TEXT_MAX),
            ),
            created_by=member.id,
        )
        if customer.stage is not Stage.DEAL:
            await self._uow.customers.set_stage(
                StageChange(customer.id, customer.stage, Stage.DEAL, member.id, self._clock.now())
            )
        await self._audit(member, "deal.added", customer.id, amount=str(deal.amount))
        return deal

    async def add_tag(self, member: Member, customer_id: int, name: str) -> bool:
        customer = await self.get(member, customer_id)
        tag = clean_required(name.lstrip("#＃"), TAG_MAX, "tag.name_required")
        return await self._uow.customers.add_tag(customer.id, tag, TagSource.MANUAL, member.id)

    async def remove_tag(self, member: Member, customer_id: int, name: str) -> bool:
        customer = await self.get(member, customer_id)
        return await self._uow.customers.remove_tag(customer.id, name)

    async def tag_suggestions(self) -> list[str]:
        return [tag.name for tag in await self._uow.customers.tag_catalogue()]

    async def add_contact(self, member: Member, customer_id: int, contact: NewContact) -> Contact:
        customer = await self.get(member, customer_id)
        name = clean_required(contact.name, NAME_MAX, "customer.contact_required")
        phone = valid_phone(contact.phone) if contact.phone else None
        return await self._uow.customers.add_contact(
            customer.id,
            NewContact(
                name=name,
                title=clean_optional(contact.title, NAME_MAX),
                phone=phone,
                email=clean_optional(contact.email, 200),
                is_primary=False,
            ),
        )

    async def set_field(self, member: Member, customer_id: int, field: str, value: str) -> None:
        customer = await self.get(member, customer_id)
        if field == "name":
            cleaned: object = clean_required(value, NAME_MAX, "customer.name_required")
        elif field == "grade":
            cleaned = parse_grade(value)
        elif field in CHOICE_LISTS:
            cleaned = clean_optional(value, 64)
        elif field == "notes":
            cleaned = clean_optional(value, FREE_TEXT_MAX)
        else:
            raise InvalidInput("customer.field_unknown")
        await self._uow.customers.set_field(customer.id, field, cleaned)
        await self._audit(member, "customer.field_changed", customer.id, field=field)

    async def set_parent(self, member: Member, customer_id: int, query: str) -> str | None:
        """父子关系: ``query`` names the parent (code or name); "-" / 无 / none clears it.
        Returns the parent's name."""
        customer = await self.get(member, customer_id)
        if query.strip().casefold() in ("-", "无", "none"):
            await self._uow.customers.set_field(customer.id, "parent_id", None)
            return None
        found = await self.find(member, query, 0, 1)
        if not found.hits:
            raise NotFound("customer.parent_not_found", query=query.strip()[:40])
        parent = found.hits[0]
        ancestor: int | None = parent.customer_id
        for _ in range(MAX_PARENT_DEPTH):  # a company cannot end up its own ancestor
            if ancestor is None:
                break
            if ancestor == customer.id:
                raise InvalidInput("customer.parent_cycle")
            ancestor = await self._uow.customers.parent_of(ancestor)
        await self._uow.customers.set_field(customer.id, "parent_id", parent.customer_id)
        await self._audit(member, "customer.field_changed", customer.id, field="parent_id")
        return parent.name

    async def reassign_targets(self, member: Member, customer_id: int) -> list[Member]:
        """Whom the customer may be handed to: the manager's team, or anyone for an admin."""
        customer = await self.get(member, customer_id)
        if member.role is Role.ADMIN:
            candidates = await self._uow.members.list_active()
        elif member.role is Role.MANAGER and member.team_id is not None:
            candidates = await self._uow.members.list_active(member.team_id)
        else:
            raise NotAllowed("errors.not_allowed")
        return [m for m in candidates if m.id != customer.owner_id and m.role is not Role.ADMIN]

    async def reassign(self, member: Member, customer_id: int, new_owner_id: int) -> Customer:
        customer = await self.get(member, customer_id)
        new_owner = await self._uow.members.by_id(new_owner_id)
        if member.role not in (Role.ADMIN, Role.MANAGER) or new_owner is None:
            raise NotAllowed("errors.not_allowed")
        if member.role is Role.MANAGER and new_owner.team_id != member.team_id:
            raise NotAllowed("customer.reassign_own_team")
        if new_owner.id == customer.owner_id:
            return customer
        await self._uow.customers.set_owner(customer.id, new_owner.id)
        await self._uow.tasks.reassign_open(customer.id, new_owner.id, self._clock.now())
        await self._notify_new_owner(customer, new_owner, member)
        await self._audit(member, "customer.reassigned", customer.id, to=str(new_owner.id))
        return await self.get(member, customer_id)

    # -- helpers ------------------------------------------------------------------------

    async def _hit(self, member: Member, customer: Customer, *, same_phone: bool) -> DuplicateHit:
        owner = await self._uow.members.by_id(customer.owner_id)
        phone = await self._uow.customers.primary_phone(customer.id)
        visible = await self._uow.customers.get(customer.id, Visibility.of(member)) is not None
        return DuplicateHit(
            customer_id=customer.id,
            name=customer.name,
            owner_name=mask_name(owner.name if owner else "?"),
            phone=mask_phone(phone) if phone else None,
            visible=visible,
            same_phone=same_phone,
        )

    async def _notify_new_owner(self, customer: Customer, owner: Member, by: Member) -> None:
        language = resolve_language(owner.language, None, self._default_language)
        await self._uow.outbox.enqueue(
            OutgoingMessage(
                key=f"reassigned:{customer.id}:{owner.id}:{self._clock.now().isoformat()}",
                chat_id=owner.telegram_id,
                text=Text(
                    "customer.reassigned_notice",
                    {"name": customer.name, "code": customer.code, "by": by.name},
                ),
                language=language,
                buttons=((Button(Text("card.open"), data=f"cust:open:{customer.id}"),),),
            ),
            self._clock.now(),
        )

    def _entry(self, member: Member, action: str, customer_id: int, **details: str) -> AuditEntry:
        return AuditEntry(
            action=action,
            entity_type="customer",
            entity_id=str(customer_id),
            actor_id=member.id,
            at=self._clock.now(),
            details=dict(details),
        )

    async def _audit(self, member: Member, action: str, customer_id: int, **details: str) -> None:
        await self._uow.audit.record(self._entry(member, action, customer_id, **details))


def may_reveal_phone(member: Member, customer: Customer) -> bool:
    """The owner and admins may see a phone number in full (each time audit-logged)."""
    return member.role is Role.ADMIN or customer.owner_id == member.id


def clean_required(value: str | None, limit: int, missing_key: str) -> str:
    cleaned = clean_optional(value, limit)
    if not cleaned:
        raise InvalidInput(missing_key)
    return cleaned


def clean_optional(value: str | None, limit: int) -> str | None:
    """Trimmed, control characters removed; too long is refused, not silently cut."""
    if value is None:
        return None
    cleaned = "".join(ch for ch in value if ch.isprintable() or ch in "\n").strip()
    if len(cleaned) > limit:
        raise InvalidInput("errors.too_long", limit=limit)
    return cleaned or None


def valid_phone(raw: str | None) -> str:
    normalized = normalize_phone(raw or "")
    if normalized is None:
        raise InvalidInput("customer.bad_phone")
    return normalized


def parse_grade(value: str) -> Grade | None:
    cleaned = value.strip().upper()
    if not cleaned:
        return None
    try:
        return Grade(cleaned)
    except ValueError:
        raise InvalidInput("customer.bad_grade") from None


def parse_amount(raw: str) -> Decimal:
    cleaned = raw.strip().replace(",", "").replace("，", "").replace("¥", "").replace("￥", "")
    multiplier = Decimal(1)
    if cleaned.endswith("万"):
        cleaned, multiplier = cleaned[:-1], Decimal(10_000)
    try:
        amount = Decimal(cleaned) * multiplier
    except InvalidOperation:
        raise InvalidInput("deal.bad_amount") from None
    if not amount.is_finite() or amount <= 0 or amount >= Decimal("1e12"):
        raise InvalidInput("deal.bad_amount")
    return amount.quantize(Decimal("0.01"))
