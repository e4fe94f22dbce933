"""Knowing when an update has been fully handled (replies sent): the sandbox waits on it before
the next prompt, the tests before they look at what the bot said."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from telegram import Update
from telegram.ext import Application


class HandledUpdates:
    def __init__(self, application: Application[Any, Any, Any, Any, Any, Any]) -> None:
        self._counts: Counter[int] = Counter()
        self._changed = asyncio.Condition()
        original = application.process_update

        async def process_and_count(update: object) -> None:
            try:
                await original(update)
            finally:
                if isinstance(update, Update):
                    async with self._changed:
                        self._counts[update.update_id] += 1
                        self._changed.notify_all()

        application.process_update = process_and_count  # type: ignore[method-assign]

    async def wait(self, update_id: int, times: int = 1, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until ``update_id`` has been handled ``times`` times (redeliveries count)."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: self._counts[update_id] >= times)
