"""Inline keyboards. Callback data is ``<area>:<value>``, at most 64 bytes, always validated by
the pattern of the handler that receives it."""

from __future__ import annotations

from collections.abc import Callable

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from crm.members import LANGUAGES, Role

LANGUAGE_PATTERN = rf"^lang:({'|'.join(LANGUAGES)})$"
INVITE_PATTERN = rf"^invite:({Role.REP}|{Role.MANAGER})$"


def language_choice(t: Callable[[str], str], current: str) -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(
            ("✓ " if language == current else "") + t(f"lang.name_{language}"),
            callback_data=f"lang:{language}",
        )
        for language in LANGUAGES
    ]
    return InlineKeyboardMarkup([buttons])


def invite_roles(t: Callable[[str], str], roles: tuple[Role, ...]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t(f"invite.role_button_{role}"), callback_data=f"invite:{role}"
                )
                for role in roles
            ]
        ]
    )
