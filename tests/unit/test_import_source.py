"""Parsed rows come the same from the helper process as from this one: the header, the
mapping, every chunk; a refusal in the helper is raised here, and the helper never outlives
the import."""

from __future__ import annotations

import asyncio
import io
import pickle
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import xlsxwriter

from crm.importing import source
from crm.importing.reader import ImportFileInvalid
from crm.importing.source import Chunk, parsed_file

ZONE = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def helpers(monkeypatch) -> list[asyncio.subprocess.Process]:
    """The helper processes started, as they are started."""
    started: list[asyncio.subprocess.Process] = []
    start = asyncio.create_subprocess_exec

    async def spied(*args: Any, **kwargs: Any) -> asyncio.subprocess.Process:
        started.append(await start(*args, **kwargs))
        return started[-1]

    monkeypatch.setattr(asyncio, "create_subprocess_exec", spied)
    return started


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


async def test_the_helper_stops_when_the_import_stops_early(helpers) -> None:

    async def stop_at_the_first_chunk() -> None:
        async with parsed_file(workbook(20_000), "c.xlsx", ZONE, helper=True) as parsed:
            async for _ in parsed.chunks:
                raise RuntimeError("stop here")  # e.g. the database failed

    with pytest.raises(RuntimeError, match="stop here"):
        await stop_at_the_first_chunk()
    assert len(helpers) == 1
    assert helpers[0].returncode is not None  # ended (killed), and waited for


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


@pytest.fixture
def spools(tmp_path, monkeypatch):
    folder = tmp_path / "spools"
    monkeypatch.setattr(source, "spool_folder", lambda: folder)
    return folder


async def test_a_previewed_file_is_read_back_from_its_spool_by_the_commit(spools) -> None:
    data = workbook(3_000)
    _, _, mapping, parsed = await collect(data, helper=True)  # the preview: mapping proposed
    spool = source.Spool.of(data, ZONE).path(mapping)
    assert spool.exists()
    assert oct(spools.stat().st_mode & 0o777) == "0o700"
    # what is read back is the spool (here edited), not the workbook
    with spool.open("rb") as stored:
        frames = [pickle.loads(source._read_frame(stored)) for _ in range(3)]
    first = frames[1][0]
    frames[1][0] = (*first[:3], {**first[3], "name": "改过的名字"}, *first[4:])
    with spool.open("wb") as stored:
        for frame in [*map(pickle.dumps, frames), b""]:
            source._write_frame(stored, frame)
    again = await collect(data, helper=True, mapping=mapping)
    assert again[3][0][0][1].get("name") == "改过的名字"
    assert again[3][0][1:] == parsed[0][1:]
    assert again[3][1:] == parsed[1:]
    # the commit gets the search keys too, and is the spool's last reader
    async with parsed_file(data, "c.xlsx", ZONE, mapping, search_keys=True, helper=True) as f:
        committed = [pair for chunk in [c async for c in f.chunks] for pair in chunk]
    assert committed[1][1].search is not None
    assert committed[1][1].search.pinyin == "kehu1hao"
    assert not spool.exists()


async def test_another_mapping_or_time_zone_is_parsed_again(spools) -> None:
    data = workbook(20)
    _, _, mapping, _ = await collect(data, helper=True)
    other = ("code", "name", None, "phone", None)
    assert not source.Spool.of(data, ZONE).path(other).exists()
    assert not source.Spool.of(data, ZoneInfo("UTC")).path(mapping).exists()
    _, _, chosen, chunks = await collect(data, helper=True, mapping=other)
    assert chosen == other
    assert chunks[0][0][1].get("contact") is None
    assert source.Spool.of(data, ZONE).path(other).exists()


async def test_no_spool_in_a_folder_others_can_read(spools) -> None:
    data = workbook(20)
    _, _, mapping, parsed = await collect(data, helper=True)
    planted = source.Spool.of(data, ZONE).path(mapping)
    planted.write_bytes(b"\0" * 8)  # read back, this would fail the import
    spools.chmod(0o755)
    again = await collect(data, helper=True, mapping=mapping)  # parsed again, not read back
    assert again[3] == parsed
    planted.unlink()
    await collect(data, helper=True)
    assert list(spools.iterdir()) == []


async def test_a_file_refused_half_way_leaves_no_spool(spools) -> None:
    rows = "\n".join(f"客户{n},王芳,1390000{n:04d}" for n in range(3_000))
    data = f'客户名称,联系人,联系方式\n{rows}\n坏行,"{"x" * 200_000}",1\n'.encode()
    with pytest.raises(ImportFileInvalid):
        await collect(data, helper=True)
    assert list(spools.iterdir()) == []


async def test_a_helper_that_dies_is_an_error_here_not_a_short_file(helpers) -> None:
    rows: list[int] = []

    async def read_all() -> None:
        async with parsed_file(workbook(20_000), "c.xlsx", ZONE, helper=True) as parsed:
            async for chunk in parsed.chunks:
                if not rows:
                    helpers[0].kill()  # e.g. killed for memory
                rows.append(len(chunk))

    with pytest.raises(RuntimeError, match="reader process stopped"):
        await read_all()
    assert 0 < sum(rows) < 20_000


async def test_the_helper_runs_this_code_whatever_the_working_folder_holds(
    tmp_path, monkeypatch
) -> None:
    planted = tmp_path / "crm" / "importing"
    planted.mkdir(parents=True)
    for folder in (tmp_path / "crm", planted):
        (folder / "__init__.py").write_text("")
    (planted / "reader_process.py").write_text("raise SystemExit('not this one')\n")
    monkeypatch.chdir(tmp_path)
    _, _, _, chunks = await collect(workbook(10), helper=True)
    assert sum(len(chunk) for chunk in chunks) == 10
