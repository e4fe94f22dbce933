"""One run at a time: a job tick that finds the previous run still busy just asks it to go
round once more, instead of starting a second run (or making APScheduler skip and warn)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


class SingleFlight:
    def __init__(self, work: Callable[[], Awaitable[object]]) -> None:
        self._work = work
        self._lock = asyncio.Lock()
        self._again = False

    async def run(self) -> None:
        if self._lock.locked():
            self._again = True
            return
        async with self._lock:
            self._again = True
            while self._again:
                self._again = False
                await self._work()
