"""A throwaway PostgreSQL server for the tests, from the distribution's own binaries.

`initdb` and `pg_ctl` are looked for on PATH, then in /usr/lib/postgresql/*/bin
(Debian keeps them there). The cluster lives in a temporary folder, listens on a
free loopback port with trust authentication, and skips fsync: nothing in it
outlives the session. Each test that asks for one gets a database of its own,
dropped after it. PostgreSQL refuses to run as root, so when the tests do,
its commands run as the `postgres` system user.

Without the binaries the PostgreSQL tests are skipped, except in CI (CI set),
where they fail: CI installs the server (.ci/run) and runs every test.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import psycopg
import pytest

SYSTEM_USER = "postgres"
SUPERUSER = "postgres"
DEBIAN_BINARIES = Path("/usr/lib/postgresql")


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def find_binaries() -> Path | None:
    """The folder holding initdb and pg_ctl: PATH first, then the newest Debian version."""
    on_path = shutil.which("initdb")
    if on_path:
        folder = Path(on_path).resolve().parent
        if (folder / "pg_ctl").exists():
            return folder
    versions = sorted(
        (p for p in DEBIAN_BINARIES.glob("*/bin") if (p / "initdb").exists() and (p / "pg_ctl").exists()),
        key=lambda p: [int(n) for n in re.findall(r"\d+", p.parent.name)] or [0],
    )
    return versions[-1] if versions else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def unavailable(reason: str) -> NoReturn:
    """Skip here; fail in CI, where no PostgreSQL test may be skipped."""
    if in_ci():
        pytest.fail(f"{reason}; CI runs every PostgreSQL test (.ci/run installs the server)", pytrace=False)
    pytest.skip(reason)


@dataclass
class PostgresServer:
    bin_dir: Path
    root: Path
    port: int = 0
    run_as: str | None = None

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def sockets(self) -> Path:
        return self.root / "sockets"

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if self.run_as:
            command = ["runuser", "-u", self.run_as, "--", *command]
        return subprocess.run(command, cwd=self.root, capture_output=True, text=True, timeout=timeout,
                              check=False)

    def start(self) -> None:
        self.sockets.mkdir()
        if self.run_as:
            account = pwd.getpwnam(self.run_as)
            for path in (self.root, self.sockets):
                os.chown(path, account.pw_uid, account.pw_gid)
        done = self._run("initdb", "-D", str(self.data), "-U", SUPERUSER, "-A", "trust", "-E", "UTF8",
                         "--locale=C", "--no-sync")
        if done.returncode:
            raise RuntimeError(f"initdb failed:\n{done.stdout}\n{done.stderr}")
        for _ in range(3):  # another process may take the free port before the server does
            self.port = free_port()
            # Durability off, and no WAL beyond crash recovery: a database per test is created in
            # a few milliseconds instead of a tenth of a second.
            options = (f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 -c fsync=off "
                       "-c synchronous_commit=off -c full_page_writes=off -c wal_level=minimal "
                       "-c max_wal_senders=0 -c max_connections=200")
            done = self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-w",
                             "-t", "60", "-o", options, "start", timeout=90)
            if done.returncode == 0:
                return
        log = (self.root / "server.log").read_text(errors="replace") if (self.root / "server.log").exists() else ""
        raise RuntimeError(f"pg_ctl start failed:\n{done.stdout}\n{done.stderr}\n{log[-4000:]}")

    def stop(self) -> None:
        if self.data.exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(host="127.0.0.1", port=self.port, user=SUPERUSER, dbname="postgres",
                               autocommit=True, connect_timeout=10)

    def create_database(self) -> str:
        """A new empty database; its name."""
        name = f"cm_coach_{uuid.uuid4().hex[:12]}"
        with self._admin() as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        with self._admin() as admin:
            # A store a test left open must not keep its database alive.
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')


def start_server() -> PostgresServer:
    """A running server, or a skip (a failure in CI) when PostgreSQL is not installed."""
    bin_dir = find_binaries()
    if bin_dir is None:
        unavailable("PostgreSQL's initdb and pg_ctl are not installed (Debian: apt-get install postgresql)")
    run_as = None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SYSTEM_USER)
        except KeyError:
            unavailable(f"running as root without a {SYSTEM_USER!r} system user to run PostgreSQL as")
        if shutil.which("runuser") is None:
            unavailable("running as root without runuser to run PostgreSQL as another user")
        run_as = SYSTEM_USER
    server = PostgresServer(bin_dir, Path(tempfile.mkdtemp(prefix="cm-coach-pg-")), run_as=run_as)
    try:
        server.start()
    except BaseException:
        server.stop()
        raise
    return server
