"""Parsed rows come the same from the helper process as from this one: the header, the
mapping, every chunk; a refusal in the helper is raised here, and the helper never outlives
the import."""

from __future__ import annotations

import io
import multiprocessing
from zoneinfo import ZoneInfo

import pytest
import xlsxwriter

from crm.importing import source
from crm.importing.reader import ImportFileInvalid
from crm.importing.source import Chunk, parsed_file

ZONE = ZoneInfo("Asia/Shanghai")


def workbook(rows: int) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer)
    sheet = book.add_worksheet("客户")
    sheet.merge_range(0, 0, 0, 3, "客户信息基础表")
    sheet.write_row(1, 0, ["客户编号", "客户名称", "联系人", "联系方式", "合作阶段"])
    for index in range(rows):
        phone = f"139{index:08d}" if index % 7 else "139****0000"
        sheet.write_row(index + 3, 0, ["", f"客户{index}号", "王芳", phone, "意向"])
    book.close()
    return buffer.getvalue()


async def collect(data: bytes, helper: bool, mapping: tuple[str | None, ...] | None = None):
    async with parsed_file(data, "c.xlsx", ZONE, mapping, helper=helper) as parsed:
        chunks: list[Chunk] = [chunk async for chunk in parsed.chunks]
        return parsed.headers, parsed.header_row, parsed.mapping, chunks


async def test_the_helper_process_gives_what_parsing_here_gives(monkeypatch) -> None:
    monkeypatch.setattr(source, "CHUNK", 400)  # several chunks (the helper reads the default)
    data = workbook(5_000)
    here = await collect(data, helper=False)
    there = await collect(data, helper=True)
    assert here[:3] == there[:3]
    assert here[0] == ("客户编号", "客户名称", "联系人", "联系方式", "合作阶段")
    rows_here = [pair for chunk in here[3] for pair in chunk]
    rows_there = [pair for chunk in there[3] for pair in chunk]
    assert len(rows_here) == 5_000  # the blank row under the header is dropped
    assert rows_here == rows_there
    masked = rows_there[0][1]
    assert [problem.text.key for problem in masked.problems] == ["import.reason.phone_masked"]


async def test_a_given_mapping_is_used_by_the_helper() -> None:
    mapping = ("code", "name", None, "phone", None)
    _, _, chosen, chunks = await collect(workbook(10), helper=True, mapping=mapping)
    assert chosen == mapping
    record = chunks[0][1][1]
    assert (record.get("contact"), record.stage) == (None, None)
    assert record.phone


@pytest.mark.parametrize(
    ("data", "key"),
    [
        (b"PK\x03\x04 not really a zip", "import.error_file_type"),
        ("备注,微信\n随便,abc\n".encode(), "import.error_no_header"),
    ],
)
async def test_a_refusal_in_the_helper_is_raised_here(data: bytes, key: str) -> None:
    with pytest.raises(ImportFileInvalid) as refused:
        async with parsed_file(data, "c.csv", ZONE, helper=True):
            pass
    assert refused.value.text.key == key


async def test_the_helper_stops_when_the_import_stops_early() -> None:
    async def stop_at_the_first_chunk() -> None:
        async with parsed_file(workbook(20_000), "c.xlsx", ZONE, helper=True) as parsed:
            async for _ in parsed.chunks:
                raise RuntimeError("stop here")  # e.g. the database failed

    with pytest.raises(RuntimeError, match="stop here"):
        await stop_at_the_first_chunk()
    assert not multiprocessing.active_children()


async def test_big_files_get_the_helper_by_default(monkeypatch) -> None:
    started: list[bool] = []
    original = source._parsed_by_helper

    def spy(*args, **kwargs):
        started.append(True)
        return original(*args, **kwargs)

    monkeypatch.setattr(source, "_parsed_by_helper", spy)
    monkeypatch.setattr(source, "HELPER_FROM_BYTES", 10_000)
    await collect(workbook(10), helper=None)  # small: parsed here
    assert started == []
    await collect(workbook(2_000), helper=None)
    assert started == [True]
