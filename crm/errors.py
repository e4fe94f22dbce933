"""Domain errors carry the catalogue key of what the user should be told; one error handler in
the bot turns them into a localized reply and rolls the update's transaction back."""

from __future__ import annotations

from typing import Self

from crm.audit import AuditEntry
from crm.texts import Text


class DomainError(Exception):
    """A rule said no. ``text`` is what the user reads, in their language. ``audit`` is an
    entry to keep even though the update's work is rolled back (e.g. a refused access)."""

    def __init__(self, key: str, **vars: str | int | float | Text) -> None:
        super().__init__(key)
        self.text = Text(key, vars)
        self.audit: AuditEntry | None = None

    def with_audit(self, entry: AuditEntry) -> Self:
        self.audit = entry
        return self


class NotAllowed(DomainError):
    """The member's role does not allow this."""


class NotFound(DomainError):
    """The thing asked for does not exist, or is not visible to the member."""


class InvalidInput(DomainError):
    """The input cannot be used; the text says what works instead."""
