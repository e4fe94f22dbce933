"""A throwaway PostgreSQL cluster from the machine's own binaries: a temporary directory, a free
port, a UTF-8 locale (pg_trgm sees no Chinese under the C locale), stopped and removed after."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path


def find_binaries() -> Path | None:
    initdb = shutil.which("initdb")
    if initdb:
        return Path(os.path.realpath(initdb)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    return Path(candidates[0]).parent if candidates else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class ThrowawayCluster:
    binaries: Path
    root: Path
    port: int
    user: str = "kehu"

    @classmethod
    def start(cls) -> ThrowawayCluster:
        binaries = find_binaries()
        if binaries is None:
            raise FileNotFoundError("no PostgreSQL binaries (initdb) on this machine")
        root = Path(tempfile.mkdtemp(prefix="kehu-pg-"))
        cluster = cls(binaries=binaries, root=root, port=_free_port())
        try:
            cluster._initdb()
            cluster._pg_ctl("start", "-w", "-l", str(root / "server.log"), "-o", cluster._options())
        except BaseException:
            cluster.stop()
            raise
        return cluster

    @property
    def admin_url(self) -> str:
        return f"postgresql+asyncpg://{self.user}@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://{self.user}@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        if (self.root / "data" / "postmaster.pid").exists():
            self._pg_ctl("stop", "-m", "immediate", check=False)
        shutil.rmtree(self.root, ignore_errors=True)

    def _initdb(self) -> None:
        if os.geteuid() == 0:
            postgres = pwd.getpwnam("postgres")
            os.chown(self.root, postgres.pw_uid, postgres.pw_gid)
        self._as_owner(
            str(self.binaries / "initdb"),
            "-D",
            str(self.root / "data"),
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "-A",
            "trust",
            "-U",
            self.user,
            "--no-sync",
        )

    def _options(self) -> str:
        return (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c full_page_writes=off -c synchronous_commit=off "
            "-c max_connections=200"
        )

    def _pg_ctl(self, *args: str, check: bool = True) -> None:
        self._as_owner(
            str(self.binaries / "pg_ctl"), "-D", str(self.root / "data"), *args, check=check
        )

    def _as_owner(self, *command: str, check: bool = True) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run(
            [*prefix, *command],
            check=check,
            capture_output=True,
            text=True,
            timeout=120,
        )


@asynccontextmanager
async def throwaway_database(name: str = "bench") -> AsyncIterator[str | None]:
    """A throwaway cluster holding an empty database ``name``: its URL (None when the machine
    has no PostgreSQL binaries). For the bench scripts."""
    if find_binaries() is None:
        yield None
        return
    import asyncpg

    cluster = ThrowawayCluster.start()
    try:
        connection = await asyncpg.connect(
            user=cluster.user, host="127.0.0.1", port=cluster.port, database="postgres"
        )
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()
        yield cluster.url(name)
    finally:
        cluster.stop()
