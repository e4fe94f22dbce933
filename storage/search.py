"""Customer search: one box for names (Chinese fragments, pinyin, initials, English words),
codes, phone tails, contact names and tags, tolerant of one typo, ranked, paged and scoped to
what the asking member may see — in SQL, on SQLite (FTS5 trigram) and PostgreSQL (pg_trgm).

How a query runs:

1. It is normalised (``crm.text``): ``text`` with spaces, ``key`` with letters and digits only.
   A query without a letter or digit finds nothing.
2. Direct candidates come from a union of index-served lookups: the customer code; for 4+
   digits, the phone tail (``contacts.phone_reversed`` from the reversed digits to the same
   followed by nines) instead of the text; otherwise the search document
   ``customers.search_text`` containing the query (as typed, compacted, or word by word) —
   FTS5 trigram ``MATCH`` on SQLite, ``LIKE`` on a GIN ``gin_trgm_ops`` index on PostgreSQL.
   Trigrams see nothing under 3 characters, so a key of 1-2 characters matches names and
   initials containing it, and contacts and tags called exactly that. On SQLite the FTS5
   vocabulary turns the key into the trigrams that start with it (华信 → 华信科 OR 华信物 …);
   when these are too many (a key in thousands of documents) only names and initials starting
   with the key are taken. On PostgreSQL a GIN index over the 1-2 character grams of
   ``name_key || ' ' || name_initials`` serves them.
3. Candidates are filtered by the member's visibility and ranked in SQL (``_bucket``): exact
   code, exact name, phone tail, name prefix, exact initials or pinyin, name substring, partial
   initials or pinyin, anything else in the document (contact, tag); ties go to the most
   recently updated. ``LIMIT``/``OFFSET`` page in SQL. On PostgreSQL, where a word can match
   tens of thousands of customers, at most ``WEAK_CAP`` text matches visible to the member
   (the first the index yields) are ranked, with every exact code, phone and contact match.
4. Typos: when nothing matches directly, homophones (the query's pinyin: 华新 → 华信) and
   one-edit variants (a character substituted, missing, extra, or two swapped: 中国科枝 →
   中国科技, acne → Acme) are looked up through the same indexes; rapidfuzz keeps the
   candidates whose document holds the key with at most one edit, most similar first, after
   every direct match. Phone numbers and codes (crm0012) are not corrected.

The statements are written as SQL text: building them with SQLAlchemy Core cost 2-3 ms a query
here, more than most of the queries themselves.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from rapidfuzz import fuzz
from sqlalchemy.ext.asyncio import AsyncSession

from crm.access import Visibility
from crm.search import SearchHit
from crm.text import (
    compact_key,
    core_words,
    has_han,
    name_keys,
    normalize_phone,
    normalize_text,
)
from crm.text import phone_tail_key as _phone_tail_key

__all__ = ["SearchHit", "SqlCustomerSearch", "include_object"]

FTS_TABLE = "customer_search"
SEARCH_INDEXES = frozenset(
    {"ix_customers_search_text_trgm", "ix_customers_search_grams", "ix_contacts_name_lower"}
)

MAX_QUERY_CHARACTERS = 100
COUNT_CAP = 1000
PHONE_TAIL_MIN_DIGITS = 4
SHORT_MAX_TERMS = 200  # SQLite, keys of 1-2 characters: more trigrams than this …
SHORT_MAX_DOCUMENTS = 5000  # … or in more documents than this: names starting with it only
WEAK_CAP = 2000  # PostgreSQL: text matches ranked per query (the first found, not the newest)
FUZZY_BELOW = 1  # look for typos when fewer direct matches than this (none)
FUZZY_MIN_KEY = 4  # one-edit variants for keys of 4+ characters (Chinese homophones from 2)
FUZZY_MAX_KEY = 40
FTS_FUZZY_CANDIDATES = 5000  # SQLite: documents taken from the index, newest first …
FUZZY_CANDIDATES = 2000  # visible documents taken from the index (the first found) …
FUZZY_CHECKED = 300  # … of which the most recently updated are checked by rapidfuzz
FUZZY_RESULTS = 50
FUZZY_SCORE_SCALE = 0.4  # fuzzy hits score 0-40, below every direct hit

_PHONE_LIKE = re.compile(r"\+?[\d\s\-().]+")
_CODE_LIKE = re.compile(r"[a-z]{1,5}\d{3,}")  # crm0012: a customer code, not a word
_LATIN_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
_HIGHEST = "\U0010ffff"
# The expression indexed by ix_customers_search_grams ({0} is an alias and a dot, or nothing).
_GRAMS = "kehu_search_grams({0}name_key || ' ' || {0}name_initials)"

# Buckets, best first.
_CODE, _NAME, _PHONE, _PREFIX, _KEYS_EXACT, _SUBSTRING, _KEYS_PARTIAL, _OTHER = range(8)
_SCORES = {
    _CODE: 100.0,
    _NAME: 95.0,
    _PHONE: 90.0,
    _PREFIX: 85.0,
    _KEYS_EXACT: 80.0,
    _SUBSTRING: 70.0,
    _KEYS_PARTIAL: 60.0,
    _OTHER: 50.0,
}


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """For Alembic's ``include_object``: leave the search index (created by migration 0003,
    outside the ORM metadata) out of autogenerate comparisons."""
    if type_ == "table" and name is not None:
        return not (name == FTS_TABLE or name.startswith(FTS_TABLE + "_"))
    if type_ == "index":
        return name not in SEARCH_INDEXES
    return True


# --- the query ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Query:
    text: str  # normalised, spaces kept
    key: str  # letters and digits only
    words: tuple[str, ...]
    codes: tuple[str, ...]
    phone_tail: str | None  # reversed digits, for a digits-only query of 4+ digits
    han: bool
    pinyin: str  # of the key without a legal form, when it has Chinese: for homophones
    initials: str

    @classmethod
    def parse(cls, raw: str) -> _Query:
        cleaned = "".join(
            " " if unicodedata.category(char).startswith("C") else char for char in raw
        )
        text = normalize_text(cleaned)[:MAX_QUERY_CHARACTERS].strip()
        key = compact_key(text)
        phone_tail = None
        if _PHONE_LIKE.fullmatch(text):
            digits = normalize_phone(text) or "".join(char for char in text if char.isdigit())
            if sum(char.isdigit() for char in digits) >= PHONE_TAIL_MIN_DIGITS:
                phone_tail = _phone_tail_key(digits)
        han = has_han(key)
        keys = name_keys(" ".join(core_words(key)) or key) if han else None
        return cls(
            text=text,
            key=key,
            words=tuple(text.split(" ")) if text else (),
            codes=tuple(dict.fromkeys(code for code in (text.upper(), key.upper()) if code)),
            phone_tail=phone_tail,
            han=han,
            pinyin=keys.pinyin if keys else "",
            initials=keys.initials if keys else "",
        )

    @property
    def short(self) -> bool:
        return len(self.key) < 3

    @property
    def typo_tolerant(self) -> bool:
        if self.phone_tail is not None or _CODE_LIKE.fullmatch(self.key):
            return False  # phones and codes are typed exactly, or not found
        return len(self.key) >= FUZZY_MIN_KEY or (self.han and len(self.key) >= 2)

    @property
    def homophone(self) -> str:
        return self.pinyin if self.han and self.pinyin != self.key else ""

    def substring_alternatives(self) -> list[tuple[str, ...]]:
        """Ways the document may contain the query, each a set of substrings that must all be
        there, each of 3+ characters (what a trigram index can serve)."""
        alternatives: list[tuple[str, ...]] = []
        for alternative in ((self.text,), (self.key,), self.words):
            if (
                alternative
                and all(len(part) >= 3 for part in alternative)
                and alternative not in alternatives
            ):
                alternatives.append(alternative)
        return alternatives


@dataclass(frozen=True)
class _Variant:
    """One-edit variant of the key: ``left`` + one unknown character + ``right`` (a character
    substituted or left out), or a plain string (a character too many, two swapped)."""

    left: str
    right: str
    gap: bool

    @property
    def pattern(self) -> str:
        """As a LIKE pattern."""
        return _escape(self.left) + ("_" if self.gap else "") + _escape(self.right)


def _variants(key: str) -> list[_Variant]:
    size = len(key)
    found: dict[tuple[str, str, bool], None] = {}
    for position in range(size):  # one character typed wrong
        found[(key[:position], key[position + 1 :], True)] = None
    for position in range(1, size):  # one character left out
        found[(key[:position], key[position:], True)] = None
    if size >= 5:  # one character too many (for shorter keys this would match too much)
        for position in range(size):
            found[(key[:position] + key[position + 1 :], "", False)] = None
    for position in range(size - 1):  # two neighbours swapped
        swapped = key[:position] + key[position + 1] + key[position] + key[position + 2 :]
        if swapped != key:
            found[(swapped, "", False)] = None
    return [_Variant(left, right, gap) for left, right, gap in found]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _phrase(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def _fts_any(alternatives: Sequence[Sequence[str]]) -> str:
    """An FTS5 query: OR of alternatives, each an AND of phrases (3+ characters)."""
    terms = []
    for alternative in alternatives:
        phrases = [_phrase(part) for part in alternative if len(part) >= 3]
        if phrases:
            terms.append("(" + " AND ".join(phrases) + ")")
    return " OR ".join(dict.fromkeys(terms))


class _Sql:
    """Builds one statement's text and its bound values."""

    def __init__(self, sqlite: bool) -> None:
        self.sqlite = sqlite
        self.params: dict[str, Any] = {}

    def bind(self, value: Any) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return ":" + name

    def like(self, column: str, pattern: str) -> str:
        """``column LIKE pattern``; ``pattern`` uses ``\\`` as escape (PostgreSQL's default; on
        PostgreSQL the clause is left out so that the trigram index is used)."""
        escape = " ESCAPE '\\'" if self.sqlite else ""
        return f"{column} LIKE {self.bind(pattern)}{escape}"

    def contains(self, column: str, escaped: str) -> str:
        return self.like(column, f"%{escaped}%")

    def starts_with(self, column: str, prefix: str) -> str:
        """A range, so that the column's b-tree index serves it."""
        return f"({column} >= {self.bind(prefix)} AND {column} < {self.bind(prefix + _HIGHEST)})"

    def any_of(self, column: str, values: Sequence[str]) -> str:
        return "(" + " OR ".join(f"{column} = {self.bind(value)}" for value in values) + ")"

    def scope(self, visibility: Visibility, alias: str = "c") -> str:
        """Admins see every customer, managers their team's and their own, others their own."""
        if visibility.sees_everything:
            return "1 = 1"
        own = f"{alias}.owner_id = {self.bind(visibility.member_id)}"
        if visibility.sees_team:
            team = f"SELECT id FROM members WHERE team_id = {self.bind(visibility.team_id)}"
            return f"({own} OR {alias}.owner_id IN ({team}))"
        return own

    def phone_tail(self, reversed_digits: str) -> str:
        """Phones ending with the digits: a range on ``phone_reversed`` (served by its b-tree
        index whatever the collation: the column holds digits only), then the exact test."""
        return (
            f"phone_reversed >= {self.bind(reversed_digits)}"
            f" AND phone_reversed <= {self.bind(reversed_digits + '9' * 32)}"
            f" AND phone_reversed LIKE {self.bind(reversed_digits + '%')}"
        )

    def fts(self, expression: str) -> str:
        return f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH {self.bind(expression)}"

    def grams_contain(self, grams: Sequence[str], alias: str = "") -> str:
        """PostgreSQL: the 1-2 character grams of the name and initials include ``grams``."""
        prefix = f"{alias}." if alias else ""
        return f"{_GRAMS.format(prefix)} @> CAST({self.bind(list(grams))} AS text[])"


# --- the search -----------------------------------------------------------------------------


class SqlCustomerSearch:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._sqlite = session.get_bind().dialect.name == "sqlite"

    async def search(
        self, query: str, visibility: Visibility, *, limit: int = 8, offset: int = 0
    ) -> list[SearchHit]:
        parsed = _Query.parse(query)
        if not parsed.key or limit <= 0:
            return []
        offset = max(offset, 0)
        candidates = await self._candidates(parsed, visibility)
        rows = await self._direct(parsed, candidates, visibility, limit=limit, offset=offset)
        if not parsed.typo_tolerant:
            return await self._hits(parsed, rows)
        if offset == 0 and len(rows) < limit:
            direct_total = len(rows)
        elif len(rows) == limit and offset + limit >= FUZZY_BELOW:
            direct_total = FUZZY_BELOW
        else:
            direct_total = await self._count(candidates, visibility, cap=FUZZY_BELOW)
        if direct_total >= FUZZY_BELOW:
            return await self._hits(parsed, rows)
        everything = rows
        if offset > 0 or len(rows) >= limit:
            everything = await self._direct(
                parsed, candidates, visibility, limit=FUZZY_BELOW, offset=0
            )
        hits = await self._hits(parsed, everything)
        hits += await self._fuzzy(parsed, visibility, exclude={hit.customer_id for hit in hits})
        return hits[offset : offset + limit]

    async def count(self, query: str, visibility: Visibility) -> int:
        """How many customers ``search`` can page through, up to ``COUNT_CAP``."""
        parsed = _Query.parse(query)
        if not parsed.key:
            return 0
        candidates = await self._candidates(parsed, visibility)
        direct = await self._count(candidates, visibility, cap=COUNT_CAP)
        if direct >= FUZZY_BELOW or not parsed.typo_tolerant:
            return direct
        rows = await self._direct(parsed, candidates, visibility, limit=FUZZY_BELOW, offset=0)
        fuzzy = await self._fuzzy(parsed, visibility, exclude={row.id for row in rows})
        return direct + len(fuzzy)

    async def _rows(self, sql: _Sql, statement: str) -> Sequence[Any]:
        return (await self._session.execute(sa.text(statement), sql.params)).all()

    # --- direct matches -------------------------------------------------------------------

    async def _candidates(self, query: _Query, visibility: Visibility) -> _Candidates:
        """The ids of the customers matching directly, as a subquery. Exact lookups (code,
        phone tail, a contact's name) are few; text matches can be thousands: on PostgreSQL
        at most ``WEAK_CAP`` of those visible to the member are ranked (see ``WEAK_CAP``)."""
        sql = _Sql(self._sqlite)
        branches = [f"SELECT id FROM customers WHERE {sql.any_of('code', query.codes)}"]
        if query.phone_tail:
            branches.append(
                f"SELECT customer_id FROM contacts WHERE {sql.phone_tail(query.phone_tail)}"
            )
        if query.short:  # served by ix_contacts_name_lower
            same = "name = {} COLLATE NOCASE" if self._sqlite else "lower(name) = {}"
            branches.append(
                f"SELECT customer_id FROM contacts WHERE {same.format(sql.bind(query.text))}"
            )
        text_matches: list[str] = []  # conditions on customers, or (SQLite) FTS5 rowid queries
        if query.short:
            text_matches += await self._short_matches(sql, query)
        elif query.phone_tail:
            pass  # digits: a phone tail (or a code), not any digits anywhere in the document
        elif self._sqlite:
            text_matches.append(sql.fts(_fts_any(query.substring_alternatives())))
        else:
            alternatives = [
                "(" + " AND ".join(sql.contains("search_text", _escape(p)) for p in alt) + ")"
                for alt in query.substring_alternatives()
            ]
            text_matches.append(" OR ".join(alternatives))
        if self._sqlite:
            branches += [
                match if match.startswith("SELECT") else f"SELECT id FROM customers WHERE {match}"
                for match in text_matches
            ]
        else:
            scope = sql.scope(visibility, alias="customers")
            branches += [
                f"SELECT id FROM (SELECT id FROM customers WHERE ({match}) AND {scope}"
                f" LIMIT {sql.bind(WEAK_CAP)}) AS text_{number}"
                for number, match in enumerate(text_matches)
            ]
        if query.short:
            # From the tag to its customers (CROSS JOIN keeps that order on SQLite: with
            # statistics it would rather scan customer_tags whole).
            tagged = (
                "SELECT customer_tags.customer_id FROM tags CROSS JOIN customer_tags"
                " ON customer_tags.tag_id = tags.id"
                f" WHERE lower(tags.name) = {sql.bind(query.text)}"
            )
            if not self._sqlite:  # a tag can be on a good part of the customers
                tagged = (
                    "SELECT id FROM (SELECT customers.id FROM customers JOIN customer_tags ON"
                    f" customer_tags.customer_id = customers.id WHERE customer_tags.tag_id IN"
                    f" (SELECT id FROM tags WHERE lower(name) = {sql.bind(query.text)})"
                    f" AND {sql.scope(visibility, alias='customers')}"
                    f" LIMIT {sql.bind(WEAK_CAP)}) AS tagged"
                )
            branches.append(tagged)
        return _Candidates(" UNION ".join(branches), sql.params)

    async def _short_matches(self, sql: _Sql, query: _Query) -> list[str]:
        """Keys of 1-2 characters: names and initials containing them."""
        key = query.key
        in_names = (
            f"({sql.contains('name_key', _escape(key))}"
            f" OR {sql.contains('name_initials', _escape(key))})"
        )
        if not self._sqlite:
            return [f"{sql.grams_contain([key])} AND {in_names}"]
        terms = await self._terms_starting_with(key, SHORT_MAX_TERMS, SHORT_MAX_DOCUMENTS)
        if terms is None:  # too common to list: names and initials starting with it
            return [sql.starts_with("name_key", key), sql.starts_with("name_initials", key)]
        if not terms:
            return []
        matching = sql.fts(" OR ".join(_phrase(term) for term in terms))
        return [f"id IN ({matching}) AND {in_names}"]

    async def _terms_starting_with(
        self, prefix: str, max_terms: int, max_documents: int
    ) -> list[str] | None:
        """SQLite: the indexed trigrams starting with ``prefix`` (1-2 characters), or None when
        there are more than ``max_terms`` of them or they are in more than ``max_documents``
        documents (fts5vocab reads each term's document list: its cost grows with those)."""
        sql = _Sql(sqlite=True)
        statement = (
            f"SELECT term, doc FROM {FTS_TABLE}_vocab WHERE term >= {sql.bind(prefix)}"
            f" AND term < {sql.bind(prefix + _HIGHEST)} LIMIT {sql.bind(max_terms + 1)}"
        )
        rows = await self._rows(sql, statement)
        if len(rows) > max_terms or sum(row.doc for row in rows) > max_documents:
            return None
        return [row.term for row in rows]

    async def _direct(
        self,
        query: _Query,
        candidates: _Candidates,
        visibility: Visibility,
        *,
        limit: int,
        offset: int,
    ) -> Sequence[Any]:
        sql = candidates.sql(self._sqlite)
        statement = (
            "SELECT c.id, c.code, c.name, c.owner_id, c.name_initials,"
            f" {_bucket(sql, query)} AS bucket FROM customers AS c"
            f" WHERE {_among(candidates, self._sqlite)} AND {sql.scope(visibility)}"
            " ORDER BY bucket, c.updated_at DESC, c.id DESC"
            f" LIMIT {sql.bind(limit)} OFFSET {sql.bind(offset)}"
        )
        return await self._rows(sql, statement)

    async def _count(self, candidates: _Candidates, visibility: Visibility, *, cap: int) -> int:
        sql = candidates.sql(self._sqlite)
        statement = (
            "SELECT count(*) AS n FROM (SELECT c.id FROM customers AS c"
            f" WHERE {_among(candidates, self._sqlite)} AND {sql.scope(visibility)}"
            f" LIMIT {sql.bind(cap)}) AS matching"
        )
        rows = await self._rows(sql, statement)
        return int(rows[0].n)

    async def _hits(self, query: _Query, rows: Sequence[Any]) -> list[SearchHit]:
        others = [row.id for row in rows if row.bucket == _OTHER]
        tagged: set[int] = set()
        if others and not query.phone_tail:
            sql = _Sql(self._sqlite)
            ids = ", ".join(sql.bind(customer_id) for customer_id in others)
            tags = await self._rows(
                sql,
                "SELECT ct.customer_id, t.name FROM customer_tags AS ct"
                f" JOIN tags AS t ON t.id = ct.tag_id WHERE ct.customer_id IN ({ids})",
            )
            tagged = {
                row.customer_id
                for row in tags
                if query.text in normalize_text(row.name) or query.key in compact_key(row.name)
            }
        return [
            SearchHit(
                customer_id=row.id,
                code=row.code,
                name=row.name,
                owner_id=row.owner_id,
                matched=_reason(query, row, tagged),
                score=_SCORES[row.bucket],
            )
            for row in rows
        ]

    # --- typos ----------------------------------------------------------------------------

    async def _fuzzy(
        self, query: _Query, visibility: Visibility, *, exclude: set[int]
    ) -> list[SearchHit]:
        key = query.key
        variants = _variants(key) if FUZZY_MIN_KEY <= len(key) <= FUZZY_MAX_KEY else []
        sql = _Sql(self._sqlite)
        if self._sqlite:
            found = await self._fuzzy_found_sqlite(sql, query, variants)
        else:
            scope = sql.scope(visibility, alias="customers")
            found = _fuzzy_found_postgresql(sql, query, variants, scope)
        if found is None:
            return []
        excluded = ""
        if exclude:
            excluded = " AND c.id NOT IN (" + ", ".join(sql.bind(i) for i in exclude) + ")"
        if self._sqlite:  # visible candidates, capped (on PostgreSQL ``found`` does that)
            found = (
                f"c.id IN (SELECT c.id FROM customers AS c WHERE {found}"
                f" AND {sql.scope(visibility)} LIMIT {sql.bind(FUZZY_CANDIDATES)})"
            )
        columns = "c.id, c.code, c.name, c.owner_id, c.name_key, c.name_pinyin, c.search_text"
        statement = (
            f"SELECT {columns} FROM customers AS c WHERE {found}{excluded}"
            f" ORDER BY c.updated_at DESC, c.id DESC LIMIT {sql.bind(FUZZY_CHECKED)}"
        )
        rows = await self._rows(sql, statement)  # most recently updated first
        scored = [
            (similarity, row) for row in rows if (similarity := _similarity(query, row)) is not None
        ]
        scored.sort(key=lambda pair: -pair[0])  # stable: recency breaks ties
        return [
            SearchHit(
                customer_id=row.id,
                code=row.code,
                name=row.name,
                owner_id=row.owner_id,
                matched="fuzzy",
                score=round(similarity * FUZZY_SCORE_SCALE, 2),
            )
            for similarity, row in scored[:FUZZY_RESULTS]
        ]

    async def _fuzzy_found_sqlite(
        self, sql: _Sql, query: _Query, variants: Sequence[_Variant]
    ) -> str | None:
        """SQLite: an FTS5 query for the documents that may hold a homophone or a variant (a
        superset: rapidfuzz checks them after). Homophones share the initials, much rarer
        trigrams than pinyin syllables. A key of 6+ characters keeps one half intact under one
        edit (but for a swap across the middle), so its halves are searched. Shorter keys
        search each variant: a piece of 3+ characters as it is; a character between two
        shorter pieces is enumerated (letters and digits for Latin, the characters that follow
        the left piece in the index for Chinese)."""
        key = query.key
        phrases: list[str] = []
        if query.homophone:
            phrases.append(query.initials if len(query.initials) >= 3 else query.homophone)
        if len(key) >= 6:
            half = len(key) // 2
            phrases += [key[:half], key[half:], _swap(key, half)]
        for variant in variants if len(key) < 6 else ():
            left, right = variant.left, variant.right
            if not variant.gap:
                phrases.append(left)
            elif len(left) >= 3 or len(right) >= 3:
                phrases.append(left if len(left) >= len(right) else right)
            elif has_han(left + right):
                prefix = left[-2:]
                following = await self._terms_starting_with(prefix, SHORT_MAX_TERMS, 20_000)
                characters = {term[len(prefix)] for term in following or ()}
                phrases += [left + char + right for char in characters]
            else:
                phrases += [left + char + right for char in _LATIN_ALPHABET]
        phrases = [phrase for phrase in dict.fromkeys(phrases) if len(phrase) >= 3]
        if not phrases:
            return None
        matching = sql.fts(" OR ".join(_phrase(phrase) for phrase in phrases))
        # The newest documents first, and not too many: a variant common in the index (a
        # 3-character piece) must not cost a scan of half the table.
        return f"c.id IN ({matching} ORDER BY rowid DESC LIMIT {sql.bind(FTS_FUZZY_CANDIDATES)})"


@dataclass(frozen=True)
class _Candidates:
    statement: str
    params: dict[str, Any]

    def sql(self, sqlite: bool) -> _Sql:
        """A builder for a statement embedding these candidates (their values bound)."""
        sql = _Sql(sqlite)
        sql.params.update(self.params)
        return sql


def _among(candidates: _Candidates, sqlite: bool) -> str:
    """``c.id`` among the candidates. PostgreSQL cannot estimate how many rows the union
    yields and may then scan the whole table: ``= ANY(ARRAY(...))`` makes it look them up by
    primary key."""
    if sqlite:
        return f"c.id IN ({candidates.statement})"
    return f"c.id = ANY(ARRAY({candidates.statement}))"


def _fuzzy_found_postgresql(
    sql: _Sql, query: _Query, variants: Sequence[_Variant], scope: str
) -> str | None:
    """PostgreSQL: LIKE patterns served by the trigram index (each pattern's trigrams are
    ANDed, so a pattern should hold most of the key). One edit leaves two of a long key's
    three parts intact, in order (``%s1%s2%`` …), or one of a shorter key's halves (swaps
    across a boundary are added whole); keys of 4-5 characters get one pattern per variant,
    those without 3 literal characters in a row served by the 1-2 character gram index —
    each in a subquery of its own, so that PostgreSQL does not recompute the grams of every
    row the trigram index returns."""
    key = query.key
    patterns: list[str] = []
    if query.homophone:  # homophones share the initials, much rarer trigrams than pinyin
        patterns.append(_escape(query.initials if len(query.initials) >= 3 else query.homophone))
    by_grams: list[_Variant] = []
    if len(key) >= 9:
        first, second = len(key) // 3, 2 * len(key) // 3
        parts = [_escape(key[:first]), _escape(key[first:second]), _escape(key[second:])]
        patterns += [f"{parts[one]}%{parts[other]}" for one, other in ((0, 1), (0, 2), (1, 2))]
        patterns += [_escape(_swap(key, boundary)) for boundary in (first, second)]
    elif len(key) >= 6:
        half = len(key) // 2
        patterns += [_escape(needle) for needle in (key[:half], key[half:], _swap(key, half))]
    else:
        for variant in variants:
            if max(len(variant.left), len(variant.right)) >= 3:
                patterns.append(variant.pattern)
            else:
                by_grams.append(variant)
    cap = sql.bind(FUZZY_CANDIDATES)
    branches = []
    if patterns:
        matching = " OR ".join(sql.contains("search_text", pattern) for pattern in patterns)
        branches.append(f"SELECT id FROM customers WHERE ({matching}) AND {scope} LIMIT {cap}")
    for variant in by_grams:
        pieces = [piece for piece in (variant.left, variant.right) if piece]
        branches.append(
            f"SELECT id FROM customers WHERE {sql.grams_contain(pieces)}"
            f" AND {sql.contains('name_key', variant.pattern)} AND {scope} LIMIT {cap}"
        )
    if not branches:
        return None
    union = " UNION ".join(
        f"SELECT id FROM ({branch}) AS b{n}" for n, branch in enumerate(branches)
    )
    return f"c.id = ANY(ARRAY({union}))"


def _swap(key: str, boundary: int) -> str:
    """The key with the characters on either side of ``boundary`` swapped."""
    return key[: boundary - 1] + key[boundary] + key[boundary - 1] + key[boundary + 1 :]


def _similarity(query: _Query, row: Any) -> float | None:
    """How close a candidate is, or None when its document does not hold the key with at most
    one edit (nor the key's pinyin)."""
    if query.homophone and query.homophone in row.search_text:
        return 100.0 if query.homophone in row.name_pinyin else 95.0
    size = len(query.key)
    if size < FUZZY_MIN_KEY:
        return None
    # One edit costs 2 in rapidfuzz's InDel distance over a window of the key's length.
    least = 100.0 * (1 - 1 / size) - 1e-6
    on_name = max(
        fuzz.partial_ratio(query.key, row.name_key, score_cutoff=least),
        fuzz.partial_ratio(query.key, row.name_pinyin, score_cutoff=least),
    )
    if on_name:
        return float(on_name)
    on_document = fuzz.partial_ratio(query.key, row.search_text, score_cutoff=least)
    return float(on_document) - 5 if on_document else None


def _bucket(sql: _Sql, query: _Query) -> str:
    key = _escape(query.key)
    whens = [
        (sql.any_of("c.code", query.codes), _CODE),
        (f"c.name_key = {sql.bind(query.key)}", _NAME),
    ]
    if query.phone_tail:
        tail = sql.phone_tail(query.phone_tail)
        whens.append(
            (f"EXISTS (SELECT 1 FROM contacts WHERE customer_id = c.id AND {tail})", _PHONE)
        )
    whens += [
        (sql.like("c.name_key", key + "%"), _PREFIX),
        (
            f"(c.name_initials = {sql.bind(query.key)} OR c.name_pinyin = {sql.bind(query.key)})",
            _KEYS_EXACT,
        ),
        (sql.contains("c.name_key", key), _SUBSTRING),
    ]
    word_keys = [compact_key(word) for word in query.words]
    if len(word_keys) > 1 and all(word_keys):  # every word somewhere in the name
        every_word = " AND ".join(sql.contains("c.name_key", _escape(w)) for w in word_keys)
        whens.append((f"({every_word})", _SUBSTRING))
    whens.append(
        (
            f"({sql.contains('c.name_initials', key)} OR {sql.contains('c.name_pinyin', key)})",
            _KEYS_PARTIAL,
        )
    )
    cases = " ".join(f"WHEN {condition} THEN {bucket}" for condition, bucket in whens)
    return f"CASE {cases} ELSE {_OTHER} END"


def _reason(query: _Query, row: Any, tagged: set[int]) -> str:
    bucket = row.bucket
    if bucket == _CODE:
        return "code"
    if bucket == _PHONE:
        return "phone"
    if bucket in (_KEYS_EXACT, _KEYS_PARTIAL):
        return "initials" if query.key in row.name_initials else "pinyin"
    if bucket != _OTHER:
        return "name"
    if row.id in tagged:
        return "tag"
    if query.key in row.code.casefold():
        return "code"
    if query.phone_tail:
        return "phone"
    return "contact"
