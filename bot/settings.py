"""Configuration from environment variables (prefix ``KEHU_``) and an optional ``.env`` file."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from storage.db import normalize_database_url

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./data/kehu.db"
TELEGRAM_API_BASE_URL = "https://api.telegram.org/bot"
_TOKEN_PATTERN = re.compile(r"^\d+:[A-Za-z0-9_-]{20,}$")
DEFAULT_STALE_DAYS = {"potential": 14, "intent": 7, "deal": 30}
_STAGES = ("potential", "intent", "deal", "lost")


class Settings(BaseSettings):
    """Everything Kehu reads from its environment. See README "Configuration"."""

    model_config = SettingsConfigDict(
        env_prefix="KEHU_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
    )

    bot_token: SecretStr | None = None
    database_url: str = DEFAULT_DATABASE_URL
    telegram_api_base_url: str = TELEGRAM_API_BASE_URL
    language: Literal["zh", "en"] = "zh"
    timezone: str = "Asia/Shanghai"
    admin_ids: Annotated[tuple[int, ...], NoDecode] = ()
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    webhook_url: str | None = None
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    webhook_secret_token: SecretStr | None = None
    invite_ttl_hours: int = Field(default=72, ge=1, le=24 * 30)
    overdue_warning_hours: float = Field(default=2.0, gt=0, le=24 * 7)
    stale_days: Annotated[dict[str, int], NoDecode] = Field(
        default_factory=lambda: dict(DEFAULT_STALE_DAYS)
    )
    survey_link_days: int = Field(default=30, ge=1, le=365)
    survey_participant_tag: str = Field(default="高活跃度", min_length=1, max_length=64)
    digest_time: str = "08:30"  # each member's default digest hour, in their own time zone

    @field_validator("bot_token", mode="before")
    @classmethod
    def _token_shape(cls, value: object) -> object:
        if value in (None, ""):
            return None
        if not isinstance(value, str) or not _TOKEN_PATTERN.match(value.strip()):
            raise ValueError("expected the token from @BotFather, like 123456789:AAE...")
        return value.strip()

    @field_validator("database_url")
    @classmethod
    def _database_scheme(cls, value: str) -> str:
        return normalize_database_url(value)

    @field_validator("telegram_api_base_url")
    @classmethod
    def _api_url_shape(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not re.match(r"^https?://[^/]+(/.*)?/bot$", value):
            raise ValueError(
                "expected an http(s) URL ending in /bot, like https://api.telegram.org/bot"
            )
        return value

    @field_validator("language", mode="before")
    @classmethod
    def _language_lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _level_upper(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                "expected an IANA time zone, like Asia/Shanghai or Europe/Berlin"
            ) from None
        return value

    @field_validator("digest_time")
    @classmethod
    def _digest_hour(cls, value: str) -> str:
        found = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", value)
        if not found or int(found.group(1)) > 23 or int(found.group(2)) > 59:
            raise ValueError("expected a time of day HH:MM from 00:00 to 23:59, like 08:30")
        return f"{int(found.group(1)):02d}:{found.group(2)}"

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _comma_separated_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [part.strip() for part in value.split(",") if part.strip()]
            if not all(re.fullmatch(r"\d{1,19}", part) for part in parts):
                raise ValueError("expected Telegram user ids separated by commas, like 1001,1002")
            return tuple(int(part) for part in parts)
        return value

    @field_validator("stale_days", mode="before")
    @classmethod
    def _stage_days(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        days: dict[str, int] = {}
        for part in filter(None, (p.strip() for p in value.split(","))):
            stage, _, number = part.partition("=")
            if stage.strip() not in _STAGES or not number.strip().isdigit():
                raise ValueError("expected stage=days pairs, like potential=14,intent=7,deal=30")
            days[stage.strip()] = int(number)
        return days

    @field_validator("webhook_url")
    @classmethod
    def _webhook_https(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        assert value is not None
        local = re.match(r"^http://(127\.0\.0\.1|localhost)(:\d+)?/", value)  # local Bot API
        if not (re.match(r"^https://[^/\s]+", value) or local):
            raise ValueError(
                "expected a public https:// URL, like https://kehu.example.com/telegram"
            )
        return value

    @field_validator("webhook_secret_token", mode="before")
    @classmethod
    def _secret_shape(cls, value: object) -> object:
        if value in (None, ""):
            return None
        if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", value):
            raise ValueError("expected 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return value

    @property
    def telegram_file_base_url(self) -> str:
        """``…/bot`` becomes ``…/file/bot``, the form PTB's ``base_file_url`` takes."""
        return self.telegram_api_base_url[: -len("/bot")] + "/file/bot"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def webhook_options(self) -> dict[str, Any]:
        """Arguments for PTB's ``run_webhook`` / ``Updater.start_webhook``."""
        if self.webhook_url is None:
            raise ValueError("KEHU_WEBHOOK_URL is not set")
        secret = self.webhook_secret_token
        return {
            "listen": self.webhook_listen,
            "port": self.webhook_port,
            "url_path": urlsplit(self.webhook_url).path.lstrip("/"),
            "webhook_url": self.webhook_url,
            "secret_token": secret.get_secret_value() if secret else None,
        }


class SettingsError(Exception):
    """A configuration value is wrong; the message is one line naming the variable."""


def load_settings(**overrides: object) -> Settings:
    """Read settings, turning pydantic's report into one clear line per wrong variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        raise SettingsError(describe_validation_error(error)) from None


def describe_validation_error(error: ValidationError) -> str:
    lines = []
    for problem in error.errors():
        field = str(problem["loc"][0]) if problem["loc"] else "?"
        message = str(problem["msg"]).removeprefix("Value error, ")
        given = problem.get("input")
        shown = "" if "token" in field or "secret" in field else f" (got {given!r})"
        lines.append(f"KEHU_{field.upper()}: {message}{shown}")
    return "\n".join(lines)
