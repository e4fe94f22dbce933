"""Telegram's sending limits: about 30 messages a second overall and one a second per chat."""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta

from crm.clock import Clock


class SendRateLimiter:
    """Waits (on the injected clock) until a message to ``chat_id`` may go out.

    The overall window is a little longer than a second: Telegram counts messages when they
    arrive, and network jitter would otherwise push a 31st message into someone's second (and
    the 429 that follows costs a whole second of sending)."""

    def __init__(
        self,
        clock: Clock,
        *,
        per_second: int = 30,
        chat_interval: float = 1.0,
        margin: float = 0.02,
    ) -> None:
        self._clock = clock
        self._per_second = per_second
        self._window = timedelta(seconds=1 + margin)
        self._chat_interval = timedelta(seconds=chat_interval)
        self._recent: deque[datetime] = deque()
        self._last_by_chat: dict[int, datetime] = {}
        self._paused_until: datetime | None = None

    async def wait_turn(self, chat_id: int | None) -> None:
        """``chat_id`` None: only the overall limit (a reply, paced by the person anyway)."""
        while (wait := self._wait_needed(chat_id, self._clock.now())) > 0:
            await self._clock.sleep(wait)
        now = self._clock.now()
        self._recent.append(now)
        if chat_id is not None:
            self._last_by_chat[chat_id] = now

    def pause(self, seconds: float) -> None:
        """Telegram said "retry after": nothing goes out until then."""
        until = self._clock.now() + timedelta(seconds=seconds)
        if self._paused_until is None or until > self._paused_until:
            self._paused_until = until

    def _wait_needed(self, chat_id: int | None, now: datetime) -> float:
        self._forget_before(now)
        waits = [0.0]
        if self._paused_until is not None:
            waits.append((self._paused_until - now).total_seconds())
        if len(self._recent) >= self._per_second:
            waits.append((self._recent[0] + self._window - now).total_seconds())
        last = self._last_by_chat.get(chat_id) if chat_id is not None else None
        if last is not None:
            waits.append((last + self._chat_interval - now).total_seconds())
        return max(waits)

    def _forget_before(self, now: datetime) -> None:
        while self._recent and self._recent[0] <= now - self._window:
            self._recent.popleft()
        if len(self._last_by_chat) > 10_000:
            horizon = now - self._chat_interval
            self._last_by_chat = {
                chat: at for chat, at in self._last_by_chat.items() if at > horizon
            }
