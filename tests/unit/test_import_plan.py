"""The row cap: a file over ``MAX_ROWS`` non-blank rows is refused, whatever its size on disk."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest

from crm.importing import reader, source
from crm.importing.plan import ImportRun, Owners
from crm.importing.reader import ImportFileInvalid, RawRow
from crm.importing.source import chunks_of


def _rows(count: int) -> Iterator[RawRow]:
    for number in range(2, count + 2):
        yield RawRow(number, (f"客户{number}", "王芳"))
        yield RawRow(number, ("", ""))  # blank rows do not count


async def test_more_rows_than_the_cap_are_refused_before_any_is_processed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(source, "MAX_ROWS", 5)  # the cap is checked row by row, before chunks
    run = ImportRun(
        cast(Any, None),  # never reached: the refusal comes before the first chunk
        Owners(()),
        default_owner=1,
    )
    with pytest.raises(ImportFileInvalid) as refused:
        await run.run(chunks_of(_rows(6), ("name", "contact"), ZoneInfo("Asia/Shanghai")))
    assert refused.value.text.key == "import.error_too_many_rows"
    assert dict(refused.value.text.vars) == {"limit": 5}


def test_the_cap_is_the_issue_s_200_000_rows() -> None:
    assert reader.MAX_ROWS == source.MAX_ROWS == 200_000
