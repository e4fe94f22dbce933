"""Decoding request parameters the way the Bot API types them.

PTB sends string parameters raw and JSON-encodes everything else, so each parameter is decoded
by its documented type, never by looking at the value: a text "123" stays the string "123".
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from bot.fake_api.models import bad_request

# "Integer or String" parameters: a numeric id, or an @channelusername.
CHAT_ID_PARAMS = frozenset({"chat_id", "from_chat_id", "sender_chat_id"})

# Parameters whose Bot API type is Integer, Boolean, Float, an object or an array.
JSON_PARAMS = frozenset(
    {
        "allow_paid_broadcast",
        "allow_sending_without_reply",
        "allowed_updates",
        "cache_time",
        "caption_entities",
        "commands",
        "disable_content_type_detection",
        "disable_notification",
        "disable_web_page_preview",
        "drop_pending_updates",
        "duration",
        "entities",
        "has_spoiler",
        "height",
        "limit",
        "link_preview_options",
        "max_connections",
        "message_id",
        "message_ids",
        "message_thread_id",
        "offset",
        "protect_content",
        "reply_markup",
        "reply_parameters",
        "reply_to_message_id",
        "revoke_messages",
        "rights",
        "scope",
        "show_alert",
        "show_caption_above_media",
        "supports_streaming",
        "timeout",
        "until_date",
        "user_id",
        "width",
    }
)

# Every other parameter is String-typed in the Bot API (text, caption, parse_mode, url,
# file_id, callback_query_id, secret_token, language_code, ...) and is kept exactly as sent.


def decode_form(raw: Mapping[str, str]) -> dict[str, Any]:
    """Turn form fields into typed values; parameters the fake does not know stay strings."""
    return {name: _decode_one(name, value) for name, value in raw.items()}


def _decode_one(name: str, value: str) -> Any:
    if name in CHAT_ID_PARAMS:
        return _chat_id(value)
    if name in JSON_PARAMS:
        try:
            return json.loads(value)
        except ValueError:
            raise bad_request(f"can't parse {name} JSON object") from None
    return value


def _chat_id(value: str) -> int | str:
    try:
        return int(value)
    except ValueError:
        return value
