"""Bot API methods about the bot itself: getMe, logOut, close and the command menus."""

from __future__ import annotations

import re
from typing import Any

from bot.fake_api.models import ApiRequest, bad_request
from bot.fake_api.state import Handler, TelegramState

_COMMAND = re.compile(r"[a-z0-9_]{1,32}")
ScopeKey = tuple[Any, ...]


def scope_key(scope: dict[str, Any] | None) -> ScopeKey:
    """``("default",)``, ``("chat", chat_id)``, ``("chat_member", chat_id, user_id)``, ..."""
    scope = scope or {"type": "default"}
    key: tuple[Any, ...] = (scope.get("type", "default"),)
    if "chat_id" in scope:
        key += (scope["chat_id"],)
    if "user_id" in scope:
        key += (scope["user_id"],)
    return key


async def get_me(state: TelegramState, request: ApiRequest) -> dict[str, Any]:
    return {
        **state.bot_user,
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


async def log_out(state: TelegramState, request: ApiRequest) -> bool:
    return True


async def set_my_commands(state: TelegramState, request: ApiRequest) -> bool:
    commands = request.params.get("commands") or []
    for command in commands:
        if not _COMMAND.fullmatch(str(command.get("command", ""))):
            raise bad_request("BOT_COMMAND_INVALID")
        if not str(command.get("description", "")).strip():
            raise bad_request("command description must be non-empty")
    key = _key(state, request)
    if commands:
        state.commands[key] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
    else:
        state.commands.pop(key, None)
    return True


async def get_my_commands(state: TelegramState, request: ApiRequest) -> list[dict[str, str]]:
    return list(state.commands.get(_key(state, request), []))


async def delete_my_commands(state: TelegramState, request: ApiRequest) -> bool:
    state.commands.pop(_key(state, request), None)
    return True


def _key(state: TelegramState, request: ApiRequest) -> tuple[ScopeKey, str]:
    scope = request.params.get("scope")
    if scope is not None and not isinstance(scope, dict):
        raise bad_request("can't parse BotCommandScope JSON object")
    if scope and "chat_id" in scope:
        state.known_chat(scope["chat_id"])
    return scope_key(scope), str(request.params.get("language_code") or "")


METHODS: dict[str, Handler] = {
    "getMe": get_me,
    "logOut": log_out,
    "close": log_out,
    "setMyCommands": set_my_commands,
    "getMyCommands": get_my_commands,
    "deleteMyCommands": delete_my_commands,
}
