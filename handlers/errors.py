"""The one error handler: roll the update back, tell the user in their language, log the rest."""

from __future__ import annotations

import logging

from telegram import Update

from bot.context import KehuContext
from crm.errors import DomainError

_LOG = logging.getLogger("kehu.errors")


async def on_error(update: object, context: KehuContext) -> None:
    error = context.error
    if not isinstance(update, Update) or not context.has_scope:
        _LOG.error("background failure", exc_info=error)
        return
    context.scope.fail()
    if isinstance(error, DomainError):
        _LOG.info("update %s refused: %s", update.update_id, error.text.key)
        if error.audit is not None:
            context.scope.kept_audit.append(error.audit)
        message = context.render(error.text)
    else:
        _LOG.error("update %s failed; rolled back", update.update_id, exc_info=error)
        message = context.t("errors.generic")
    if update.callback_query is not None:
        context.answer()
    context.reply(message)
