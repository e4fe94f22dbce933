"""The use cases: /import opens a dialog; a file gets a proposed column mapping and a dry run;
the admin corrects columns and the owner; the commit reads the rows again (from what the preview
parsed, kept by ``crm.importing.source``, else from the file) and writes every row in one
transaction (all or nothing). The dialog keeps the Telegram file id, not the bytes, and
what the commit needs from the dry run (the mapping, the owner, the highest code).

The commit's outcome replaces the "importing…" message through the outbox, written in the
transaction that decides it, so it is shown once even across a crash: "done" with the
import, "failed" with its rollback, "interrupted" when a restart finds a commit that a dead
process left (``recover_interrupted``); the last two hand the preview back to press again."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from crm.audit import AuditEntry
from crm.clock import Clock
from crm.dialogs import Dialog, close
from crm.errors import InvalidInput
from crm.importing.fields import FIELDS
from crm.importing.plan import Counts, ImportRun, Outcome, Owners
from crm.importing.source import ParsedFile, parsed_file
from crm.members import Member, Role, resolve_language
from crm.outbox import Button, OutgoingMessage
from crm.permissions import Action, require
from crm.ports import UnitOfWork
from crm.texts import Text

KIND = "import"
WAITING, PREVIEW, COMMITTING = "file", "preview", "committing"


@dataclass(frozen=True)
class ImportSession:
    """The file being imported and the admin's choices, as kept in the dialog."""

    file_id: str
    file_name: str
    headers: tuple[str, ...]
    mapping: tuple[str | None, ...]
    owner_id: int
    header_row: int
    counts: Counts
    top_code: int = 0
    run: str = ""  # this commit's own id (for the outbox), given when Import is pressed

    def to_data(self) -> dict[str, Any]:
        return {
            "file_id": self.file_id,
            "file_name": self.file_name,
            "headers": list(self.headers),
            "mapping": list(self.mapping),
            "owner_id": self.owner_id,
            "header_row": self.header_row,
            "counts": list(_counts_tuple(self.counts)),
            "top_code": self.top_code,
            "run": self.run,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> ImportSession:
        return cls(
            file_id=str(data["file_id"]),
            file_name=str(data["file_name"]),
            headers=tuple(str(h) for h in data["headers"]),
            mapping=tuple(m if m in FIELDS else None for m in data["mapping"]),
            owner_id=int(data["owner_id"]),
            header_row=int(data["header_row"]),
            counts=Counts(*(int(n) for n in data["counts"])),
            top_code=int(data.get("top_code", 0)),
            run=str(data.get("run", "")),
        )

    @property
    def owner_column(self) -> str | None:
        for header, field in zip(self.headers, self.mapping, strict=False):
            if field == "owner":
                return header
        return None


@dataclass(frozen=True)
class Preview:
    session: ImportSession
    owner_name: str
    outcome: Outcome


@dataclass(frozen=True)
class Committed:
    counts: Counts
    file_name: str


class ImportService:
    def __init__(self, uow: UnitOfWork, clock: Clock, default_language: str = "zh") -> None:
        self._uow = uow
        self._clock = clock
        self._default_language = default_language

    # -- the chat dialog ------------------------------------------------------------------

    async def start(self, member: Member) -> None:
        """/import: wait for the file (not while a commit of the member's runs)."""
        require(member, Action.IMPORT_CUSTOMERS)
        dialog = await self._uow.dialogs.get(member.id)
        if dialog is not None and dialog.kind == KIND and dialog.step == COMMITTING:
            raise InvalidInput("import.busy")
        await self._uow.dialogs.save(Dialog(member.id, KIND, WAITING), self._clock.now())

    async def waiting(self, member: Member) -> bool:
        """Is the member's open dialog an import (so an .xlsx they send is for it)?"""
        dialog = await self._uow.dialogs.get(member.id)
        return dialog is not None and dialog.kind == KIND

    async def session(self, member: Member, step: str = PREVIEW) -> ImportSession:
        return ImportSession.from_data((await self._dialog(member, step)).data)

    async def begin_commit(self, member: Member, message_id: int) -> ImportSession:
        """Import pressed on the preview ``message_id``: the dialog says so (a second press
        is told to wait) until the commit, which runs after this update, ends."""
        session = replace(await self.session(member), run=secrets.token_hex(6))
        await self._uow.dialogs.save(
            Dialog(member.id, KIND, COMMITTING, session.to_data(), message_id), self._clock.now()
        )
        return session

    async def failed(
        self, member: Member, session: ImportSession, message_id: int, reason: Text
    ) -> None:
        """The commit failed and was rolled back: ``reason`` replaces "importing…", with the
        preview's Import to press again (unless the dialog has moved on meanwhile)."""
        dialog = await self._uow.dialogs.get(member.id)
        mine = (
            dialog is not None
            and (dialog.kind, dialog.step) == (KIND, COMMITTING)
            and ImportSession.from_data(dialog.data).run == session.run
        )
        if mine:
            await self._save(member, session, message_id)
        await self._notify(member, session, message_id, "failed", reason, again=mine)

    async def recover_interrupted(self, started_at: datetime) -> int:
        """At start-up: commits that were under way when a process stopped (their
        transactions rolled back, nothing written) — dialogs still "committing" from before
        ``started_at`` whose commit no running process holds. Each admin is told, on the
        "importing…" message, and has the preview back. How many there were."""
        recovered = 0
        for dialog in await self._uow.dialogs.in_step(KIND, COMMITTING, started_at):
            member = await self._uow.members.by_id(dialog.member_id)
            if member is None or not await self._uow.imports.try_lock_commit(member.id):
                continue
            session = ImportSession.from_data(dialog.data)
            await self._save(member, session, dialog.message_id)
            if dialog.message_id is not None:
                reason = Text("import.interrupted", {"file": session.file_name})
                await self._notify(
                    member, session, dialog.message_id, "interrupted", reason, again=True
                )
            recovered += 1
        return recovered

    async def receive(
        self, member: Member, data: bytes, file_name: str, file_id: str, zone: ZoneInfo
    ) -> Preview:
        """A file arrived: propose the mapping, dry-run it, keep the choices in the dialog."""
        require(member, Action.IMPORT_CUSTOMERS)
        async with parsed_file(data, file_name, zone) as parsed:
            preview = await self._dry_run(parsed, file_name, file_id, member.id)
        await self._save(member, preview.session)
        return preview

    async def remap(
        self, member: Member, data: bytes, zone: ZoneInfo, column: int, field: str | None
    ) -> Preview:
        """Import column ``column`` as ``field`` (None: ignore it); a field has one column."""
        session = await self.session(member)
        if not 0 <= column < len(session.headers) or (field is not None and field not in FIELDS):
            raise InvalidInput("errors.button_expired")
        mapping = [None if field is not None and m == field else m for m in session.mapping]
        mapping += [None] * (len(session.headers) - len(mapping))
        mapping[column] = field
        return await self._again(member, session, data, zone, mapping=tuple(mapping))

    async def set_owner(
        self, member: Member, data: bytes, zone: ZoneInfo, owner_id: int
    ) -> Preview:
        """The owner of new customers whose owner cell is empty (or with no owner column)."""
        session = await self.session(member)
        if owner_id not in {m.id for m in await self._uow.members.list_active()}:
            raise InvalidInput("errors.button_expired")
        return await self._again(member, session, data, zone, owner_id=owner_id)

    async def owners(self, member: Member) -> Sequence[Member]:
        require(member, Action.IMPORT_CUSTOMERS)
        return await self._uow.members.list_active()

    async def commit(self, member: Member, data: bytes, zone: ZoneInfo) -> Committed:
        """The file as previewed, written in the caller's one transaction; after
        ``begin_commit``. The result replaces "importing…" (through the outbox)."""
        await self._uow.imports.lock_commit(member.id)  # before reading: see recover_interrupted
        dialog = await self._dialog(member, COMMITTING)
        session = ImportSession.from_data(dialog.data)
        committed = await self._commit(member, data, session, zone)
        await close(self._uow, member.id, KIND)
        if dialog.message_id is not None:
            counts = committed.counts
            done = Text(
                "import.done",
                {
                    "file": committed.file_name,
                    "new": counts.new,
                    "updated": counts.updated,
                    "skipped": counts.duplicate + counts.invalid,
                },
            )
            await self._notify(member, session, dialog.message_id, "done", done, again=False)
        return committed

    async def cancel(self, member: Member) -> bool:
        dialog = await self._uow.dialogs.get(member.id)
        if dialog is None or dialog.kind != KIND:
            return False
        await self._uow.dialogs.clear(member.id)
        return True

    # -- the command line (``kehu import FILE``): no dialog, the proposed mapping ----------

    async def check_file(
        self, data: bytes, file_name: str, zone: ZoneInfo, owner_telegram_id: int | None = None
    ) -> Preview:
        owner = await self._cli_owner(owner_telegram_id)
        async with parsed_file(data, file_name, zone) as parsed:
            return await self._dry_run(parsed, file_name, "", owner)

    async def import_file(self, data: bytes, checked: ImportSession, zone: ZoneInfo) -> Committed:
        """Commit the file as ``check_file`` checked it (its mapping, owner and codes)."""
        return await self._commit(None, data, checked, zone)

    # -- the work -------------------------------------------------------------------------

    async def _again(
        self,
        member: Member,
        session: ImportSession,
        data: bytes,
        zone: ZoneInfo,
        *,
        mapping: tuple[str | None, ...] | None = None,
        owner_id: int | None = None,
    ) -> Preview:
        chosen = mapping if mapping is not None else session.mapping
        async with parsed_file(data, session.file_name, zone, chosen) as parsed:
            preview = await self._dry_run(
                parsed,
                session.file_name,
                session.file_id,
                owner_id if owner_id is not None else session.owner_id,
            )
        await self._save(member, preview.session)
        return preview

    async def _dry_run(
        self, parsed: ParsedFile, file_name: str, file_id: str, owner_id: int
    ) -> Preview:
        members = await self._uow.members.list_active()
        run = ImportRun(self._uow.imports, Owners(members), owner_id)
        outcome = await run.run(parsed.chunks)
        owner = next((m.name for m in members if m.id == owner_id), "?")
        session = ImportSession(
            file_id,
            file_name,
            parsed.headers,
            parsed.mapping,
            owner_id,
            parsed.header_row,
            outcome.counts,
            outcome.top_code,
        )
        return Preview(session, owner, outcome)

    async def _commit(
        self, member: Member | None, data: bytes, session: ImportSession, zone: ZoneInfo
    ) -> Committed:
        now = self._clock.now()
        members = await self._uow.members.list_active()
        run = ImportRun(
            self._uow.imports,
            Owners(members),
            session.owner_id,
            write=True,
            actor_id=member.id if member else None,
            at=now,
            top_code=session.top_code,
        )
        async with parsed_file(
            data, session.file_name, zone, session.mapping, search_keys=True
        ) as parsed:
            outcome = await run.run(parsed.chunks)
        counts = outcome.counts
        await self._uow.audit.record(
            AuditEntry(
                action="customers.imported",
                entity_type="customer",
                entity_id=None,
                actor_id=member.id if member else None,
                at=now,
                details={
                    "file": session.file_name,
                    "rows": counts.rows,
                    "new": counts.new,
                    "updated": counts.updated,
                    "duplicate": counts.duplicate,
                    "invalid": counts.invalid,
                },
            )
        )
        return Committed(counts, session.file_name)

    async def _dialog(self, member: Member, step: str) -> Dialog:
        """The member's import dialog, at ``step`` (else busy, or expired)."""
        require(member, Action.IMPORT_CUSTOMERS)
        dialog = await self._uow.dialogs.get(member.id)
        if dialog is not None and dialog.kind == KIND and dialog.step == COMMITTING != step:
            raise InvalidInput("import.busy")
        if dialog is None or dialog.kind != KIND or dialog.step != step:
            raise InvalidInput("import.expired")
        return dialog

    async def _save(
        self, member: Member, session: ImportSession, message_id: int | None = None
    ) -> None:
        dialog = Dialog(member.id, KIND, PREVIEW, replace(session, run="").to_data(), message_id)
        await self._uow.dialogs.save(dialog, self._clock.now())

    async def _notify(
        self,
        member: Member,
        session: ImportSession,
        message_id: int,
        outcome: str,
        text: Text,
        *,
        again: bool,
    ) -> None:
        """``text`` in place of the commit's "importing…" message; with ``again``, the
        preview's buttons under it."""
        buttons: tuple[tuple[Button, ...], ...] = ()
        if again:
            count = session.counts.new + session.counts.updated
            buttons = (
                (
                    Button(Text("import.go", {"count": count}), data="imp:go"),
                    Button(Text("import.cancel"), data="imp:x"),
                ),
            )
        notice = OutgoingMessage(
            key=f"import:{member.id}:{session.run}:{outcome}",
            chat_id=member.telegram_id,
            text=text,
            language=resolve_language(member.language, None, self._default_language),
            buttons=buttons,
            replaces=message_id,
        )
        await self._uow.outbox.enqueue(notice, self._clock.now())

    async def _cli_owner(self, telegram_id: int | None) -> int:
        members = await self._uow.members.list_active()
        for candidate in members:
            if telegram_id is not None and candidate.telegram_id == telegram_id:
                return candidate.id
            if telegram_id is None and candidate.role is Role.ADMIN:
                return candidate.id
        raise InvalidInput("import.no_owner")


def _counts_tuple(counts: Counts) -> tuple[int, int, int, int, int]:
    return (counts.rows, counts.new, counts.updated, counts.duplicate, counts.invalid)
