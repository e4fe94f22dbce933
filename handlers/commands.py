"""Which commands each role sees, in /help and in Telegram's command menu."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from telegram import BotCommand, BotCommandScopeChat
from telegram.ext import ExtBot

from bot.i18n import Catalogue
from crm.members import Role
from crm.permissions import Action, can, invitable_roles


@dataclass(frozen=True)
class Command:
    name: str
    visible_to: Callable[[Role], bool]

    @property
    def description_key(self) -> str:
        return f"commands.{self.name}"


def _everyone(_: Role) -> bool:
    return True


COMMANDS: tuple[Command, ...] = (
    Command("today", _everyone),
    Command("find", _everyone),
    Command("new", _everyone),
    Command("log", _everyone),
    Command("tasks", _everyone),
    Command("cancel", _everyone),
    Command("invite", lambda role: bool(invitable_roles(role))),
    Command("choices", lambda role: can(role, Action.MANAGE_MEMBERS)),
    Command("fields", lambda role: can(role, Action.MANAGE_MEMBERS)),
    Command("survey", lambda role: can(role, Action.RUN_SURVEYS)),
    Command("keywords", lambda role: can(role, Action.RUN_SURVEYS)),
    Command("digest", _everyone),
    Command("report", lambda role: can(role, Action.VIEW_REPORTS)),
    Command("export", lambda role: can(role, Action.EXPORT_DATA)),
    Command("import", lambda role: can(role, Action.IMPORT_CUSTOMERS)),
    Command("withdraw", _everyone),
    Command("lang", _everyone),
    Command("help", _everyone),
    Command("start", _everyone),
)
PUBLIC_COMMANDS: tuple[str, ...] = ("start", "withdraw")


def commands_for(role: Role) -> list[Command]:
    return [command for command in COMMANDS if command.visible_to(role)]


def bot_commands(catalogue: Catalogue, language: str, names: list[str]) -> list[BotCommand]:
    return [BotCommand(name, catalogue.t(language, f"commands.{name}")) for name in names]


@dataclass(frozen=True)
class Menu:
    commands: tuple[BotCommand, ...]
    signature: str  # changes whenever the commands or their descriptions change


@cache
def menu_for(catalogue: Catalogue, role: Role, language: str) -> Menu:
    names = [command.name for command in commands_for(role)]
    commands = tuple(bot_commands(catalogue, language, names))
    flat = "\n".join(f"{command.command}={command.description}" for command in commands)
    return Menu(commands, hashlib.sha256(flat.encode()).hexdigest()[:16])


async def set_member_menu(bot: ExtBot[None], chat_id: int, menu: Menu) -> None:
    await bot.set_my_commands(menu.commands, scope=BotCommandScopeChat(chat_id))


async def set_public_menus(bot: ExtBot[None], catalogue: Catalogue) -> None:
    """What people who are not members yet see: Chinese for zh apps, English for the rest."""
    await bot.set_my_commands(bot_commands(catalogue, "en", list(PUBLIC_COMMANDS)))
    await bot.set_my_commands(
        bot_commands(catalogue, "zh", list(PUBLIC_COMMANDS)), language_code="zh"
    )
