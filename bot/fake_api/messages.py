"""Bot API methods that send, edit and delete messages, answer queries and serve files."""

from __future__ import annotations

import struct
from typing import Any

from bot.fake_api.markup import RenderedText, check_reply_markup, render, require_text
from bot.fake_api.models import (
    NOT_MODIFIED,
    ApiError,
    ApiRequest,
    CallbackAnswer,
    MessageKind,
    bad_request,
)
from bot.fake_api.state import ChatState, Handler, StoredFile, StoredMessage, TelegramState

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_DOWNLOAD = 20 * 1024 * 1024
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)


async def send_message(state: TelegramState, request: ApiRequest) -> dict[str, Any]:
    chat = state.chat_for(request.params.get("chat_id"))
    rendered = _rendered(request, "text", "entities")
    require_text(rendered, MAX_TEXT, "text")
    content = _content(rendered, "text", "entities")
    return _send(state, chat, request, "text", content, "text").json


async def send_photo(state: TelegramState, request: ApiRequest) -> dict[str, Any]:
    chat = state.chat_for(request.params.get("chat_id"))
    caption = _caption(request)
    stored = _input_file(state, request, "photo", "photos")
    content = {"photo": [photo_size(stored)], **caption}
    return _send(state, chat, request, "photo", content, "caption", stored).json


async def send_document(state: TelegramState, request: ApiRequest) -> dict[str, Any]:
    chat = state.chat_for(request.params.get("chat_id"))
    caption = _caption(request)
    stored = _input_file(state, request, "document", "documents")
    content = {"document": document_object(stored), **caption}
    return _send(state, chat, request, "document", content, "caption", stored).json


async def edit_message_text(state: TelegramState, request: ApiRequest) -> dict[str, Any]:
    message = _message_to_edit(state, request)
    if message.kind != "text":
        raise bad_request("there is no text in the message to edit")
    rendered = _rendered(request, "text", "entities")
    require_text(rendered, MAX_TEXT, "text")
    _apply_edit(state, message, request, _content(rendered, "text", "entities"), "text")
    return message.json


async def edit_message_caption(state: TelegramState, request: ApiRequest) -> dict[str, Any]:
    message = _message_to_edit(state, request)
    if message.kind not in ("photo", "document"):
        raise bad_request("there is no caption in the message to edit")
    content = _caption(request)
    _apply_edit(state, message, request, content, "caption", ("caption", "caption_entities"))
    return message.json


async def edit_message_reply_markup(state: TelegramState, request: ApiRequest) -> dict[str, Any]:
    message = _message_to_edit(state, request)
    _apply_edit(state, message, request, {}, None, ())
    return message.json


async def delete_message(state: TelegramState, request: ApiRequest) -> bool:
    chat = state.known_chat(request.params.get("chat_id"))
    message = chat.messages.get(request.params.get("message_id", 0))
    if message is None or message.deleted:
        raise bad_request("message to delete not found")
    message.deleted = True
    state.changed()
    return True


async def answer_callback_query(state: TelegramState, request: ApiRequest) -> bool:
    query_id = request.params.get("callback_query_id", "")
    query = state.queries.pop(query_id, None)
    if query is None:
        raise bad_request("query is too old and response timeout expired or query ID is invalid")
    answer = CallbackAnswer(
        query_id=query_id,
        data=query.data,
        text=request.params.get("text"),
        show_alert=bool(request.params.get("show_alert", False)),
        url=request.params.get("url"),
    )
    query.message.answers.append(answer)
    state.changed()
    return True


async def send_chat_action(state: TelegramState, request: ApiRequest) -> bool:
    state.chat_for(request.params.get("chat_id"))
    if request.params.get("action") not in CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")
    return True


async def get_file(state: TelegramState, request: ApiRequest) -> dict[str, Any]:
    stored = state.files.by_id(str(request.params.get("file_id", "")))
    if stored is None:
        raise bad_request("invalid file_id")
    if len(stored.data) > MAX_DOWNLOAD:
        raise bad_request("file is too big")
    return stored.as_file()


def photo_size(stored: StoredFile) -> dict[str, Any]:
    width, height = _image_size(stored.data)
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": len(stored.data),
        "width": width,
        "height": height,
    }


def document_object(stored: StoredFile) -> dict[str, Any]:
    document: dict[str, Any] = {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "mime_type": stored.mime_type,
        "file_size": len(stored.data),
    }
    if stored.file_name:
        document["file_name"] = stored.file_name
    return document


def _image_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG; a plausible default for anything else."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    return 512, 512


def _rendered(request: ApiRequest, text_key: str, entities_key: str) -> RenderedText:
    raw = request.params.get(text_key)
    return render(
        raw if isinstance(raw, str) else "",
        request.params.get("parse_mode"),
        request.params.get(entities_key),
    )


def _content(rendered: RenderedText, text_key: str, entities_key: str) -> dict[str, Any]:
    content: dict[str, Any] = {text_key: rendered.text}
    if rendered.entities:
        content[entities_key] = rendered.entities
    return content


def _caption(request: ApiRequest) -> dict[str, Any]:
    rendered = _rendered(request, "caption", "caption_entities")
    require_text(rendered, MAX_CAPTION, "caption")
    return _content(rendered, "caption", "caption_entities") if rendered.text else {}


def _input_file(state: TelegramState, request: ApiRequest, name: str, folder: str) -> StoredFile:
    """The uploaded file (by part name or attach:// reference), or a known file_id."""
    value = request.params.get(name)
    part = name
    if isinstance(value, str) and value.startswith("attach://"):
        part = value.removeprefix("attach://")
    upload = request.uploads.get(part)
    if upload is not None:
        return state.files.add(upload.body, upload.filename, upload.content_type, folder)
    if isinstance(value, str) and value:
        stored = state.files.by_id(value)
        if stored is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        return stored
    raise bad_request(f"there is no {name} in the request")


def _send(
    state: TelegramState,
    chat: ChatState,
    request: ApiRequest,
    kind: MessageKind,
    content: dict[str, Any],
    text_key: str,
    stored: StoredFile | None = None,
) -> StoredMessage:
    markup = check_reply_markup(request.params.get("reply_markup"))
    reply_to = _reply_target(chat, request.params)
    message_id = chat.next_message_id()
    json: dict[str, Any] = {
        "message_id": message_id,
        "from": state.bot_user,
        "chat": chat.info,
        "date": state.timestamp(),
        **content,
    }
    if reply_to is not None:
        json["reply_to_message"] = reply_to.as_reply_target()
    if markup and "inline_keyboard" in markup:
        json["reply_markup"] = markup
    message = StoredMessage(
        message_id=message_id,
        chat_id=chat.id,
        from_bot=True,
        kind=kind,
        json=json,
        sent_at=state.clock.now(),
        markup=markup,
        raw_text=str(request.params.get(text_key) or ""),
        parse_mode=request.params.get("parse_mode"),
        file=stored,
    )
    return state.add_message(chat, message)


def _reply_target(chat: ChatState, params: dict[str, Any]) -> StoredMessage | None:
    reply = params.get("reply_parameters") or {}
    message_id = reply.get("message_id", params.get("reply_to_message_id"))
    if message_id is None:
        return None
    target = chat.messages.get(message_id)
    if target is not None and not target.deleted:
        return target
    allowed = reply.get("allow_sending_without_reply", params.get("allow_sending_without_reply"))
    if allowed:
        return None
    raise bad_request("message to be replied not found")


def _message_to_edit(state: TelegramState, request: ApiRequest) -> StoredMessage:
    params = request.params
    if "inline_message_id" in params:
        raise bad_request("MESSAGE_ID_INVALID")
    chat = state.chat_for(params.get("chat_id"))
    if "message_id" not in params:
        raise bad_request("message identifier is not specified")
    message = chat.messages.get(params["message_id"])
    if message is None or message.deleted:
        raise bad_request("message to edit not found")
    if not message.from_bot:
        raise bad_request("message can't be edited")
    return message


def _apply_edit(
    state: TelegramState,
    message: StoredMessage,
    request: ApiRequest,
    content: dict[str, Any],
    text_key: str | None,
    keys: tuple[str, ...] = ("text", "entities"),
) -> None:
    """Replace content and markup (absent markup removes the keyboard, as on Telegram)."""
    markup = check_reply_markup(request.params.get("reply_markup"))
    before = {key: message.json.get(key) for key in (*keys, "reply_markup")}
    after = {key: content.get(key) for key in keys} | {"reply_markup": markup}
    if before == after:
        raise ApiError(400, NOT_MODIFIED)
    for key in keys:
        message.json.pop(key, None)
    message.json.update(content)
    message.json.pop("reply_markup", None)
    if markup:
        message.json["reply_markup"] = markup
    message.markup = markup
    if text_key is not None:
        message.raw_text = str(request.params.get(text_key) or "")
        message.parse_mode = request.params.get("parse_mode")
    message.json["edit_date"] = state.timestamp()
    message.edits += 1
    state.changed()


METHODS: dict[str, Handler] = {
    "sendMessage": send_message,
    "sendPhoto": send_photo,
    "sendDocument": send_document,
    "editMessageText": edit_message_text,
    "editMessageCaption": edit_message_caption,
    "editMessageReplyMarkup": edit_message_reply_markup,
    "deleteMessage": delete_message,
    "answerCallbackQuery": answer_callback_query,
    "sendChatAction": send_chat_action,
    "getFile": get_file,
}
