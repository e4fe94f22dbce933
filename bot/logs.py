"""Logging set-up: one format, quiet libraries, and the bot token never written anywhere."""

from __future__ import annotations

import logging

_NOISY = (
    "httpx",
    "httpcore",
    "apscheduler",
    "telegram.ext.Updater",
    "aiosqlite",
    "tornado.access",
    "alembic",
)


class RedactSecrets(logging.Filter):
    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self._secrets = [secret for secret in secrets if secret]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(secret in message for secret in self._secrets):
            for secret in self._secrets:
                message = message.replace(secret, "[redacted]")
            record.msg, record.args = message, None
        return True


# The outbox retries flood-controlled sends itself; PTB's limiter need not log each one.
_HANDLED_ELSEWHERE = ("telegram.ext.AIORateLimiter",)


def configure_logging(level: str, secrets: list[str]) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in _NOISY:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLevelName(level)))
    for name in _HANDLED_ELSEWHERE:
        logging.getLogger(name).setLevel(logging.ERROR)
