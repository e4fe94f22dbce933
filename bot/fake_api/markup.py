"""Text formatting and keyboards, validated as Telegram does.

``parse_mode="HTML"`` is parsed like Telegram's server (same error texts, entities in UTF-16
offsets); Markdown modes are passed through unparsed.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

from bot.fake_api.models import bad_request

MAX_CALLBACK_DATA_BYTES = 64
MAX_BUTTONS = 100
_BUTTON_ACTIONS = (
    "callback_data",
    "url",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
    "web_app",
)
_TAG_ENTITY = {
    "a": "text_link",
    "b": "bold",
    "blockquote": "blockquote",
    "code": "code",
    "del": "strikethrough",
    "em": "italic",
    "i": "italic",
    "ins": "underline",
    "pre": "pre",
    "s": "strikethrough",
    "span": "spoiler",
    "strike": "strikethrough",
    "strong": "bold",
    "tg-emoji": "custom_emoji",
    "tg-spoiler": "spoiler",
    "u": "underline",
}
_ATTRIBUTE = re.compile(r"""([a-zA-Z-]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s>]+))?""")
_TAG_NAME = re.compile(r"[^\s>]*")
_ENTITY_REF = re.compile(r"&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);")
_NAMED_REFS = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


@dataclass(frozen=True)
class RenderedText:
    """Text as the recipient sees it, plus its entities."""

    text: str
    entities: list[dict[str, Any]] = field(default_factory=list)


def render(raw: str, parse_mode: str | None, entities: list[dict[str, Any]] | None) -> RenderedText:
    """Apply ``parse_mode`` (HTML only) or explicit entities; raises 400 on bad HTML."""
    if parse_mode and parse_mode.lower() == "html":
        try:
            return _trim(*_parse_html(raw))
        except _HtmlError as error:
            raise bad_request(f"can't parse entities: {error}") from None
    return RenderedText(raw, list(entities or []))


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def check_reply_markup(markup: Any) -> dict[str, Any] | None:
    """Validate a reply_markup object the way Telegram rejects bad keyboards."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    rows = markup.get("inline_keyboard")
    if rows is None:
        return markup
    buttons = [button for row in rows for button in row]
    if len(buttons) > MAX_BUTTONS:
        raise bad_request("reply markup is too long")
    for button in buttons:
        _check_inline_button(button)
    return markup


def _check_inline_button(button: dict[str, Any]) -> None:
    if not any(key in button for key in _BUTTON_ACTIONS):
        raise bad_request("text buttons are unallowed in the inline keyboard")
    data = button.get("callback_data")
    if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA_BYTES:
        raise bad_request("BUTTON_DATA_INVALID")


class _HtmlError(Exception):
    pass


@dataclass
class _Open:
    tag: str
    offset: int
    attributes: dict[str, str]


@dataclass
class _HtmlParser:
    source: str
    out: list[str] = field(default_factory=list)
    length: int = 0
    stack: list[_Open] = field(default_factory=list)
    entities: list[dict[str, Any]] = field(default_factory=list)

    def emit(self, chunk: str) -> None:
        self.out.append(chunk)
        self.length += utf16_len(chunk)

    def byte_offset(self, index: int) -> int:
        return len(self.source[:index].encode())

    def open_tag(self, index: int) -> int:
        """Push the start tag at ``index``; returns the index of its closing ``>``."""
        name_match = _TAG_NAME.match(self.source, index + 1)
        assert name_match is not None  # the pattern matches the empty string too
        unclosed = _HtmlError(f"Unclosed start tag at byte offset {self.byte_offset(index)}")
        if name_match.end() == len(self.source):
            raise unclosed
        name = name_match.group(0).lower()
        if name not in _TAG_ENTITY:
            raise _HtmlError(
                f'Unsupported start tag "{name}" at byte offset {self.byte_offset(index)}'
            )
        end = self.source.find(">", name_match.end())
        if end == -1:
            raise unclosed
        rest = self.source[name_match.end() : end]
        attributes = {
            key.lower(): html.unescape(value.strip("\"'"))
            for key, value in _ATTRIBUTE.findall(rest)
        }
        if name == "span" and attributes.get("class") != "tg-spoiler":
            raise _HtmlError('Tag "span" must have class "tg-spoiler"')
        self.stack.append(_Open(name, self.length, attributes))
        return end

    def close_tag(self, index: int) -> int:
        """Pop the end tag at ``index``; returns the index of its closing ``>``."""
        end = self.source.find(">", index)
        if end == -1:
            raise _HtmlError(f"Unclosed end tag at byte offset {self.byte_offset(index)}")
        name = self.source[index + 2 : end].strip().lower()
        if not self.stack:
            raise _HtmlError(f"Unexpected end tag at byte offset {self.byte_offset(index)}")
        opened = self.stack.pop()
        if name and name != opened.tag:
            raise _HtmlError(
                f"Unmatched end tag at byte offset {self.byte_offset(index)}, "
                f'expected "</{opened.tag}>", found "</{name}>"'
            )
        self._add_entity(opened)
        return end

    def _add_entity(self, opened: _Open) -> None:
        length = self.length - opened.offset
        if length <= 0:
            return
        entity: dict[str, Any] = {
            "type": _TAG_ENTITY[opened.tag],
            "offset": opened.offset,
            "length": length,
        }
        attributes = opened.attributes
        if opened.tag == "a":
            entity["url"] = attributes.get("href", "")
        elif opened.tag == "blockquote" and "expandable" in attributes:
            entity["type"] = "expandable_blockquote"
        elif opened.tag == "tg-emoji":
            entity["custom_emoji_id"] = attributes.get("emoji-id", "")
        elif opened.tag == "code" and self.stack and self.stack[-1].tag == "pre":
            language = attributes.get("class", "").removeprefix("language-")
            if language:
                self.stack[-1].attributes["language"] = language
                return
        elif opened.tag == "pre" and attributes.get("language"):
            entity["language"] = attributes["language"]
        self.entities.append(entity)


def _parse_html(source: str) -> tuple[str, list[dict[str, Any]]]:
    parser = _HtmlParser(source)
    index = 0
    while index < len(source):
        char = source[index]
        if char == "&" and (decoded := _entity_ref(source, index)):
            parser.emit(decoded[0])
            index = decoded[1]
            continue
        if char != "<":
            parser.emit(char)
            index += 1
            continue
        closing = source.startswith("</", index)
        index = (parser.close_tag(index) if closing else parser.open_tag(index)) + 1
    if parser.stack:
        raise _HtmlError(f'Can\'t find end tag corresponding to start tag "{parser.stack[-1].tag}"')
    parser.entities.sort(key=lambda entity: (entity["offset"], -entity["length"]))
    return "".join(parser.out), parser.entities


def _entity_ref(source: str, index: int) -> tuple[str, int] | None:
    """Decode ``&lt;``-style references Telegram knows; any other ``&`` stays literal."""
    ref = _ENTITY_REF.match(source, index)
    if ref is None:
        return None
    name = ref.group(1)
    if name.startswith("#"):
        return html.unescape(ref.group(0)), ref.end()
    if name in _NAMED_REFS:
        return _NAMED_REFS[name], ref.end()
    return None


def _trim(text: str, entities: list[dict[str, Any]]) -> RenderedText:
    """Strip surrounding whitespace like Telegram, keeping entities inside the result."""
    stripped = text.strip()
    if stripped == text:
        return RenderedText(text, entities)
    shift = utf16_len(text[: len(text) - len(text.lstrip())])
    limit = utf16_len(stripped)
    kept: list[dict[str, Any]] = []
    for entity in entities:
        start = max(entity["offset"] - shift, 0)
        end = min(entity["offset"] + entity["length"] - shift, limit)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    return RenderedText(stripped, kept)


def require_text(rendered: RenderedText, limit: int, what: str) -> None:
    """Raise Telegram's empty/too-long errors for a message text or caption."""
    if what == "text" and not rendered.text.strip():
        raise bad_request("message text is empty")
    if len(rendered.text) > limit:
        raise bad_request(
            "message is too long" if what == "text" else "message caption is too long"
        )
