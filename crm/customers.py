"""Customers (客户档案) and what hangs off them: contacts, tags, deals, stage history."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

CHOICE_LISTS = ("industry", "size", "source", "demand_type", "region", "route")
_CODE = re.compile(r"CRM(\d{1,12})")


def customer_code(number: int) -> str:
    """The code given to the ``number``-th customer: CRM0001, ..., CRM12345."""
    return f"CRM{number:04d}"


def code_number(code: str) -> int | None:
    """The number in a code of our own form (CRM0042 → 42), None for any other code."""
    found = _CODE.fullmatch(code)
    return int(found.group(1)) if found else None


class Stage(StrEnum):
    """合作阶段. A customer in POTENTIAL is a lead; moving it on is the conversion."""

    POTENTIAL = "potential"
    INTENT = "intent"
    DEAL = "deal"
    LOST = "lost"


class Grade(StrEnum):
    A = "A"
    B = "B"
    C = "C"


class TagSource(StrEnum):
    MANUAL = "manual"
    RULE = "rule"
    SURVEY = "survey"
    KEYWORD = "keyword"


class FieldKind(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    CHOICE = "choice"
    DATE = "date"


@dataclass(frozen=True)
class Contact:
    id: int
    customer_id: int
    name: str
    title: str | None
    phone: str | None
    email: str | None
    is_primary: bool


@dataclass(frozen=True)
class NewContact:
    name: str
    title: str | None = None
    phone: str | None = None
    email: str | None = None
    is_primary: bool = True


@dataclass(frozen=True)
class Customer:
    id: int
    code: str
    name: str
    owner_id: int
    stage: Stage
    grade: Grade | None
    industry: str | None
    size: str | None
    source: str | None
    demand_type: str | None
    region: str | None
    route: str | None
    parent_id: int | None
    notes: str | None
    custom_fields: dict[str, Any] = field(hash=False)
    created_at: datetime
    last_followup_at: datetime | None


@dataclass(frozen=True)
class NewCustomer:
    name: str
    owner_id: int
    contact: NewContact
    stage: Stage = Stage.POTENTIAL
    grade: Grade | None = None
    industry: str | None = None
    size: str | None = None
    source: str | None = None
    demand_type: str | None = None
    region: str | None = None
    route: str | None = None
    parent_id: int | None = None
    notes: str | None = None


@dataclass(frozen=True)
class Tag:
    id: int
    name: str
    weight: int


@dataclass(frozen=True)
class CustomerTag:
    name: str
    source: TagSource
    automatic: bool


@dataclass(frozen=True)
class Deal:
    id: int
    customer_id: int
    amount: Decimal
    deal_date: date
    product: str
    note: str | None


@dataclass(frozen=True)
class StageChange:
    customer_id: int
    from_stage: Stage | None
    to_stage: Stage
    changed_by: int | None
    changed_at: datetime


@dataclass(frozen=True)
class FieldDefinition:
    """A custom field the admin defined (text / number / choice / date)."""

    key: str
    label: str
    kind: FieldKind
    options: tuple[str, ...] = ()
