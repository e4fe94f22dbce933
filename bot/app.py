"""``build_application``: the one PTB Application used by production, the sandbox and the tests."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from telegram import Update
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    ContextTypes,
    ExtBot,
    JobQueue,
)

import handlers
import scheduler
from bot.context import KehuContext
from bot.i18n import Catalogue
from bot.runtime import Kehu
from bot.scope import UpdateScope
from bot.settings import Settings
from crm.clock import Clock, SystemClock
from crm.text import name_keys
from handlers.commands import set_public_menus
from scheduler.exports import ExportBuilder
from scheduler.jobs import dispatch_digests, dispatch_reminders, recover_interrupted_imports
from scheduler.outbox import OutboxDispatcher
from scheduler.rate_limit import SendRateLimiter
from scheduler.single_flight import SingleFlight
from storage.db import create_engine, session_factory
from storage.uow import SqlUnitOfWork

_LOG = logging.getLogger(__name__)
SANDBOX_TOKEN = "123456789:kehu-sandbox-token-not-a-secret"

KehuJobQueue = JobQueue[KehuContext]


class KehuApplication(
    Application[
        ExtBot[None], KehuContext, dict[Any, Any], dict[Any, Any], dict[Any, Any], KehuJobQueue
    ]
):
    """Wraps the handling of each update in one transaction, ignores redelivered updates and
    sends the replies only once the transaction has committed."""

    def __init__(self, *, kehu: Kehu, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.kehu = kehu
        self.outbox: OutboxDispatcher | None = None
        self.exports = ExportBuilder(self)
        self.reminders = SingleFlight(lambda: dispatch_reminders(self))
        self.digests = SingleFlight(lambda: dispatch_digests(self))
        self._scopes: dict[int, UpdateScope] = {}

    def scope_for(self, update: Update) -> UpdateScope | None:
        return self._scopes.get(update.update_id)

    async def process_update(self, update: object) -> None:
        if not isinstance(update, Update):
            await super().process_update(update)
            return
        async with self.kehu.unit_of_work() as uow:
            if await uow.updates.seen(self.bot.id, update.update_id):
                _LOG.info("update %s was handled before; ignoring the redelivery", update.update_id)
                return
            scope = UpdateScope(update, uow, self.kehu.services(uow), self.kehu.settings.language)
            self._scopes[update.update_id] = scope
            try:
                await super().process_update(update)
            finally:
                del self._scopes[update.update_id]
            if not await self._commit(scope, uow):
                return
        await scope.run_effects(self.bot, self.kehu.clock, self.kehu.limiter)
        if uow.enqueued_messages:
            self.wake_outbox()

    async def _commit(self, scope: UpdateScope, uow: SqlUnitOfWork) -> bool:
        """Commit the update's work (or, if it failed, only the fact it was handled). False if
        another process handled the same update meanwhile: then nothing is sent."""
        update_id = scope.update.update_id
        if scope.failed:
            await uow.rollback()
            for entry in scope.kept_audit:
                await uow.audit.record(entry)
        try:
            await uow.updates.record(self.bot.id, update_id, self.kehu.clock.now())
            await uow.commit()
            return True
        except SQLAlchemyError:
            await uow.rollback()
            if await uow.updates.seen(self.bot.id, update_id):
                _LOG.info("update %s was handled concurrently; dropping", update_id)
                return False
            _LOG.exception("update %s could not be committed; rolled back", update_id)
        scope.fail()
        self._reply_generic_error(scope)
        return True

    def _reply_generic_error(self, scope: UpdateScope) -> None:
        chat = scope.update.effective_chat
        if chat is not None:
            text = self.kehu.catalogue.t(scope.language, "errors.generic")
            scope.after_commit(lambda bot: bot.send_message(chat.id, text))

    async def stop(self) -> None:
        """Graceful stop (SIGTERM, SIGINT): the outbox finishes and records the message in
        flight and hands back the rest of its batch; PTB then finishes the updates in flight."""
        if self.outbox is not None:
            self.outbox.stopping = True
        await super().stop()

    def wake_outbox(self) -> None:
        if self.outbox is not None and self.running:
            self.create_task(self.outbox.drain(), name="outbox-drain")


def build_application(
    settings: Settings, *, clock: Clock | None = None, throttle: bool = True
) -> KehuApplication:
    """The application. ``throttle=False`` lifts Telegram's 30 messages/s overall cap, which
    only a benchmark against the local fake server should do."""
    engine = create_engine(settings.database_url)
    kehu = Kehu(
        settings=settings,
        clock=clock or SystemClock(),
        catalogue=Catalogue.load(),
        engine=engine,
        sessions=session_factory(engine),
    )
    token = settings.bot_token.get_secret_value() if settings.bot_token else SANDBOX_TOKEN
    # One strict rolling-window limiter, shared by replies and the outbox, keeps the bot under
    # Telegram's overall limit; PTB's AIORateLimiter keeps the per-group limits.
    limiter = SendRateLimiter(kehu.clock, per_second=30 if throttle else 100_000)
    kehu.limiter = limiter
    application = (
        ApplicationBuilder()
        .application_class(KehuApplication, kwargs={"kehu": kehu})
        .token(token)
        .base_url(settings.telegram_api_base_url)
        .base_file_url(settings.telegram_file_base_url)
        .context_types(ContextTypes(context=KehuContext))
        .rate_limiter(AIORateLimiter(overall_max_rate=0, max_retries=0))
        .post_init(_on_startup)
        .post_shutdown(_on_shutdown)
        .build()
    )
    assert isinstance(application, KehuApplication)
    application.outbox = OutboxDispatcher(
        units=kehu.unit_of_work,
        bot=application.bot,
        clock=kehu.clock,
        catalogue=kehu.catalogue,
        worker_id=kehu.worker_id,
        limiter=limiter,
    )
    handlers.register(application)
    scheduler.schedule(application)
    return application


async def start_in_loop(application: KehuApplication, *, poll_timeout: int = 10) -> None:
    """Start polling inside an event loop that is already running (sandbox, tests, benches);
    production uses ``run_polling`` / ``run_webhook``, which do the same plus signals."""
    await application.initialize()
    if application.post_init is not None:
        await application.post_init(application)
    assert application.updater is not None
    await application.updater.start_polling(
        poll_interval=0, timeout=poll_timeout, allowed_updates=Update.ALL_TYPES
    )
    await application.start()


async def stop_in_loop(application: KehuApplication) -> None:
    assert application.updater is not None
    if application.updater.running:
        await application.updater.stop()
    if application.running:
        await application.stop()
    await application.shutdown()
    if application.post_shutdown is not None:
        await application.post_shutdown(application)


async def _on_startup(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    assert isinstance(application, KehuApplication)
    # Load pypinyin's dictionaries now, not on the first customer a rep enters.
    await asyncio.to_thread(name_keys, "预热")
    await set_public_menus(application.bot, application.kehu.catalogue)
    await recover_interrupted_imports(application)
    _LOG.info("Kehu is up as @%s (worker %s)", application.bot.username, application.kehu.worker_id)


async def _on_shutdown(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    assert isinstance(application, KehuApplication)
    await application.kehu.engine.dispose()
