"""An import's rows, parsed: the header row found, the mapping chosen, then chunks of (the row as
the file had it, its parsed record). A small file is parsed right here, between awaits, so that
the bot answers others meanwhile. A big one is read and parsed by a helper process while this
one sorts and writes the chunks before: the workbook (about 100 MB in memory for 100,000 rows)
stays out of the bot's process, and its loading (2 s) and parsing do not hold up the bot's event
loop. Either way only a few chunks are in memory here at once (the queue is bounded). Measured
on 100,000 rows, the helper saves little time (reading and parsing are a fifth of a commit, and
the bot's own part keeps one core busy)."""

from __future__ import annotations

import asyncio
import multiprocessing
import queue
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from typing import Any
from zoneinfo import ZoneInfo

from crm.errors import DomainError
from crm.importing.fields import propose_mapping
from crm.importing.reader import MAX_ROWS, ImportFileInvalid, RawRow, read_table
from crm.importing.rows import Record, parse_row

CHUNK = 2_000
HELPER_FROM_BYTES = 512 * 1024  # about 8,000 rows of a typical customer table
_YIELD_EVERY = 250  # rows parsed here between two awaits
_QUEUED_CHUNKS = 3
_POLL_SECONDS = 0.5

Chunk = list[tuple[RawRow, Record]]
ColumnFields = tuple[str | None, ...]


@dataclass(frozen=True)
class ParsedFile:
    headers: tuple[str, ...]
    header_row: int
    mapping: ColumnFields
    chunks: AsyncIterator[Chunk]


@asynccontextmanager
async def parsed_file(
    data: bytes,
    file_name: str,
    zone: ZoneInfo,
    mapping: ColumnFields | None = None,
    *,
    helper: bool | None = None,
) -> AsyncIterator[ParsedFile]:
    """The file's table, parsed with ``mapping`` (None: the one proposed from its headers).
    ``helper`` forces the helper process on or off; by default a file of
    ``HELPER_FROM_BYTES`` or more gets one. Raises ``ImportFileInvalid`` like ``read_table``,
    and when the rows go over ``MAX_ROWS``."""
    if helper if helper is not None else len(data) >= HELPER_FROM_BYTES:
        async with _parsed_by_helper(data, file_name, zone, mapping) as parsed:
            yield parsed
        return
    table = read_table(data, file_name)
    chosen = mapping if mapping is not None else propose_mapping(table.headers)
    yield ParsedFile(table.headers, table.header_row, chosen, chunks_of(table.rows(), chosen, zone))


async def chunks_of(
    rows: Iterable[RawRow], mapping: ColumnFields, zone: ZoneInfo
) -> AsyncIterator[Chunk]:
    """Parsed here, in chunks of ``CHUNK`` rows, handing the event loop back every few
    hundred rows."""
    chunk: Chunk = []
    for part in _parsed(rows, mapping, zone, _YIELD_EVERY):
        chunk += part
        if len(chunk) >= CHUNK:
            yield chunk
            chunk = []
        else:
            await asyncio.sleep(0)  # not a wait: lets other work on the loop go on
    if chunk:
        yield chunk


def _parsed(
    rows: Iterable[RawRow], mapping: Sequence[str | None], zone: ZoneInfo, size: int
) -> Iterator[Chunk]:
    """Non-blank rows parsed, ``size`` at a time; refused as soon as they go over
    ``MAX_ROWS``, before anything is written."""
    chunk: Chunk = []
    count = 0
    for row in rows:
        if not any(row.cells):
            continue
        count += 1
        if count > MAX_ROWS:
            raise ImportFileInvalid("import.error_too_many_rows", limit=MAX_ROWS)
        chunk.append((row, parse_row(row.number, row.cells, mapping, zone)))
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# --- the helper process -------------------------------------------------------------------


def _parse_in_helper(
    data: bytes, file_name: str, zone: ZoneInfo, mapping: ColumnFields | None, out: Any
) -> None:
    """Runs in the helper process: the table, then its chunks, then the end (or why not)."""
    try:
        table = read_table(data, file_name)
        chosen = mapping if mapping is not None else propose_mapping(table.headers)
        out.put(("table", table.headers, table.header_row, chosen))
        for chunk in _parsed(table.rows(), chosen, zone, CHUNK):
            out.put(("chunk", chunk))
        out.put(("end",))
    except DomainError as refused:
        out.put(("refused", refused.text.key, dict(refused.text.vars)))
    except Exception as error:  # noqa: BLE001 - any failure is told to the parent, which raises
        out.put(("failed", f"{type(error).__name__}: {error}"))


@asynccontextmanager
async def _parsed_by_helper(
    data: bytes, file_name: str, zone: ZoneInfo, mapping: ColumnFields | None
) -> AsyncIterator[ParsedFile]:
    # "spawn": a fresh interpreter; forking a process that runs threads (the database
    # driver's, the event loop's executor) is not safe
    context = multiprocessing.get_context("spawn")
    channel = context.Queue(maxsize=_QUEUED_CHUNKS)
    process = context.Process(
        target=_parse_in_helper,
        args=(data, file_name, zone, mapping, channel),
        name="kehu-import-reader",
        daemon=True,
    )
    process.start()
    try:
        first = await _receive(channel, process)
        if first[0] != "table":
            _raise(first)
        _, headers, header_row, chosen = first
        yield ParsedFile(headers, header_row, chosen, _received_chunks(channel, process))
    finally:
        if process.is_alive():
            process.terminate()
        await asyncio.to_thread(process.join, 10)
        channel.close()
        channel.cancel_join_thread()


async def _received_chunks(channel: Any, process: BaseProcess) -> AsyncIterator[Chunk]:
    while True:
        message = await _receive(channel, process)
        if message[0] == "end":
            return
        if message[0] != "chunk":
            _raise(message)
        yield message[1]


async def _receive(channel: Any, process: BaseProcess) -> tuple[Any, ...]:
    while True:
        try:
            message: tuple[Any, ...] = await asyncio.to_thread(channel.get, True, _POLL_SECONDS)
            return message
        except queue.Empty:
            if not process.is_alive():
                raise RuntimeError("the import's reader process stopped") from None


def _raise(message: tuple[Any, ...]) -> None:
    if message[0] == "refused":
        raise ImportFileInvalid(message[1], **message[2])
    raise RuntimeError(f"reading the import failed: {message[1]}")
