"""Members of the sales organisation: who they are, their role, language and team."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

LANGUAGES = ("zh", "en")


class Role(StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    REP = "rep"


@dataclass(frozen=True)
class Person:
    """Whoever is talking to the bot, as Telegram describes them (member or not)."""

    telegram_id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None

    @property
    def display_name(self) -> str:
        full = " ".join(part for part in (self.first_name, self.last_name) if part)
        return full.strip() or (self.username or str(self.telegram_id))


@dataclass(frozen=True)
class Team:
    id: int
    name: str


@dataclass(frozen=True)
class Member:
    id: int
    telegram_id: int
    name: str
    username: str | None
    role: Role
    team_id: int | None
    language: str | None
    timezone: str | None
    active: bool
    reachable: bool
    menu_signature: str | None
    created_at: datetime
    digest_time: str | None = None  # "HH:MM" local; None: the organisation's default
    digest_enabled: bool = True

    def as_person(self) -> Person:
        return Person(telegram_id=self.telegram_id, first_name=self.name, username=self.username)


@dataclass(frozen=True)
class NewMember:
    telegram_id: int
    name: str
    username: str | None
    role: Role
    team_id: int | None
    language: str | None


def resolve_language(chosen: str | None, telegram_code: str | None, default: str) -> str:
    """The member's own choice, else Telegram's app language (zh* → zh, else en), else default."""
    if chosen in LANGUAGES:
        return chosen
    if telegram_code:
        return "zh" if telegram_code.lower().startswith("zh") else "en"
    return default if default in LANGUAGES else "zh"
