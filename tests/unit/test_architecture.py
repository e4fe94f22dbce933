"""The domain stays free of Telegram and SQL: ``crm`` imports neither."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN_IN_DOMAIN = (
    "telegram",
    "sqlalchemy",
    "alembic",
    "asyncpg",
    "aiosqlite",
    "bot",
    "handlers",
    "storage",
    "scheduler",
)


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_domain_imports_neither_telegram_nor_sql() -> None:
    offenders = {
        f"{path.relative_to(ROOT)}: {module}"
        for path in (ROOT / "crm").rglob("*.py")
        for module in imported_modules(path)
        if module.split(".")[0] in FORBIDDEN_IN_DOMAIN
    }
    assert offenders == set()


def test_storage_does_not_reach_up_into_the_bot() -> None:
    offenders = {
        f"{path.relative_to(ROOT)}: {module}"
        for path in (ROOT / "storage").rglob("*.py")
        for module in imported_modules(path)
        if module.split(".")[0] in ("telegram", "bot", "handlers", "scheduler")
    }
    assert offenders == set()
