"""Shared fixtures: the network guard, the throwaway PostgreSQL cluster, and a fresh migrated
database per test on each backend."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import uuid
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.support import network_guard
from tests.support.postgres import ThrowawayCluster, find_binaries

network_guard.install()

_cluster: ThrowawayCluster | None = None
_cluster_error: str | None = None


def pytest_report_header(config: pytest.Config) -> str:
    binaries = find_binaries()
    if binaries is None:
        return "PostgreSQL: no binaries found — the PostgreSQL runs will be SKIPPED"
    return f"PostgreSQL: throwaway cluster from {binaries}"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _cluster_error:
        terminalreporter.write_line(f"PostgreSQL runs SKIPPED: {_cluster_error}", yellow=True)


def pytest_sessionfinish(session: pytest.Session) -> None:
    if _cluster is not None:
        _cluster.stop()


@pytest.fixture(autouse=True)
def _no_network() -> Iterator[None]:
    before = len(network_guard.violations)
    yield
    tried = network_guard.violations[before:]
    if tried:
        pytest.fail(f"the test tried to reach the network: {tried}")


@pytest.fixture(autouse=True)
def _import_spools_of_this_test(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The rows an import preview keeps for its commit go to the test's own folder."""
    from crm.importing import source

    monkeypatch.setattr(source, "spool_folder", lambda: tmp_path / "import-spools")


def postgres_cluster() -> ThrowawayCluster:
    global _cluster, _cluster_error
    if _cluster is None and _cluster_error is None:
        try:
            _cluster = ThrowawayCluster.start()
        except OSError as error:
            _cluster_error = str(error)
        except subprocess.SubprocessError as error:  # e.g. initdb failing: say why
            _cluster_error = f"could not start: {error}"
    if _cluster is None:
        pytest.skip(f"PostgreSQL unavailable: {_cluster_error}")
    return _cluster


def run_async(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run set-up coroutines on a loop of their own, away from the tests' loops."""
    with ThreadPoolExecutor(1) as worker:
        return worker.submit(asyncio.run, coroutine).result()


async def _migrate(url: str) -> None:
    from storage import migrate
    from storage.db import create_engine

    engine = create_engine(url)
    try:
        await migrate.upgrade(engine)
    finally:
        await engine.dispose()


async def _admin_execute(cluster: ThrowawayCluster, *statements: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(
        user=cluster.user, host="127.0.0.1", port=cluster.port, database="postgres"
    )
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "kehu.db"
    run_async(_migrate(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def postgres_template() -> str:
    cluster = postgres_cluster()
    run_async(_admin_execute(cluster, "CREATE DATABASE kehu_template"))
    run_async(_migrate(cluster.url("kehu_template")))
    return "kehu_template"


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A migrated database of its own for this test, on SQLite or PostgreSQL."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "kehu.db"
        shutil.copyfile(template, target)
        yield f"sqlite+aiosqlite:///{target}"
        return
    template_name = request.getfixturevalue("postgres_template")
    cluster = postgres_cluster()
    name = f"t_{uuid.uuid4().hex[:12]}"
    run_async(_admin_execute(cluster, f"CREATE DATABASE {name} TEMPLATE {template_name}"))
    yield cluster.url(name)
    run_async(_admin_execute(cluster, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture
def empty_database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A database with no schema at all (for migration tests)."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
        return
    cluster = postgres_cluster()
    name = f"e_{uuid.uuid4().hex[:12]}"
    run_async(_admin_execute(cluster, f"CREATE DATABASE {name}"))
    yield cluster.url(name)
    run_async(_admin_execute(cluster, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
