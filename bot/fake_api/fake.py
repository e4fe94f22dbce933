"""``FakeTelegram``: a local Bot API server for end-to-end tests, the sandbox and benchmarks."""

from __future__ import annotations

import copy
import inspect
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any

from bot.fake_api import account, messages, updates
from bot.fake_api.account import scope_key
from bot.fake_api.faults import Fault, FaultBook, FaultKind
from bot.fake_api.models import ApiError, ApiRequest, BotMessage, RecordedCall
from bot.fake_api.params import decode_form
from bot.fake_api.server import ApiServer, RawCall, Reply
from bot.fake_api.state import ChatState, Handler, TelegramState
from bot.fake_api.updates import WebhookDelivery
from bot.fake_api.users import UserHandle
from crm.clock import Clock, SystemClock

_LOG = logging.getLogger(__name__)
_DROPPED = Reply(0, None)
_FLOOD_METHODS = {"sendmessage", "sendphoto", "senddocument", "editmessagetext"}

CallHook = Callable[[RecordedCall], Awaitable[None] | None]


class FloodLimit:
    def __init__(self, per_second: int) -> None:
        self.per_second = per_second
        self.sent: deque[datetime] = deque()
        self.refused = 0

    def check(self, now: datetime) -> None:
        while self.sent and now - self.sent[0] >= timedelta(seconds=1):
            self.sent.popleft()
        if len(self.sent) >= self.per_second:
            self.refused += 1
            raise ApiError(429, "Too Many Requests: retry after 1", {"retry_after": 1})
        self.sent.append(now)


class FakeTelegram:
    """A fake Telegram Bot API over real HTTP; act as users, inspect what the bot sent."""

    def __init__(
        self,
        clock: Clock | None = None,
        bot_id: int = 7000000001,
        bot_username: str = "KehuSandboxBot",
        bot_first_name: str = "Kehu",
        first_update_id: int = 1,
    ) -> None:
        self.clock = clock or SystemClock()
        bot_user = {
            "id": bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        self.state = TelegramState(self.clock, bot_user, first_update_id)
        self.reject_token = False
        self.tokens: list[str] = []
        self.webhook_retry_delay = 0.05
        self.hook_errors: list[BaseException] = []
        self.host = "127.0.0.1"
        self.port: int | None = None
        self._faults = FaultBook()
        self._hooks: list[CallHook] = []
        self._flood: FloodLimit | None = None
        self._users: dict[int, UserHandle] = {}
        self._methods: dict[str, Handler] = {
            name.lower(): handler
            for table in (messages.METHODS, account.METHODS, updates.METHODS)
            for name, handler in table.items()
        }
        self._server = ApiServer(self._dispatch, self._download, self.state.changed)
        self._webhooks = WebhookDelivery(self.state, lambda: self.webhook_retry_delay)

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> FakeTelegram:
        """Listen on ``host:port`` (0 picks a free port)."""
        self.state.stopping = False
        self.host = host
        self.port = await self._server.start(host, port)
        self._webhooks.start()
        return self

    async def stop(self) -> None:
        """End pending long polls and held calls, stop webhook delivery, close the server."""
        self.state.stopping = True
        self.state.changed()
        await self._webhooks.stop()
        await self._server.stop()
        self.port = None

    async def __aenter__(self) -> FakeTelegram:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """For ``Bot(base_url=...)``: PTB appends the token, then ``/method``."""
        return f"{self._origin()}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self._origin()}/file/bot"

    def _origin(self) -> str:
        if self.port is None:
            raise RuntimeError("FakeTelegram is not started")
        return f"http://{self.host}:{self.port}"

    # -- recorded calls ----------------------------------------------------------------------

    @property
    def calls(self) -> list[RecordedCall]:
        return self.state.calls

    def calls_to(self, method: str) -> list[RecordedCall]:
        return [call for call in self.state.calls if call.method.lower() == method.lower()]

    def sent_messages(self, chat_id: int | None = None) -> list[BotMessage]:
        """Every message the bot sent (to ``chat_id``, if given), in order, as it is now."""
        return [
            message.snapshot()
            for message in self.state.bot_messages
            if chat_id is None or message.chat_id == chat_id
        ]

    def on_call(self, callback: CallHook) -> None:
        """Call ``callback(call)`` (sync or async) after recording each call, before answering."""
        self._hooks.append(callback)

    def remove_hook(self, callback: CallHook) -> None:
        self._hooks.remove(callback)

    async def wait_for_calls(
        self,
        method: str,
        count: int,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[RecordedCall]:
        """Wait until ``count`` calls to ``method`` were recorded; returns them all."""
        if not await self.state.signal.wait_until(
            lambda: len(self.calls_to(method)) >= count, timeout
        ):
            seen = len(self.calls_to(method))
            raise AssertionError(f"{seen} of {count} {method} calls within {timeout}s")
        return self.calls_to(method)

    async def wait_until(
        self,
        condition: Callable[[], bool],
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> None:
        """Wait until ``condition()`` holds (re-checked whenever the fake's state changes)."""
        if not await self.state.signal.wait_until(condition, timeout):
            raise AssertionError(f"condition still false after {timeout}s")

    # -- faults ------------------------------------------------------------------------------

    def inject(
        self,
        fault: Fault,
        method: str | None = None,
        times: int | None = 1,
        chat_id: int | str | None = None,
    ) -> None:
        """Apply ``fault`` to the next ``times`` matching calls (None: every matching call)."""
        self._faults.add(fault, method, times, chat_id)

    def enforce_flood_limit(self, per_second: int = 30) -> None:
        """Answer 429 (retry after 1 s) to any message beyond ``per_second`` in a rolling second,
        as Telegram does for a bot's overall sending rate."""
        self._flood = FloodLimit(per_second)

    def clear_faults(self) -> None:
        self._faults.clear()

    # -- users and updates -------------------------------------------------------------------

    def user(
        self,
        user_id: int,
        first_name: str | None = None,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
    ) -> UserHandle:
        """The handle for this user, registering their private chat on first use."""
        profile = {
            "first_name": first_name,
            "last_name": last_name,
            "username": username,
            "language_code": language_code,
        }
        given = {key: value for key, value in profile.items() if value is not None}
        handle = self._users.get(user_id)
        if handle is None:
            user = {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}
            chat = ChatState(info={"id": user_id, "type": "private"}, user=user)
            self.state.chats[user_id] = chat
            handle = self._users[user_id] = UserHandle(self.state, chat)
        handle.update_profile(given)
        return handle

    def push_update(self, update: dict[str, Any]) -> int:
        """Queue a raw update (``update_id`` assigned if missing); returns its id."""
        return self.state.push_update(update)

    def redeliver(self, update_id: int) -> None:
        """Queue an already delivered update again, with the same id."""
        self.state.updates.redeliver(update_id)
        self.state.changed()

    @property
    def pending_updates(self) -> int:
        return len(self.state.updates)

    @property
    def polls_started(self) -> int:
        """How many getUpdates calls have reached the server (finished or still waiting)."""
        return self.state.poll_generation

    def commands_for(
        self,
        scope_type: str = "default",
        chat_id: int | None = None,
        language_code: str = "",
        user_id: int | None = None,
    ) -> list[tuple[str, str]]:
        """The command menu stored for exactly this scope and language."""
        scope: dict[str, Any] = {"type": scope_type}
        if chat_id is not None:
            scope["chat_id"] = chat_id
        if user_id is not None:
            scope["user_id"] = user_id
        stored = self.state.commands.get((scope_key(scope), language_code), [])
        return [(command["command"], command["description"]) for command in stored]

    # -- serving -----------------------------------------------------------------------------

    async def _dispatch(self, call: RawCall) -> Reply:
        if not self.tokens or self.tokens[-1] != call.token:
            self.tokens.append(call.token)
        params: dict[str, Any] = dict(call.form)
        try:
            params = call.json_body if call.json_body is not None else decode_form(call.form)
            reply = await self._answer(call, params)
        except ApiError as error:
            reply = Reply(error.status, error.body())
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            _LOG.exception("fake Telegram could not handle %s", call.method)
            reply = Reply(400, ApiError(400, f"Bad Request: {error!r}").body())
        await self._record(call, params, reply)
        return reply

    async def _answer(self, call: RawCall, params: dict[str, Any]) -> Reply:
        if self.reject_token:
            raise ApiError(401, "Unauthorized")
        fault = self._faults.take(call.method, params)
        if fault is not None and (faulted := await self._apply_fault(fault)) is not None:
            return faulted
        if self._flood is not None and call.method.lower() in _FLOOD_METHODS:
            self._flood.check(self.clock.now())
        handler = self._methods.get(call.method.lower())
        if handler is None:
            raise ApiError(404, "Not Found")
        request = ApiRequest(call.method, params, call.uploads, call.is_closed)
        result = await handler(self.state, request)
        return Reply(200, {"ok": True, "result": copy.deepcopy(result)})  # a snapshot

    async def _apply_fault(self, fault: Fault) -> Reply | None:
        """Raise or return the fault's answer; None when a held call should then proceed."""
        if fault.error is not None:
            raise fault.error
        if fault.kind is FaultKind.DISCONNECT:
            return _DROPPED
        await self.state.signal.wait_until(lambda: self.state.stopping, fault.seconds)
        return None if fault.answer else _DROPPED

    async def _record(self, call: RawCall, params: dict[str, Any], reply: Reply) -> None:
        recorded = RecordedCall(
            method=call.method,
            params=params,
            at=self.clock.now(),
            token=call.token,
            status=reply.status,
            response=reply.body or {},
            files=call.uploads,
        )
        self.state.record(recorded)
        for hook in list(self._hooks):
            try:
                result = hook(recorded)
                if inspect.isawaitable(result):
                    await result
            except Exception as error:  # noqa: BLE001 - a test hook must not break the server
                _LOG.exception("on_call hook failed")
                self.hook_errors.append(error)

    def _download(self, token: str, file_path: str) -> bytes | None:
        if self.reject_token:
            return None
        stored = self.state.files.by_path(file_path)
        return stored.data if stored else None
