from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot.fake_api import FakeTelegram
from crm.clock import FakeClock
from tests.support.harness import Harness, settings_for


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 25, 1, 0, tzinfo=UTC))


@pytest.fixture
async def telegram(clock: FakeClock) -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(clock=clock) as fake:
        yield fake


@pytest.fixture
async def kehu(
    database_url: str, telegram: FakeTelegram, clock: FakeClock
) -> AsyncIterator[Harness]:
    harness = await Harness.start(settings_for(database_url, telegram), telegram, clock)
    yield harness
    await harness.stop()
