"""Finding customers from any fragment: name, pinyin initials, phone tail, code, contact, tag."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from crm.access import Visibility


@dataclass(frozen=True)
class SearchHit:
    customer_id: int
    code: str
    name: str
    owner_id: int
    matched: str  # "code" | "name" | "phone" | "initials" | "pinyin" | "contact" | "tag" | "fuzzy"
    score: float


class CustomerSearch(Protocol):
    async def search(
        self, query: str, visibility: Visibility, *, limit: int = 8, offset: int = 0
    ) -> list[SearchHit]: ...

    async def count(self, query: str, visibility: Visibility) -> int: ...
