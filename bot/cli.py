"""The ``kehu`` command: run the bot, try it offline, migrate, add admins."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TypeVar

from telegram import Update

from bot.logs import configure_logging
from bot.settings import Settings, SettingsError, load_settings
from crm.clock import SystemClock
from crm.services import Services
from storage import migrate
from storage.db import create_engine, session_factory
from storage.uow import SqlUnitOfWork

T = TypeVar("T")
NO_TOKEN_HINT = """\
No KEHU_BOT_TOKEN is set, so Kehu starts its offline sandbox (a fake Telegram on this machine).
To run the real bot: create a bot with @BotFather, then either
    export KEHU_BOT_TOKEN=123456789:AAE...   or put KEHU_BOT_TOKEN=... in a .env file here
and run `make run` again. KEHU_ADMIN_IDS=<your Telegram id> makes you the first admin.
"""


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as error:
        print(error, file=sys.stderr)
        return 2
    configure_logging(settings.log_level, _secrets(settings))
    return int(args.handler(settings, args) or 0)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kehu", description="Kehu: a CRM that lives in Telegram")
    commands = parser.add_subparsers(required=True, metavar="command")

    run = commands.add_parser("run", help="migrate and run the bot (the sandbox without a token)")
    run.set_defaults(handler=_run)

    sandbox = commands.add_parser("sandbox", help="try Kehu offline in this terminal")
    sandbox.add_argument("--database", help="SQLite file (default ./data/sandbox.db)")
    sandbox.add_argument("--demo", action="store_true", help="load the demo data set at once")
    sandbox.set_defaults(handler=_sandbox)

    database = commands.add_parser("db", help="database migrations").add_subparsers(required=True)
    upgrade = database.add_parser("upgrade", help="migrate to the newest schema (or REVISION)")
    upgrade.add_argument("revision", nargs="?", default="head")
    upgrade.set_defaults(handler=_db_upgrade)
    downgrade = database.add_parser("downgrade", help="migrate back to REVISION")
    downgrade.add_argument("revision")
    downgrade.set_defaults(handler=_db_downgrade)
    database.add_parser("current", help="show the schema revision").set_defaults(
        handler=_db_current
    )

    choices = commands.add_parser(
        "choices", help="choice lists (industry, size, source, ...) and the tag catalogue"
    ).add_subparsers(required=True)
    choices.add_parser("list", help="show every list").set_defaults(handler=_choices_list)
    for verb in ("add", "remove"):
        change = choices.add_parser(verb, help=f"{verb} a value, e.g. {verb} industry 新能源")
        change.add_argument("list_key")
        change.add_argument("value")
        change.set_defaults(handler=_choices_change, verb=verb)

    survey = commands.add_parser("survey", help="surveys").add_subparsers(required=True)
    survey_import = survey.add_parser("import", help="import an XLSForm workbook (.xlsx)")
    survey_import.add_argument("file")
    survey_import.set_defaults(handler=_survey_import)

    customers_import = commands.add_parser(
        "import",
        help="import customers from an .xlsx or .csv: a dry run, or --commit to write them",
    )
    customers_import.add_argument("file")
    customers_import.add_argument(
        "--owner", type=int, default=None, help="Telegram id of the member who owns new customers"
    )
    customers_import.add_argument(
        "--commit", action="store_true", help="write (all or nothing); without it: dry run"
    )
    customers_import.set_defaults(handler=_customers_import)

    admin = commands.add_parser("admin", help="members").add_subparsers(required=True)
    add_admin = admin.add_parser("add", help="make a Telegram user an admin")
    add_admin.add_argument("telegram_id", type=int)
    add_admin.add_argument("--name", default=None)
    add_admin.set_defaults(handler=_admin_add)
    return parser


def _run(settings: Settings, _args: argparse.Namespace) -> int:
    if settings.bot_token is None:
        print(NO_TOKEN_HINT)
        return _sandbox(settings, argparse.Namespace(database=None, demo=False))
    from bot.app import build_application

    asyncio.run(_upgrade(settings.database_url, "head"))
    application = build_application(settings)
    if settings.webhook_url:
        application.run_webhook(**settings.webhook_options(), allowed_updates=Update.ALL_TYPES)
    else:
        application.run_polling(allowed_updates=Update.ALL_TYPES)
    return 0


def _sandbox(settings: Settings, args: argparse.Namespace) -> int:
    from bot.sandbox import run_sandbox

    if settings.log_level != "DEBUG":  # the terminal is the chat: keep it for the chat
        logging.getLogger().setLevel(logging.WARNING)
    return run_sandbox(settings, database=args.database, demo=args.demo)


def _db_upgrade(settings: Settings, args: argparse.Namespace) -> int:
    asyncio.run(_upgrade(settings.database_url, args.revision))
    print(f"database at {args.revision}")
    return 0


def _db_downgrade(settings: Settings, args: argparse.Namespace) -> int:
    async def go() -> None:
        engine = create_engine(settings.database_url)
        try:
            await migrate.downgrade(engine, args.revision)
        finally:
            await engine.dispose()

    asyncio.run(go())
    print(f"database at {args.revision}")
    return 0


def _db_current(settings: Settings, _args: argparse.Namespace) -> int:
    async def go() -> str | None:
        engine = create_engine(settings.database_url)
        try:
            return await migrate.current_revision(engine)
        finally:
            await engine.dispose()

    current = asyncio.run(go())
    print(f"current: {current or 'empty database'}; newest: {migrate.head_revision()}")
    return 0


def _admin_add(settings: Settings, args: argparse.Namespace) -> int:
    member = asyncio.run(
        _with_services(settings, lambda s: s.members.add_admin(args.telegram_id, args.name))
    )
    print(f"{member.telegram_id} is an admin")
    return 0


def _survey_import(settings: Settings, args: argparse.Namespace) -> int:
    from bot.i18n import Catalogue
    from crm.surveys.xlsform import WorkbookInvalid

    data = Path(args.file).read_bytes()
    try:
        imported = asyncio.run(
            _with_services(settings, lambda s: s.research.import_workbook(None, data))
        )
    except WorkbookInvalid as invalid:
        catalogue = Catalogue.load()
        for problem in invalid.problems:
            where = f"{problem.sheet}!{problem.column or '-'}{problem.row or ''}"
            print(f"{where}: {catalogue.render(settings.language, problem.text)}", file=sys.stderr)
        return 2
    survey = imported.survey
    print(f"survey {survey.id} {survey.form_id!r} version {survey.version_number}: {survey.title}")
    return 0


def _customers_import(settings: Settings, args: argparse.Namespace) -> int:
    """``kehu import FILE``: the dry run (rejected rows into FILE.rejected.xlsx), or with
    ``--commit`` the import itself in one transaction."""
    from bot.i18n import Catalogue
    from crm.errors import DomainError
    from crm.importing.report import rejected_workbook
    from crm.importing.service import Committed, Preview

    path = Path(args.file)
    data = path.read_bytes()
    catalogue = Catalogue.load()
    language = settings.language

    def t(key: str, **variables: object) -> str:
        return catalogue.t(language, key, **variables)

    async def dry_run(services: Services) -> Preview:
        return await services.imports.check_file(data, path.name, settings.zone, args.owner)

    async def commit(services: Services) -> Committed:
        return await services.imports.import_file(data, preview.session, settings.zone)

    try:
        preview = asyncio.run(_with_services(settings, dry_run))
        committed = asyncio.run(_with_services(settings, commit)) if args.commit else None
    except DomainError as error:
        print(catalogue.render(language, error.text), file=sys.stderr)
        return 2
    session, counts = preview.session, preview.session.counts
    for header, field in zip(session.headers, session.mapping, strict=False):
        print(f"{header} → {t(f'import.field.{field}') if field else t('import.ignored')}")
    print(
        t(
            "import.counts",
            new=counts.new,
            updated=counts.updated,
            duplicate=counts.duplicate,
            invalid=counts.invalid,
        )
    )
    if preview.outcome.rejected:
        rejected_path = path.with_name(path.stem + ".rejected.xlsx")
        rejected_path.write_bytes(
            rejected_workbook(
                session.headers,
                preview.outcome.rejected,
                lambda text: catalogue.render(language, text),
                lambda field: t(f"import.field.{field}") if field else "",
                (t("import.column_row"), t("import.column_field"), t("import.column_reason")),
            )
        )
        caption = t("import.rejected_caption", count=len(preview.outcome.rejected))
        print(f"{caption} {rejected_path}")
    if committed is not None:
        done = committed.counts
        skipped = done.duplicate + done.invalid
        print(t("import.done", file=path.name, new=done.new, updated=done.updated, skipped=skipped))
    return 0


def _choices_list(settings: Settings, _args: argparse.Namespace) -> int:
    lists = asyncio.run(_with_services(settings, lambda services: services.choices.all(None)))
    for key, values in lists.items():
        print(f"{key}: {', '.join(values) or '-'}")
    return 0


def _choices_change(settings: Settings, args: argparse.Namespace) -> int:
    from crm.errors import DomainError

    async def change(services: Services) -> bool:
        choices = services.choices
        method = choices.add if args.verb == "add" else choices.remove
        return await method(None, args.list_key, args.value)

    try:
        changed = asyncio.run(_with_services(settings, change))
    except DomainError as error:
        print(f"refused: {error.text.key} {dict(error.text.vars)}", file=sys.stderr)
        return 2
    print(f"{args.list_key}: {args.verb} {args.value!r}: {'done' if changed else 'no change'}")
    return 0


async def _with_services(settings: Settings, use: Callable[[Services], Awaitable[T]]) -> T:
    """Run one use case in one committed transaction, migrating first."""
    from bot.runtime import Kehu

    await _upgrade(settings.database_url, "head")
    engine = create_engine(settings.database_url)
    try:
        clock = SystemClock()
        async with SqlUnitOfWork(session_factory(engine), clock) as uow:
            result = await use(Services(uow, clock, Kehu.domain_config_for(settings)))
            await uow.commit()
        return result
    finally:
        await engine.dispose()


async def _upgrade(url: str, revision: str) -> None:
    engine = create_engine(url)
    try:
        await migrate.upgrade(engine, revision)
    finally:
        await engine.dispose()


def _secrets(settings: Settings) -> list[str]:
    return [
        secret.get_secret_value()
        for secret in (settings.bot_token, settings.webhook_secret_token)
        if secret is not None
    ]


if __name__ == "__main__":
    raise SystemExit(main())
