"""Domain errors carry the catalogue key of what the user should be told; one error handler in
the bot turns them into a localized reply and rolls the update's transaction back."""

from __future__ import annotations

from crm.texts import Text


class DomainError(Exception):
    """A rule said no. ``text`` is what the user reads, in their language."""

    def __init__(self, key: str, **vars: str | int | float | Text) -> None:
        super().__init__(key)
        self.text = Text(key, vars)


class NotAllowed(DomainError):
    """The member's role does not allow this."""


class NotFound(DomainError):
    """The thing asked for does not exist, or is not visible to the member."""


class InvalidInput(DomainError):
    """The input cannot be used; the text says what works instead."""
