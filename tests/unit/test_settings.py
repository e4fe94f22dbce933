"""Configuration: the documented names, their defaults, and one clear line per wrong value."""

from __future__ import annotations

import pytest

from bot.cli import main
from bot.settings import DEFAULT_DATABASE_URL, Settings, SettingsError, load_settings

ALL_VARIABLES = (
    "KEHU_BOT_TOKEN",
    "KEHU_DATABASE_URL",
    "KEHU_TELEGRAM_API_BASE_URL",
    "KEHU_LANGUAGE",
    "KEHU_TIMEZONE",
    "KEHU_ADMIN_IDS",
    "KEHU_LOG_LEVEL",
    "KEHU_WEBHOOK_URL",
    "KEHU_WEBHOOK_LISTEN",
    "KEHU_WEBHOOK_PORT",
    "KEHU_WEBHOOK_SECRET_TOKEN",
    "KEHU_INVITE_TTL_HOURS",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    for name in ALL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_defaults() -> None:
    settings = load_settings()
    assert settings.bot_token is None
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert settings.telegram_api_base_url == "https://api.telegram.org/bot"
    assert settings.telegram_file_base_url == "https://api.telegram.org/file/bot"
    assert (settings.language, settings.timezone, settings.admin_ids) == ("zh", "Asia/Shanghai", ())
    assert settings.webhook_url is None


def test_values_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEHU_BOT_TOKEN", "123456789:AAEabcdefghijklmnopqrstuvwxyz012345")
    monkeypatch.setenv("KEHU_DATABASE_URL", "postgresql://kehu:pw@db/kehu")
    monkeypatch.setenv("KEHU_TELEGRAM_API_BASE_URL", "http://127.0.0.1:8081/bot/")
    monkeypatch.setenv("KEHU_LANGUAGE", "EN")
    monkeypatch.setenv("KEHU_TIMEZONE", "Europe/Berlin")
    monkeypatch.setenv("KEHU_ADMIN_IDS", "1001, 1002")
    monkeypatch.setenv("KEHU_LOG_LEVEL", "debug")
    settings = load_settings()
    assert settings.bot_token is not None
    assert "AAE" not in repr(settings)  # the token never shows in a repr or a log line
    assert settings.database_url == "postgresql+asyncpg://kehu:pw@db/kehu"
    assert settings.telegram_file_base_url == "http://127.0.0.1:8081/file/bot"
    assert (settings.language, settings.admin_ids, settings.log_level) == (
        "en",
        (1001, 1002),
        "DEBUG",
    )


def test_dotenv_file_is_read(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("KEHU_LANGUAGE=en\nKEHU_ADMIN_IDS=7\n", encoding="utf-8")
    settings = Settings()
    assert (settings.language, settings.admin_ids) == ("en", (7,))


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("KEHU_BOT_TOKEN", "not-a-token", "KEHU_BOT_TOKEN: expected the token from @BotFather"),
        (
            "KEHU_DATABASE_URL",
            "mysql://x",
            "KEHU_DATABASE_URL: expected a sqlite:/// or postgresql://",
        ),
        (
            "KEHU_TELEGRAM_API_BASE_URL",
            "https://api.telegram.org",
            "KEHU_TELEGRAM_API_BASE_URL: expected",
        ),
        ("KEHU_LANGUAGE", "fr", "KEHU_LANGUAGE: Input should be 'zh' or 'en'"),
        ("KEHU_TIMEZONE", "Mars/Olympus", "KEHU_TIMEZONE: expected an IANA time zone"),
        (
            "KEHU_ADMIN_IDS",
            "12,abc",
            "KEHU_ADMIN_IDS: expected Telegram user ids separated by commas",
        ),
        ("KEHU_LOG_LEVEL", "LOUD", "KEHU_LOG_LEVEL: Input should be"),
        ("KEHU_WEBHOOK_URL", "http://plain", "KEHU_WEBHOOK_URL: expected a public https:// URL"),
        (
            "KEHU_WEBHOOK_PORT",
            "99999",
            "KEHU_WEBHOOK_PORT: Input should be less than or equal to 65535",
        ),
        ("KEHU_WEBHOOK_SECRET_TOKEN", "has spaces", "KEHU_WEBHOOK_SECRET_TOKEN: expected 1-256"),
    ],
)
def test_a_wrong_value_names_the_variable(
    monkeypatch, variable: str, value: str, says: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert str(error.value).startswith(says)
    assert "\n" not in str(error.value)


def test_secrets_are_not_echoed_back(monkeypatch) -> None:
    monkeypatch.setenv("KEHU_BOT_TOKEN", "123:short-secret")
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert "short-secret" not in str(error.value)


def test_cli_stops_with_one_line_and_exit_code_2(monkeypatch, capsys) -> None:
    monkeypatch.setenv("KEHU_TIMEZONE", "Nowhere/Land")
    assert main(["db", "current"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "KEHU_TIMEZONE: expected an IANA time zone, like Asia/Shanghai or Europe/Berlin"
        " (got 'Nowhere/Land')"
    ]
