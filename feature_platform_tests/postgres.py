"""A real PostgreSQL server for the tests: Debian's `postgresql`, on 127.0.0.1 and a free port.

The server lives in a fresh folder (`initdb`), listens on loopback only (no Unix socket),
requires a password (SCRAM), and trades durability for speed (`fsync=off`): its data is thrown
away at the end. PostgreSQL refuses to run as root, so as root the binaries run as the
`postgres` user the Debian package creates (or `nobody` without it).
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from glob import glob
from pathlib import Path

import psycopg2
from psycopg2 import sql

from feature_platform_tests.servers import free_port

USER = "feature_platform"
INSTALL = "apt-get install -y postgresql"
_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "unix_socket_directories": "",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
}


class PostgresMissingError(RuntimeError):
    """Debian's PostgreSQL server binaries are not installed."""


@dataclass(frozen=True)
class PostgresServer:
    """A running server: where it listens and the superuser's password."""

    port: int
    password: str
    log: Path

    host: str = "127.0.0.1"
    user: str = USER

    def url(self, database: str, driver: str = "postgresql+psycopg2") -> str:
        """A SQLAlchemy URL of `database` (``postgresql://`` with `driver` ``postgresql``)."""
        return f"{driver}://{self.user}:{self.password}@{self.host}:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create `name` and return its SQLAlchemy URL."""
        connection = psycopg2.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            dbname="postgres",
        )
        try:
            connection.autocommit = True  # CREATE DATABASE cannot run inside a transaction
            with connection.cursor() as cursor:
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        finally:
            connection.close()
        return self.url(name)


def binaries() -> Path:
    """The newest installed PostgreSQL's `bin` folder (Debian: /usr/lib/postgresql/<major>)."""
    found = sorted(
        (Path(p).parent for p in glob("/usr/lib/postgresql/*/bin/initdb")),
        key=lambda folder: int(folder.parent.name) if folder.parent.name.isdigit() else 0,
    )
    if not found:
        raise PostgresMissingError(
            f"the PostgreSQL tests need Debian's PostgreSQL server: `sudo {INSTALL}` "
            "(.ci/run installs it), or skip them with -m 'not integration'"
        )
    return found[-1]


def _server_user() -> str | None:
    """Who runs the server: ourselves, or as root an unprivileged account."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise RuntimeError("running as root, and there is neither a postgres nor a nobody user")


def _run(command: list[str], user: str | None, log: Path) -> None:
    if user is not None:
        command = ["runuser", "-u", user, "--", *command]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if completed.returncode != 0:
        server_log = log.read_text(errors="replace")[-3000:] if log.exists() else ""
        raise RuntimeError(
            f"{' '.join(command)} failed ({completed.returncode}):\n"
            f"{completed.stdout[-2000:]}{completed.stderr[-2000:]}{server_log}"
        )


@contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    """initdb a fresh cluster in a temporary folder, start it, yield it; stop and remove it.

    Raises:
        PostgresMissingError: The server binaries are not installed.
    """
    bin_dir = binaries()
    user = _server_user()
    # Not under pytest's tmp folder: as root that one is private (0700) to root, and the server
    # runs as another user.
    folder = Path(tempfile.mkdtemp(prefix="feature-platform-postgres-"))
    data, log, password_file = folder / "data", folder / "server.log", folder / "password"
    password = secrets.token_hex(16)
    password_file.write_text(password + "\n")
    if user is not None:
        account = pwd.getpwnam(user)
        os.chown(folder, account.pw_uid, account.pw_gid)
        os.chown(password_file, account.pw_uid, account.pw_gid)
    port = free_port()
    server = f"-p {port} " + " ".join(f"-c {key}='{value}'" for key, value in _SETTINGS.items())
    pg_ctl = str(bin_dir / "pg_ctl")
    try:
        _run(
            [
                str(bin_dir / "initdb"),
                "--pgdata",
                str(data),
                "--username",
                USER,
                "--pwfile",
                str(password_file),
                "--auth",
                "scram-sha-256",
                "--encoding",
                "UTF8",
                "--no-sync",
                "--no-instructions",
            ],
            user,
            log,
        )
        password_file.unlink()
        _run(
            [
                pg_ctl,
                "--pgdata",
                str(data),
                "--log",
                str(log),
                "--wait",
                "--options",
                server,
                "start",
            ],
            user,
            log,
        )
        yield PostgresServer(port=port, password=password, log=log)
    finally:
        if (data / "postmaster.pid").exists():
            _run([pg_ctl, "--pgdata", str(data), "--mode", "fast", "--wait", "stop"], user, log)
        shutil.rmtree(folder, ignore_errors=True)
