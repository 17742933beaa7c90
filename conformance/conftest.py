"""Starts a real `kiln serve` and hands the official clients to the tests.

The server listens on 127.0.0.2:80 because the legacy databricks-cli drops the port from its host
(sdk-contract.md §0.2). Set KILN_TEST_DATABASE_URL to run Kiln on PostgreSQL instead of SQLite.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT.parent / "shared" / "fixtures" / "notebooks"
KILN = os.environ.get("KILN_BINARY", str(ROOT / ".build" / "debug" / "kiln"))
CLI = str(Path(sys.executable).parent / "databricks")


@dataclass
class Kiln:
    host: str
    port: int
    token: str
    data_dir: Path
    process: subprocess.Popen
    output: list[str]
    proxy_port: int = 0

    @property
    def url(self) -> str:
        return f"http://{self.host}" if self.port == 80 else f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.returncode == -signal.SIGKILL:
            # A killed Kiln cannot unmount its copy-on-write volume (KILN_STORAGE_VOLUME=xfs); the next Kiln
            # on this data directory would go on with it, and nothing else should keep it.
            subprocess.run(["umount", str(self.data_dir / "storage")], capture_output=True)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test's report ends with what the Kilns it used printed last (their log, at the level they
    run with), so that a failure seen only in CI can be read there."""
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    for name, value in getattr(item, "funcargs", {}).items():
        for kiln in value if isinstance(value, tuple) else (value,):
            if isinstance(kiln, Kiln):
                report.sections.append((f"output of the Kiln in {name} (last 80 lines)", "".join(kiln.output[-80:])))


def storage_volume_env() -> dict[str, str]:
    """KILN_STORAGE_VOLUME for every Kiln the suite starts when scripts/test runs the branch tests on a
    copy-on-write volume (KILN_TEST_STORAGE_VOLUME=xfs)."""
    volume = os.environ.get("KILN_TEST_STORAGE_VOLUME")
    return {"KILN_STORAGE_VOLUME": volume, "KILN_STORAGE_VOLUME_SIZE": "4G"} if volume else {}


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without any DATABRICKS_* / cloud variables, so nothing stray configures a client."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DATABRICKS_", "ARM_", "GOOGLE_", "KILN_"))}
    env.update(extra)
    return env


def start_kiln(data_dir: Path, host: str, port: int, database_url: str | None = None,
               extra_env: dict[str, str] | None = None, log_level: str | None = None) -> Kiln:
    env = clean_env(**{**storage_volume_env(), **(extra_env or {})})
    env.setdefault("KILN_POSTGRES_PROXY_PORT", str(free_port()))   # never the machine's 5432
    if database_url:
        env["KILN_DATABASE_URL"] = database_url
    process = subprocess.Popen(
        [KILN, "serve", "--host", host, "--port", str(port), "--data-dir", str(data_dir), "--log-level", log_level or os.environ.get("KILN_LOG_LEVEL", "warning")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    output: list[str] = []
    token = None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            if process.poll() is not None:
                raise RuntimeError("kiln exited during start:\n" + "".join(output))
            continue
        output.append(line)
        match = re.search(r"DATABRICKS_TOKEN=(dapi[0-9a-f]+)", line)
        if match:
            token = match.group(1)
        if line.startswith("Kiln is ready"):
            break
    else:
        process.kill()
        raise RuntimeError("kiln did not become ready:\n" + "".join(output))
    if token is None:
        token = read_profile_token(data_dir)
    # Keep draining output so the server never blocks on a full pipe.
    import threading
    threading.Thread(target=lambda: [output.append(l) for l in process.stdout], daemon=True).start()
    return Kiln(host, port, token, data_dir, process, output, int(env["KILN_POSTGRES_PROXY_PORT"]))


def traversable(path: Path) -> Path:
    """Opens pytest's private temporary folders to other users: Kiln running as root runs PostgreSQL as
    the `postgres` account, which must reach the data directory."""
    for folder in [path, *path.parents]:
        if str(folder) in ("/", "/tmp"):
            break
        folder.chmod(folder.stat().st_mode | 0o755)
    return path


def read_profile_token(data_dir: Path) -> str:
    text = (data_dir / "databrickscfg").read_text()
    return re.search(r"token = (\S+)", text).group(1)


def free_port() -> int:
    """A port that is free now, below Linux's ephemeral range (32768 and up). A port from `bind(0)` is an
    ephemeral one, which any outgoing connection (a Kiln's own, to its computes, while it starts) may take before
    the server binds it: a start once failed so ("Address already in use")."""
    import random
    for _ in range(500):
        port = random.randint(20000, 32000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port between 20000 and 32000")


def fresh_database(database_url: str | None, name: str) -> str | None:
    """A new, empty PostgreSQL database beside the suite's one (None when the suite runs on SQLite)."""
    if not database_url:
        return None
    import psycopg
    base, _ = database_url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    return f"{base}/{name}"


@pytest.fixture(scope="session")
def database_url() -> str | None:
    return os.environ.get("KILN_TEST_DATABASE_URL")


@pytest.fixture(scope="session")
def kiln(database_url, tmp_path_factory) -> Kiln:
    data_dir = traversable(tmp_path_factory.mktemp("kiln-data"))
    server = start_kiln(data_dir, "127.0.0.2", 80, database_url)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def w(kiln):
    from databricks.sdk import WorkspaceClient
    return WorkspaceClient(host=kiln.url, token=kiln.token, auth_type="pat")


@pytest.fixture
def home(w, request) -> str:
    """A fresh, empty folder for one test."""
    name = re.sub(r"[^A-Za-z0-9_]+", "_", request.node.name)[:80]
    path = f"/Users/admin@kiln.local/{name}"
    try:
        w.workspace.delete(path, recursive=True)
    except Exception:
        pass
    w.workspace.mkdirs(path)
    return path


@pytest.fixture
def cli(kiln, tmp_path):
    """Runs the legacy databricks-cli against Kiln; returns the CompletedProcess."""
    env = clean_env(DATABRICKS_HOST=kiln.url, DATABRICKS_TOKEN=kiln.token, HOME=str(tmp_path))

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run([CLI, *args], env=env, capture_output=True, text=True, timeout=120)
        if check and result.returncode != 0:
            raise AssertionError(f"databricks {' '.join(args)} failed ({result.returncode}):\n"
                                 f"{result.stdout}\n{result.stderr}")
        return result
    return run


@pytest.fixture
def http(kiln):
    """A requests session with the admin token, for what the SDK cannot send."""
    import requests
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {kiln.token}"
    session.base = kiln.url
    return session


@dataclass
class AccountLogin:
    account_id: str
    username: str
    password: str


def read_account_login(data_dir: Path) -> AccountLogin:
    import configparser
    parser = configparser.ConfigParser()
    parser.read(data_dir / "databrickscfg")
    section = parser["kiln-account"]
    return AccountLogin(section["account_id"], section["username"], section["password"])


@pytest.fixture(scope="session")
def login(kiln) -> AccountLogin:
    return read_account_login(kiln.data_dir)


@pytest.fixture(scope="session")
def a(kiln, login):
    from databricks.sdk import AccountClient
    return AccountClient(host=kiln.url, account_id=login.account_id, username=login.username,
                         password=login.password, auth_type="basic")
