"""A PostgreSQL server of the test's own (initdb into a temp directory, trust auth), for
tests that stop the database or reach it from another network namespace."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.processes import ManagedProcess, free_port


def postgres_bindir() -> Path | None:
    for candidate in (shutil.which("pg_config"),):
        if candidate:
            done = subprocess.run([candidate, "--bindir"], capture_output=True, text=True)
            path = Path(done.stdout.strip())
            if (path / "initdb").is_file():
                return path
    for versioned in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (versioned / "initdb").is_file():
            return versioned
    return None


def _as_postgres() -> list[str]:
    """PostgreSQL refuses to run as root: as root, run it as the `postgres` user."""
    if os.geteuid() != 0:
        return []
    pwd.getpwnam("postgres")  # KeyError when there is no such user
    return ["runuser", "-u", "postgres", "--"]


class PrivatePostgres(ManagedProcess):
    """`postgres` on `host`:`port`, data in a fresh temp directory, no fsync; any client
    on the listening network may connect as `postgres` without a password."""

    def __init__(self, *, host: str = "127.0.0.1", port: int | None = None, argv_prefix=()):
        bindir = postgres_bindir()
        if bindir is None:
            raise RuntimeError("no PostgreSQL server binaries (initdb) found")
        self.host, self.port = host, port or free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="backoffice-pg-"))
        data = self.directory / "data"
        user = _as_postgres()
        if user:
            shutil.chown(self.directory, "postgres", "postgres")
        subprocess.run([*user, str(bindir / "initdb"), "-D", str(data), "-A", "trust",
                        "-U", "postgres", "--no-sync", "-E", "UTF8"],
                       check=True, capture_output=True)
        with open(data / "pg_hba.conf", "a") as hba:
            hba.write("host all all 0.0.0.0/0 trust\n")
        argv = [*argv_prefix, *user, str(bindir / "postgres"), "-D", str(data),
                "-h", host, "-p", str(self.port), "-k", str(self.directory),
                "-c", "fsync=off", "-c", "synchronous_commit=off",
                "-c", "full_page_writes=off"]
        super().__init__(f"postgres-{self.port}", argv, dict(os.environ))
        self._pg_ctl = [*user, str(bindir / "pg_ctl"), "-D", str(data)]
        self.url = f"postgres://postgres@{host}:{self.port}/postgres"

    def start(self, timeout: float = 60) -> PrivatePostgres:
        super().start()
        self.wait_answering(self._answers, timeout, "the private PostgreSQL")
        return self

    def _answers(self) -> bool:
        import psycopg

        try:
            psycopg.connect(self.url, connect_timeout=1).close()
        except psycopg.OperationalError:
            return False
        return True

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url.rsplit("/", 1)[0] + f"/{name}"

    def stop(self, timeout: float = 15) -> None:
        """Fast shutdown (open sessions are ended), returning once the server is gone.

        A plain SIGTERM would reach `runuser`, not the server, and asks PostgreSQL for a
        smart shutdown, which waits for every client: a test that stops the database
        under a web process holding a connection would still find it answering."""
        if self.alive():
            subprocess.run([*self._pg_ctl, "stop", "-m", "fast", "-w", "-t", str(int(timeout))],
                           capture_output=True)
        super().stop(timeout)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)
