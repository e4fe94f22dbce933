"""Telegram conversation code. Each handler parses the update, makes one domain call and renders
the answer through the catalogue; replies leave after the update's transaction commits."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application

from handlers import (
    answering,
    choices,
    conversation,
    customers,
    digests,
    exports,
    fallback,
    fields,
    followups,
    gate,
    help,
    importing,
    invite,
    language,
    reachability,
    reports,
    search,
    start,
    surveys,
    tasks,
)
from handlers.errors import on_error

GATE_GROUP = -1
FEATURES = (
    start,
    help,
    invite,
    language,
    reachability,
    customers,
    search,
    followups,
    tasks,
    choices,
    fields,
    answering,
    digests,
    reports,
    exports,
    importing,  # before surveys: an .xlsx may be customers to import or a survey form
    surveys,
    conversation,  # plain text and files: after every command and button handler
)


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    application.add_handler(gate.handler(), group=GATE_GROUP)
    for feature in FEATURES:
        application.add_handlers(feature.handlers())
    application.add_handlers(fallback.handlers())  # last: only what no feature claimed
    application.add_error_handler(on_error)
