"""Workspace API benchmark: a release `kiln serve` beside the peers it is measured against, on loopback, driven by wrk.

The servers: Kiln; minilake and brickhouse (pinned Databricks emulators from PyPI, installed by `bench/workspace`
into bench/.venv), started with nothing leaving the machine; with `--before`, an older Kiln build; and, when nginx is
installed, the machine's floor: nginx answering every cell with Kiln's own answer, written to files once Kiln is
loaded (static files, and the imports' bodies read and dropped), so each figure can be read against what this
machine does for the same bytes on the same wrk with next to no work. The floor is not a peer (no "best peer").

Each server gets the same notebooks: a 64 KiB one, a 10 MB one and 1,000 small ones in a folder (brickhouse has no
list, and takes notebooks only at paths ending in `.py` below /Workspace/Shared, so every server's paths end in
`.py`). Then every cell (get-status, the list, import and export of each notebook, at 1 and 16 clients) runs on
each server in turn, `--rounds` rounds, the servers' order turned each round so drift on a noisy machine falls on
all of them; each figure is the median of its rounds. Then Kiln alone: get-status and the list as a user who is
not an admin and reads /bench through a group's grant on it (workspace object permissions, inherited), with the
ratio to the admin's figures in req/s and in the server's CPU time per request, in five rounds that alternate the
two callers (the user's figures are the medians of those rounds, printed beside the admin's of the same rounds). Also each server's time from spawn
to ready (median of `--starts`), its resident memory when idle (the process and its children) and Kiln's after
the run. brickhouse has no list and refuses bodies over 1.5 MB, so it has no list or 10 MB cells.

Prints Markdown tables, with Kiln ÷ the best peer and the issue's targets. Standard library only; needs wrk.
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """The process's user and system CPU time so far, in seconds (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def descendants(pid: int) -> list[int]:
    """The process's children, theirs, and so on, from every process's parent in /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, pending = [], list(children.get(pid, []))
    while pending:
        current = pending.pop()
        found.append(current)
        pending += children.get(current, [])
    return found


def tree_rss_mib(pid: int) -> float:
    """Resident memory of the process and all its descendants, in MiB."""
    total = 0
    for current in [pid] + descendants(pid):
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def settled_rss_mib(pid: int) -> float:
    """tree_rss_mib once the process has had no child processes for a second (Kiln's first start builds the
    Lakebase cluster template with initdb in the background), or after 15 s."""
    deadline, quiet_since = time.monotonic() + 15, None
    while time.monotonic() < deadline:
        now = time.monotonic()
        quiet_since = (quiet_since or now) if not descendants(pid) else None
        if quiet_since is not None and now - quiet_since >= 1:
            break
        time.sleep(0.1)
    return tree_rss_mib(pid)


def call(base: str, token: str, method: str, path: str, body: dict | None = None, basic: str | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    authorization = f"Basic {base64.b64encode(basic.encode()).decode()}" if basic else f"Bearer {token}"
    headers = {"Authorization": authorization, "Content-Type": "application/json"}
    request = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read() or b"{}")


def notebook(size: int) -> bytes:
    cell = "\n".join(f"df_{i} = spark.range(1000).selectExpr('id', 'id * {i} as scaled').filter('id % 7 = {i % 7}')"
                     for i in range(12)) + "\ndisplay(df_0)"
    cells, total = [], 0
    while total < size - 200:
        cells.append(cell)
        total += len(cell) + 25
    text = "# Databricks notebook source\n" + "\n\n# COMMAND ----------\n\n".join(cells)
    return text.encode()[:size]


def import_body(path: str, content: bytes) -> dict:
    return {"path": path, "format": "SOURCE", "language": "PYTHON", "overwrite": True,
            "content": base64.b64encode(content).decode()}


def quoted(path: str) -> str:
    return urllib.request.quote(path, safe="")


def wrk(url: str, token: str, connections: int, seconds: int, lua: Path | None, strict: bool = True) -> dict:
    """wrk's req/s and p50/p99 (ms). Any error response fails; a socket error fails too when `strict`, and is
    otherwise counted in the result's "socket_errors" (a peer closing its connections under load)."""
    threads = min(connections, 2)
    command = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--latency", "--timeout", "60s",
               "-H", f"Authorization: Bearer {token}"]
    if lua:
        command += ["-s", str(lua)]
    output = subprocess.run(command + [url], capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    latency = {}
    for pct, value, unit in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", output, re.M):
        latency[pct] = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    failed_sockets = sum(int(n) for n in socket_errors.groups()) if socket_errors else 0
    if errors or (strict and failed_sockets):
        raise RuntimeError(f"wrk saw errors for {url}:\n{output}")
    return {"rps": rate, "p50": latency.get("50", float("nan")), "p99": latency.get("99", float("nan")),
            "socket_errors": failed_sockets}


def post_script(directory: Path, name: str, body: dict) -> Path:
    body_file = directory / f"{name}.json"
    body_file.write_text(json.dumps(body))
    lua = directory / f"{name}.lua"
    lua.write_text(f"""
local f = assert(io.open("{body_file}", "rb"))
wrk.method = "POST"
wrk.body = f:read("*all")
f:close()
wrk.headers["Content-Type"] = "application/json"
""")
    return lua


@dataclass
class Server:
    """One server under test: how to start it, where its objects live, and what it answers."""
    name: str
    command: list[str]           # `{port}` and `{data}` are filled in
    root: str                    # the folder the bench's objects go in
    ready_path: str              # answers 200 once the server serves
    env: dict[str, str] = field(default_factory=dict)
    prepare: list[str] | None = None   # run once on a new data directory before the first start
    lists: bool = True
    large_imports: bool = True   # brickhouse refuses request bodies over 1.5 MB
    is_kiln: bool = False
    is_floor: bool = False
    process: subprocess.Popen | None = None
    port: int = 0
    token: str = "none"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, data: Path) -> float:
        """Starts the server on a free port with `data` as its data directory; returns seconds from spawn to ready."""
        if self.prepare and not data.exists():
            subprocess.run([part.format(data=data) for part in self.prepare], check=True, capture_output=True)
        data.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.configure(data)
        argv = [part.format(port=self.port, data=data) for part in self.command]
        environment = {**os.environ, **{key: value.format(data=data) for key, value in self.env.items()}}
        started = time.monotonic()
        self.process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=environment,
                                        cwd=data)
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode} before it was ready")
            try:
                with urllib.request.urlopen(self.base + self.ready_path, timeout=1) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError):
                pass
            if time.monotonic() - started > 60:
                raise RuntimeError(f"{self.name} was not ready within 60 s")
            time.sleep(0.002)
        ready = time.monotonic() - started
        if self.is_kiln:
            self.token = re.search(r"token = (\S+)", (data / "databrickscfg").read_text()).group(1)
        return ready

    def configure(self, data: Path) -> None:
        """Writes what the server reads at its start on `self.port` in `data`; nothing for most."""

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


@dataclass
class Floor(Server):
    """nginx serving Kiln's answers (`answer_files`) from `{data}/answers`: the machine's floor for each cell."""
    is_floor: bool = True

    def configure(self, data: Path) -> None:
        (data / "body").mkdir(exist_ok=True)
        (data / "body").chmod(0o777)   # nginx's workers may run as nobody
        (data / "nginx.conf").write_text(FLOOR_CONFIGURATION.format(port=self.port, data=data))
        self.command = ["nginx", "-p", str(data), "-e", str(data / "error.log"), "-c", str(data / "nginx.conf")]


# The export's answer is chosen by its `path` argument as sent (percent-encoded); keep-alive without a limit, as
# Kiln's (nginx closes a connection after 1,000 requests by default, and wrk would count the reconnections).
FLOOR_CONFIGURATION = """
daemon off;
worker_processes auto;
pid {data}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    keepalive_requests 1000000000;
    keepalive_timeout 600s;
    client_body_temp_path {data}/body;
    default_type application/json;
    server {{
        listen 127.0.0.1:{port};
        root {data}/answers;
        location = /healthz {{ return 200 "ok"; }}
        location = /api/2.0/workspace/get-status {{ try_files /get-status.json =404; }}
        location = /api/2.0/workspace/list {{ try_files /list.json =404; }}
        location = /api/2.0/workspace/export {{ try_files /export-$arg_path =404; }}
        location = /api/2.0/workspace/import {{ client_max_body_size 0; return 200 "{{}}"; }}
    }}
}}
"""


def answer_files(kiln: Server, directory: Path, operations: dict[str, tuple[str, Path | None]]) -> None:
    """Kiln's answers to the floor's GET cells, as the files the floor serves (FLOOR_CONFIGURATION's names)."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, (url, lua) in operations.items():
        if lua:
            continue
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {kiln.token}"})
        with urllib.request.urlopen(request, timeout=120) as response:
            body = response.read()
        route = urllib.parse.urlsplit(url)
        file = route.path.rsplit("/", 1)[1] + ".json"
        if file == "export.json":
            file = "export-" + quoted(urllib.parse.parse_qs(route.query)["path"][0])
        (directory / file).write_bytes(body)


def servers(kiln: str, before: str | None, venv: Path, extensions: Path) -> list[Server]:
    kilns = [Server("Kiln", [kiln, "serve", "--port", "{port}", "--data-dir", "{data}", "--log-level", "error"],
                    "/bench", "/healthz", is_kiln=True)]
    if before:
        kilns.append(Server("Kiln before", [before, "serve", "--port", "{port}", "--data-dir", "{data}",
                                            "--log-level", "error"], "/bench", "/healthz", is_kiln=True))
    peers = [
        # No Spark warm-up, no Jupyter, and DuckDB's extensions from an empty directory (no downloads).
        Server("minilake", [str(venv / "bin" / "minilake"), "--port", "{port}"], "/Shared/bench", "/_minilake/health",
               env={"MINILAKE_DATA_DIR": "{data}/data", "MINILAKE_SPARK_PREWARM": "0", "MINILAKE_NOTEBOOK": "0",
                    "MINILAKE_DUCKDB_EXTENSION_DIR": str(extensions)}),
        Server("brickhouse", [str(venv / "bin" / "brickhouse"), "serve", "--workspace", "{data}", "--port", "{port}"],
               "/Workspace/Shared/bench", "/.well-known/databricks-config",
               prepare=[str(venv / "bin" / "brickhouse"), "init", "--workspace", "{data}"], lists=False,
               large_imports=False),
    ]
    floor = [Floor("nginx-floor", [], "/bench", "/healthz")] if shutil.which("nginx") else []
    return kilns + [peer for peer in peers if Path(peer.command[0]).exists()] + floor


def load(server: Server, small: bytes, large: bytes) -> None:
    root = server.root
    call(server.base, server.token, "POST", "/api/2.0/workspace/mkdirs", {"path": f"{root}/big"})
    call(server.base, server.token, "POST", "/api/2.0/workspace/import", import_body(f"{root}/nb64k.py", small))
    if server.large_imports:
        call(server.base, server.token, "POST", "/api/2.0/workspace/import", import_body(f"{root}/nb10m.py", large))
    tiny = b"# Databricks notebook source\nprint(1)\n"
    for i in range(1000):
        call(server.base, server.token, "POST", "/api/2.0/workspace/import", import_body(f"{root}/big/nb{i:04d}.py", tiny))


def cells(server: Server, scripts: Path, small: bytes, large: bytes) -> dict[str, tuple[str, Path | None]]:
    """The benchmark's operations on `server`: name → (URL, wrk script or None)."""
    root, base, name = server.root, server.base, server.name.replace(" ", "_")
    operations = {
        "get-status": (f"{base}/api/2.0/workspace/get-status?path={quoted(root + '/nb64k.py')}", None),
        "list (1,000 notebooks)": (f"{base}/api/2.0/workspace/list?path={quoted(root + '/big')}", None),
        "import 64 KiB notebook": (f"{base}/api/2.0/workspace/import",
                                   post_script(scripts, f"{name}-imp64k", import_body(f"{root}/imp64k.py", small))),
        "export 64 KiB notebook": (f"{base}/api/2.0/workspace/export?path={quoted(root + '/nb64k.py')}", None),
        "import 10 MB notebook": (f"{base}/api/2.0/workspace/import",
                                  post_script(scripts, f"{name}-imp10m", import_body(f"{root}/imp10m.py", large))),
        "export 10 MB notebook": (f"{base}/api/2.0/workspace/export?path={quoted(root + '/nb10m.py')}", None),
    }
    if not server.lists:
        del operations["list (1,000 notebooks)"]
    if not server.large_imports:
        del operations["import 10 MB notebook"], operations["export 10 MB notebook"]
    elif server.is_floor:
        # nginx answers before it has read the body and then drops it; for 10 MB, wrk's figures then mean nothing.
        del operations["import 10 MB notebook"]
    return operations


def user_ratios(kiln: Server, data: Path, seconds: int) -> tuple[list[tuple[str, list[dict]]], list[tuple[str, float]]]:
    """Kiln's get-status and list as a user reading /bench through a group's grant, and its ratios to the admin's."""
    binary = kiln.command[0]
    made = subprocess.run([binary, "admin", "create-user", "reader@example.com", "--data-dir", str(data)],
                          capture_output=True, text=True, check=True).stdout
    password = re.search(r"password: (\S+)", made).group(1)
    user_token = call(kiln.base, "", "POST", "/api/2.0/token/create", {"comment": "bench"},
                      basic=f"reader@example.com:{password}")["token_value"]
    reader = call(kiln.base, user_token, "GET", "/api/2.0/preview/scim/v2/Me")["id"]
    call(kiln.base, kiln.token, "POST", "/api/2.0/preview/scim/v2/Groups",
         {"displayName": "readers", "members": [{"value": reader}]})
    bench = call(kiln.base, kiln.token, "GET", "/api/2.0/workspace/get-status?path=%2Fbench")["object_id"]
    call(kiln.base, kiln.token, "PATCH", f"/api/2.0/permissions/directories/{bench}",
         {"access_control_list": [{"group_name": "readers", "permission_level": "CAN_READ"}]})
    assert len(call(kiln.base, user_token, "GET", "/api/2.0/workspace/list?path=%2Fbench%2Fbig")["objects"]) == 1000

    as_user = [
        ("get-status", f"{kiln.base}/api/2.0/workspace/get-status?path=%2Fbench%2Fnb64k.py"),
        ("list (1,000 notebooks)", f"{kiln.base}/api/2.0/workspace/list?path=%2Fbench%2Fbig"),
    ]
    # Five rounds, the order turned each round (admin, user, user, admin, …). Besides req/s, the server's CPU time
    # per request (from /proc), which noise from other processes moves less: the ratio is admin ÷ user, so that
    # both ratios read "the user's figure as a share of the admin's". The user's row is the median of the same
    # five rounds (req/s, p50, p99 each), not one run: one run's p99 at 16 connections moved from 1.9 to
    # 2.9 ms between two runs of the same build.
    rows, ratios = [], []
    pid = kiln.process.pid
    for name, url in as_user:
        medians, admin_medians = [], []
        for c in (1, 16):
            runs = {kiln.token: [], user_token: []}
            for n in range(5):
                for caller in ((kiln.token, user_token) if n % 2 == 0 else (user_token, kiln.token)):
                    before = cpu_seconds(pid)
                    result = wrk(url, caller, c, seconds, None)
                    runs[caller].append((result, (cpu_seconds(pid) - before) / (result["rps"] * seconds)))
            user_runs = [r for r, _ in runs[user_token]]
            medians.append({key: statistics.median(r[key] for r in user_runs) for key in ("rps", "p50", "p99")})
            admin_medians.append({key: statistics.median(r[key] for r, _ in runs[kiln.token]) for key in ("rps", "p50", "p99")})
            rps = medians[-1]["rps"] / statistics.median(r["rps"] for r, _ in runs[kiln.token])
            cpu = statistics.median(t for _, t in runs[kiln.token]) / statistics.median(t for _, t in runs[user_token])
            ratios.append((f"{name}, user ÷ admin req/s ({c})", rps))
            ratios.append((f"{name}, admin ÷ user server CPU per request ({c})", cpu))
        rows.append((f"{name}, as a user reading through a group's grant", medians))
        # The admin's figures from the same rounds: what the user's are read against (their p99 at 16 connections
        # moves with the machine's load as much as the admin's does).
        rows.append((f"{name}, as the admin, in the same rounds", admin_medians))
    return rows, ratios


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kiln", required=True)
    parser.add_argument("--before", help="an older kiln binary to measure beside this one")
    parser.add_argument("--peers-venv", default=str(Path(__file__).parent / ".venv"),
                        help="the virtual environment minilake and brickhouse are installed in (none: Kiln alone)")
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--only", help="run only the cells whose names contain one of these comma-separated words")
    parser.add_argument("--without-user", action="store_true", help="skip the cells as a user who is not an admin")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="kiln-bench-"))
    # mkdtemp makes the directory 0700; Kiln's computes run as another user and must reach their data below it.
    work.chmod(0o755)
    (work / "extensions").mkdir()
    (work / "lua").mkdir()
    under_test = servers(str(Path(args.kiln).resolve()), str(Path(args.before).resolve()) if args.before else None,
                         Path(args.peers_venv), work / "extensions")
    kiln = under_test[0]
    peers = [server for server in under_test if not server.is_kiln and not server.is_floor]
    floor = next((server for server in under_test if server.is_floor), None)
    try:
        # Spawn to ready: Kiln's first starts (migrations, bootstrap) and starts on a data directory made before
        # (as on every start but the first); each peer's start on a directory of its own.
        starts: dict[str, float] = {}
        first: list[float] = []
        for i in range(args.starts):
            first.append(kiln.start(work / f"first{i}"))
            kiln.stop()
        for server in under_test:
            times = []
            for _ in range(args.starts):
                times.append(server.start(work / f"start-{server.name}"))
                server.stop()
            starts[server.name] = statistics.median(times)

        small, large = notebook(64 * 1024), notebook(10 * 1024 * 1024 - 1024)
        idle: dict[str, float] = {}
        for server in under_test:
            server.start(work / f"data-{server.name}")
            time.sleep(1)
            idle[server.name] = settled_rss_mib(server.process.pid)
            if not server.is_floor:
                load(server, small, large)
        operations = {server.name: cells(server, work / "lua", small, large) for server in under_test}
        if floor:
            answer_files(kiln, work / f"data-{floor.name}" / "answers", operations[kiln.name])

        # Every cell on every server, round by round, the servers' order turned each round.
        results: dict[tuple[str, str, int], list[dict]] = {}
        names = [name for name in operations[kiln.name]
                 if not args.only or any(word in name for word in args.only.split(","))]
        for round_ in range(args.rounds):
            for name in names:
                for connections in (1, 16):
                    order = under_test if round_ % 2 == 0 else list(reversed(under_test))
                    for server in order:
                        if name not in operations[server.name]:
                            continue
                        url, lua = operations[server.name][name]
                        results.setdefault((server.name, name, connections), []).append(
                            wrk(url, server.token, connections, args.seconds, lua, strict=server.is_kiln or server.is_floor))
                        # wrk stops at its deadline; a server may still be busy with up to 16 requests of 10 MB.
                        time.sleep(2 if "10 MB" in name else 0.5)

        user_rows, ratios = ([], []) if args.without_user else user_ratios(kiln, work / f"data-{kiln.name}", args.seconds)
        after_rss = tree_rss_mib(kiln.process.pid)
        time.sleep(3)
        settled_rss = tree_rss_mib(kiln.process.pid)
        for server in under_test:
            server.stop()
    finally:
        for server in under_test:   # a run cut short leaves no server behind
            if server.process and server.process.poll() is None:
                server.process.kill()
        shutil.rmtree(work, ignore_errors=True)

    def median(server: str, name: str, connections: int, key: str) -> float | None:
        runs = results.get((server, name, connections))
        return statistics.median(run[key] for run in runs) if runs else None

    def cell(value: float | None, digits: int) -> str:
        return "—" if value is None else f"{value:,.{digits}f}"

    print(f"\nWorkspace API ({os.cpu_count()} cores; Kiln: release build, SQLite; wrk {args.seconds} s per cell, "
          f"median of {args.rounds} interleaved rounds)\n")
    columns = [server.name for server in under_test]
    floor_column = " Kiln ÷ floor |" if floor else ""
    print("| figure | " + " | ".join(columns) + " | Kiln ÷ best peer |" + floor_column + " target |")
    print("|---|" + "---:|" * (len(columns) + 1 + bool(floor)) + "---|")
    targets = {("get-status", 16, "rps"): "≥ 10× best peer", ("get-status", 16, "p99"): "≤ 2 ms",
               ("get-status", 1, "p50"): "≤ 0.15 ms", ("list (1,000 notebooks)", 1, "p50"): "≤ 3 ms, ≤ 0.1× minilake",
               ("import 64 KiB notebook", 1, "rps"): "≥ 5× before", ("import 64 KiB notebook", 16, "rps"): "≥ 5× before",
               ("export 64 KiB notebook", 1, "rps"): "≥ 5× before", ("export 64 KiB notebook", 16, "rps"): "≥ 5× before"}
    for name in names:
        for connections in (1, 16):
            for key, unit in (("rps", "req/s"), ("p50", "p50 ms"), ("p99", "p99 ms")):
                digits = 0 if key == "rps" else 2
                values = [median(server, name, connections, key) for server in columns]
                peer_values = [median(peer.name, name, connections, key) for peer in peers]
                peer_values = [value for value in peer_values if value is not None]
                ratio = "—"
                if peer_values and values[0]:
                    best = max(peer_values) if key == "rps" else min(peer_values)
                    ratio = f"{values[0] / best:.2f}" if best else "—"
                to_floor = ""
                if floor:
                    at_floor = median(floor.name, name, connections, key)
                    to_floor = f" {values[0] / at_floor:.2f} |" if values[0] and at_floor else " — |"
                print(f"| {name}, {connections} conn., {unit} | " + " | ".join(cell(v, digits) for v in values)
                      + f" | {ratio} |{to_floor} {targets.get((name, connections, key), '')} |")
    print(f"| spawn → ready, ms (median of {args.starts}) | "
          + " | ".join(f"{starts[name] * 1000:.0f}" for name in columns)
          + (f" | {starts[kiln.name] / min(starts[p.name] for p in peers):.2f}" if peers else " | —")
          + (" | —" if floor else "") + " | ≤ 100 ms |")
    print(f"| idle RSS, MiB | " + " | ".join(f"{idle[name]:.1f}" for name in columns)
          + (f" | {idle[kiln.name] / min(idle[p.name] for p in peers):.2f}" if peers else " | —")
          + (" | —" if floor else "") + " | ≤ 25 MiB |")
    for (server, name, connections), runs in results.items():
        if failed := sum(run["socket_errors"] for run in runs):
            print(f"\n{server} closed or dropped {failed} connections in the {name} cells at {connections} clients "
                  f"(wrk's socket errors; its figures count the requests that were answered).")
    print(f"\nKiln: first start (migrations, bootstrap) {statistics.median(first) * 1000:.0f} ms; RSS at the end of the run "
          f"{after_rss:.1f} MiB, 3 s later {settled_rss:.1f} MiB (target ≤ 150 MiB).\n")

    if args.without_user:
        return
    print("| Kiln, by caller | req/s (1) | p50 ms (1) | p99 ms (1) | req/s (16) | p50 ms (16) | p99 ms (16) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, (one, sixteen) in user_rows:
        print(f"| {name} | {one['rps']:.0f} | {one['p50']:.2f} | {one['p99']:.2f} | "
              f"{sixteen['rps']:.0f} | {sixteen['p50']:.2f} | {sixteen['p99']:.2f} |")
    print()
    print("| permission checks | ratio |")
    print("|---|---:|")
    for name, ratio in ratios:
        print(f"| {name} | {ratio * 100:.0f} % |")


if __name__ == "__main__":
    main()
