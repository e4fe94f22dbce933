"""An import's rows, parsed: the header row found, the mapping chosen, then chunks of (the row as
the file had it, its parsed record). A small file is parsed right here, between awaits, so that
the bot answers others meanwhile. A big one is read and parsed by a helper process while this
one sorts and writes the chunks before: the workbook (about 100 MB in memory for 100,000 rows)
stays out of the bot's process, its loading and parsing do not hold up the bot's event loop,
and the work is shared between two cores. Only a few chunks are in memory here at once (the
helper writes to a pipe, and waits while the pipe is full).

The helper keeps what a preview parsed in a spool file; the commit (or another preview with the
same columns) reads the rows back from it instead of the workbook. For a commit the helper also
computes each row's search keys (the dearest part: pinyin), so the bot does not."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import pickle
import stat
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

from crm.errors import DomainError
from crm.importing.fields import NAME, propose_mapping
from crm.importing.reader import MAX_ROWS, ImportFileInvalid, RawRow, read_table
from crm.importing.records import SearchKeys
from crm.importing.rows import Record, Repeats, new_customer_keys, row_parser, with_search_keys

CHUNK = 2_000
SPOOL_KEPT_SECONDS = 24 * 3600
_SPOOL_FORMAT = 3  # raised when what a spool holds changes
_FRAME_SIZE = 8  # bytes of the length before each pickled frame of a spool
HELPER_FROM_BYTES = 512 * 1024  # about 8,000 rows of a typical customer table
_QUEUED_CHUNKS = 3  # parsed chunks read ahead from the helper
_CODE_FOLDER = Path(__file__).resolve().parents[2]  # the folder that holds ``crm``
_YIELD_EVERY = 250  # rows parsed here between two awaits

Chunk = list[tuple[RawRow, Record]]
ColumnFields = tuple[str | None, ...]


@dataclass(frozen=True)
class ParsedFile:
    headers: tuple[str, ...]
    header_row: int
    mapping: ColumnFields
    chunks: AsyncIterator[Chunk]


@dataclass(frozen=True)
class Spool:
    """Where the rows of a big file, once parsed, are kept for the commit (and for another
    preview of the same columns): the commit then reads them back instead of the workbook.
    One file per (file, time zone, mapping), in a folder only this user can read."""

    folder: str
    digest: str

    @classmethod
    def of(cls, data: bytes, zone: ZoneInfo) -> Spool:
        digest = hashlib.sha256(data).hexdigest()
        return cls(str(spool_folder()), f"{_SPOOL_FORMAT}:{digest}:{zone.key}")

    def path(self, mapping: ColumnFields) -> Path:
        key = json.dumps([self.digest, list(mapping)]).encode()
        return Path(self.folder) / (hashlib.sha256(key).hexdigest() + ".rows")


def spool_folder() -> Path:
    return Path(tempfile.gettempdir()) / f"kehu-import-rows-{os.getuid()}"


def spool_folder_is_private(folder: Path) -> bool:
    """Made if missing; used only when it is this user's and no one else's (a spool is read
    back with pickle)."""
    try:
        folder.mkdir(mode=0o700)
    except FileExistsError:
        pass
    except OSError:
        return False
    try:
        status = folder.lstat()
    except OSError:
        return False
    return (
        stat.S_ISDIR(status.st_mode)
        and status.st_uid == os.getuid()
        and not status.st_mode & (stat.S_IRWXG | stat.S_IRWXO)
    )


@asynccontextmanager
async def parsed_file(
    data: bytes,
    file_name: str,
    zone: ZoneInfo,
    mapping: ColumnFields | None = None,
    *,
    search_keys: bool = False,
    helper: bool | None = None,
) -> AsyncIterator[ParsedFile]:
    """The file's table, parsed with ``mapping`` (None: the one proposed from its headers);
    with ``search_keys`` (for a commit), each valid row also gets the search keys it will
    have as a new customer. ``helper`` forces the helper process on or off; by default a file
    of ``HELPER_FROM_BYTES`` or more gets one. Raises ``ImportFileInvalid`` like
    ``read_table``, and when the rows go over ``MAX_ROWS``."""
    if helper if helper is not None else len(data) >= HELPER_FROM_BYTES:
        async with _parsed_by_helper(data, file_name, zone, mapping, search_keys) as parsed:
            yield parsed
        return
    table = read_table(data, file_name)
    chosen = mapping if mapping is not None else propose_mapping(table.headers)
    chunks = chunks_of(table.rows(), chosen, zone, search_keys=search_keys)
    yield ParsedFile(table.headers, table.header_row, chosen, chunks)


async def chunks_of(
    rows: Iterable[RawRow], mapping: ColumnFields, zone: ZoneInfo, *, search_keys: bool = False
) -> AsyncIterator[Chunk]:
    """Parsed here, in chunks of ``CHUNK`` rows, handing the event loop back every few
    hundred rows."""
    chunk: Chunk = []
    for part in _parsed(rows, mapping, zone, min(_YIELD_EVERY, CHUNK), search_keys):
        chunk += part
        if len(chunk) >= CHUNK:
            yield chunk
            chunk = []
        else:
            await asyncio.sleep(0)  # not a wait: lets other work on the loop go on
    if chunk:
        yield chunk


def _parsed(
    rows: Iterable[RawRow],
    mapping: Sequence[str | None],
    zone: ZoneInfo,
    size: int,
    search_keys: bool = False,
) -> Iterator[Chunk]:
    """Non-blank rows parsed, ``size`` at a time; refused as soon as they go over
    ``MAX_ROWS``, before anything is written."""
    chunk: Chunk = []
    count = 0
    repeats = Repeats()
    parse = row_parser(tuple(mapping), zone)
    for row in rows:
        if not any(row.cells):
            continue
        count += 1
        if count > MAX_ROWS:
            raise ImportFileInvalid("import.error_too_many_rows", limit=MAX_ROWS)
        record = parse(row.number, row.cells, repeats)
        chunk.append((row, with_search_keys(record) if search_keys else record))
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# --- the helper process -------------------------------------------------------------------


def _parse_in_helper(
    data: bytes,
    file_name: str,
    zone: ZoneInfo,
    mapping: ColumnFields | None,
    search_keys: bool,
    spool: Spool | None,
    out: Any,
) -> None:
    """Runs in the helper process: the table, then its chunks, then the end (or why not).
    The rows of a file parsed before with the same mapping are read back from its spool."""
    try:
        kept = spool.path(mapping) if spool is not None and mapping is not None else None
        if kept is not None and spool_folder_is_private(kept.parent) and kept.exists():
            _replay(kept, search_keys, out)
            return
        table = read_table(data, file_name)
        chosen = mapping if mapping is not None else propose_mapping(table.headers)
        out.put(("table", table.headers, table.header_row, chosen))
        header = (table.headers, table.header_row, chosen)
        with _spooling(spool, chosen, header, enabled=not search_keys) as keep:
            for chunk in _parsed(table.rows(), chosen, zone, CHUNK):
                plain = _plain(chunk)
                if search_keys:
                    plain = _with_search_keys(plain)
                frame = pickle.dumps(plain, protocol=pickle.HIGHEST_PROTOCOL)
                keep(frame)
                out.put(("chunk", frame))  # pickled once, for the spool and the channel
        out.put(("end",))
    except DomainError as refused:
        out.put(("refused", refused.text.key, dict(refused.text.vars)))
    except Exception as error:  # noqa: BLE001 - any failure is told to the parent, which raises
        out.put(("failed", f"{type(error).__name__}: {error}"))


def _replay(path: Path, search_keys: bool, out: Any) -> None:
    """A spool's rows, as they were parsed. A commit (``search_keys``) is the spool's last
    reader: it is removed after."""
    with path.open("rb") as stored:
        headers, header_row, chosen = pickle.loads(_read_frame(stored))
        out.put(("table", headers, header_row, chosen))
        while frame := _read_frame(stored):
            if search_keys:
                plain = _with_search_keys(pickle.loads(frame))
                frame = pickle.dumps(plain, protocol=pickle.HIGHEST_PROTOCOL)
            out.put(("chunk", frame))
    if search_keys:
        path.unlink(missing_ok=True)
    out.put(("end",))


def _read_frame(stored: BinaryIO) -> bytes:
    size = int.from_bytes(stored.read(_FRAME_SIZE), "big")
    frame = stored.read(size)
    if len(frame) != size:
        raise EOFError("the spool ends early")
    return frame


def _write_frame(stored: BinaryIO, frame: bytes) -> None:
    stored.write(len(frame).to_bytes(_FRAME_SIZE, "big"))
    stored.write(frame)


def _with_search_keys(plain: list[_PlainRow]) -> list[_PlainRow]:
    """``with_search_keys`` on plain rows (without making the records)."""
    return [
        row
        if row[_PROBLEMS] or NAME not in row[_VALUES]
        else (*row[:_SEARCH], new_customer_keys(row[_VALUES], row[_PHONE], row[_TAGS]))
        for row in plain
    ]


@contextmanager
def _spooling(
    spool: Spool | None, mapping: ColumnFields, header: tuple[Any, ...], *, enabled: bool
) -> Iterator[Callable[[bytes], None]]:
    """Writes the (pickled) chunks given to the spool of ``mapping``; the spool appears only
    when all were written (a refusal or failure half way leaves none)."""
    path = spool.path(mapping) if spool is not None and enabled else None
    if path is None or not spool_folder_is_private(path.parent):
        yield lambda _: None
        return
    _prune(path.parent)
    partial = path.with_suffix(f".{os.getpid()}.partial")  # two previews of one file at once
    try:
        with partial.open("wb") as stored:
            _write_frame(stored, pickle.dumps(header, protocol=pickle.HIGHEST_PROTOCOL))
            yield lambda frame: _write_frame(stored, frame)
            _write_frame(stored, b"")
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)


def _prune(folder: Path) -> None:
    """Spools of imports not committed within a day go."""
    old = time.time() - SPOOL_KEPT_SECONDS
    for path in folder.iterdir():
        with suppress(OSError):
            if path.stat().st_mtime < old:
                path.unlink()


def run_helper(task: BinaryIO, channel: BinaryIO) -> None:
    """The helper process's work (``python -m crm.importing.reader_process``): its task is
    one frame read from ``task``, its messages frames written to ``channel``."""
    data, file_name, zone, mapping, search_keys, spool = pickle.loads(_read_frame(task))
    _parse_in_helper(data, file_name, zone, mapping, search_keys, spool, _Channel(channel))


class _Channel:
    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream

    def put(self, message: tuple[Any, ...]) -> None:
        _write_frame(self._stream, pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))
        self._stream.flush()


@asynccontextmanager
async def _parsed_by_helper(
    data: bytes, file_name: str, zone: ZoneInfo, mapping: ColumnFields | None, search_keys: bool
) -> AsyncIterator[ParsedFile]:
    # a fresh interpreter that imports only the import's modules (not multiprocessing's
    # "spawn", which imports the parent's main module again: 2 s for the bot's), its task on
    # stdin and its messages on stdout; a full pipe holds it back while this side is busy.
    # Started in the folder that holds ``crm`` (``-m`` looks there first): this ``crm``,
    # whatever the bot's own working folder holds.
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "crm.importing.reader_process",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        cwd=_CODE_FOLDER,
    )
    reading: asyncio.Task[None] | None = None
    try:
        assert process.stdin is not None
        assert process.stdout is not None
        task = (data, file_name, zone, mapping, search_keys, Spool.of(data, zone))
        frame = pickle.dumps(task, protocol=pickle.HIGHEST_PROTOCOL)
        process.stdin.write(len(frame).to_bytes(_FRAME_SIZE, "big"))
        process.stdin.write(frame)
        try:
            await process.stdin.drain()
            process.stdin.close()
        except ConnectionError:
            pass  # it ended early: what it said (or that it stopped) is read below
        messages: asyncio.Queue[tuple[Any, ...]] = asyncio.Queue(_QUEUED_CHUNKS)
        reading = asyncio.create_task(_read_ahead(process.stdout, messages))
        first = await messages.get()
        if first[0] != "table":
            _raise(first)
        _, headers, header_row, chosen = first
        yield ParsedFile(headers, header_row, chosen, _received_chunks(messages))
    finally:
        if process.returncode is None:
            with suppress(ProcessLookupError):
                process.kill()
        await process.wait()
        if reading is not None:
            reading.cancel()
            with suppress(asyncio.CancelledError):
                await reading


async def _read_ahead(stream: asyncio.StreamReader, messages: asyncio.Queue[Any]) -> None:
    """The helper's messages as they come, a few ahead of what is used, so that the helper
    goes on while this side writes (a chunk stays pickled until it is used: smaller)."""
    while True:
        try:
            size = int.from_bytes(await stream.readexactly(_FRAME_SIZE), "big")
            message = pickle.loads(await stream.readexactly(size))
        except asyncio.IncompleteReadError:
            message = ("failed", "the import's reader process stopped")
        except Exception as error:  # noqa: BLE001 - told to the reader of the messages
            message = ("failed", f"{type(error).__name__}: {error}")
        await messages.put(message)
        if message[0] not in ("table", "chunk"):  # the last: the end, or why not
            return


async def _received_chunks(messages: asyncio.Queue[tuple[Any, ...]]) -> AsyncIterator[Chunk]:
    while True:
        message = await messages.get()
        if message[0] == "end":
            return
        if message[0] != "chunk":
            _raise(message)
        yield await asyncio.to_thread(_unpickled, message[1])  # off the event loop


# Chunks cross as plain tuples: pickle handles them several times faster than named tuples
# (1 s instead of 3.5 s for 100,000 rows, both ways).
_PlainRow = tuple[Any, ...]
_VALUES, _PHONE, _PROBLEMS, _TAGS, _SEARCH = (
    len(RawRow._fields) + Record._fields.index(name)
    for name in ("values", "phone", "problems", "tags", "search")
)
_RECORD = len(RawRow._fields)


def _plain(chunk: Chunk) -> list[_PlainRow]:
    return [
        (*raw, *record[:-1], tuple(record.search) if record.search else None)
        for raw, record in chunk
    ]


def _rebuilt(rows: list[_PlainRow]) -> Chunk:
    make_raw, make_record, make_keys = RawRow._make, Record._make, SearchKeys._make
    return [
        (
            make_raw(row[:_RECORD]),
            make_record((*row[_RECORD:_SEARCH], make_keys(row[_SEARCH]) if row[_SEARCH] else None)),
        )
        for row in rows
    ]


def _unpickled(frame: bytes) -> Chunk:
    return _rebuilt(pickle.loads(frame))


def _raise(message: tuple[Any, ...]) -> None:
    if message[0] == "refused":
        raise ImportFileInvalid(message[1], **message[2])
    raise RuntimeError(f"reading the import failed: {message[1]}")
