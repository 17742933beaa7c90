"""Workspace API benchmark against a release `kiln serve` on loopback, driven by wrk.

Measures, each at 1 and 16 concurrent clients: get-status, list of a 1,000-object folder, and
import + export of a 64 KiB and a 10 MB notebook (JSON, base64 as the SDK sends it); get-status and
the list again as a user who is not an admin and reads /bench through a group's grant on it
(workspace object permissions, inherited), with the ratio to the admin's figures in req/s and in the
server's CPU time per request. Also the server's time from spawn to ready (median of 5 first starts, and
of 5 starts on an existing data directory) and its resident memory when idle.
Prints one Markdown table. Standard library only; needs wrk.
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
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(kiln: str, data_dir: Path, port: int) -> tuple[subprocess.Popen, float, str]:
    started = time.monotonic()
    process = subprocess.Popen([kiln, "serve", "--port", str(port), "--data-dir", str(data_dir),
                                "--log-level", "error"], stdout=subprocess.PIPE, text=True)
    token = ""
    for line in process.stdout:
        match = re.search(r"DATABRICKS_TOKEN=(\S+)", line)
        if match:
            token = match.group(1)
        if line.startswith("Kiln is ready"):
            break
    ready = time.monotonic() - started
    if not token:
        token = re.search(r"token = (\S+)", (data_dir / "databrickscfg").read_text()).group(1)
    return process, ready, token


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    process.wait(timeout=30)


def cpu_seconds(pid: int) -> float:
    """The process's user and system CPU time so far, in seconds (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def call(base: str, token: str, method: str, path: str, body: dict | None = None, basic: str | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    authorization = f"Basic {base64.b64encode(basic.encode()).decode()}" if basic else f"Bearer {token}"
    request = urllib.request.Request(base + path, data=data, method=method, headers={"Authorization": authorization})
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


def wrk(url: str, token: str, connections: int, seconds: int, lua: Path | None) -> dict:
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
    socket_errors = re.search(r"Socket errors: (.*)", output)
    if errors or socket_errors:
        raise RuntimeError(f"wrk saw errors for {url}:\n{output}")
    return {"rps": rate, "p50": latency.get("50", float("nan")), "p99": latency.get("99", float("nan"))}


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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kiln", required=True)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--starts", type=int, default=5)
    args = parser.parse_args()
    kiln = str(Path(args.kiln).resolve())
    work = Path(tempfile.mkdtemp(prefix="kiln-bench-"))
    servers = []
    try:
        ready_times = []
        for i in range(args.starts):
            process, ready, _ = start(kiln, work / f"cold{i}", free_port())
            ready_times.append(ready)
            stop(process)
        # Starts on a data directory made before, as on every start but the first.
        warm_times = []
        for i in range(args.starts):
            process, ready, _ = start(kiln, work / "cold0", free_port())
            warm_times.append(ready)
            stop(process)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        process, _, token = start(kiln, work / "data", port)
        servers.append(process)
        time.sleep(1)
        idle_rss = rss_mib(process.pid)

        call(base, token, "POST", "/api/2.0/workspace/mkdirs", {"path": "/bench/big"})
        small, large = notebook(64 * 1024), notebook(10 * 1024 * 1024 - 1024)
        call(base, token, "POST", "/api/2.0/workspace/import", import_body("/bench/nb64k", small))
        call(base, token, "POST", "/api/2.0/workspace/import", import_body("/bench/nb10m", large))
        for i in range(1000):
            call(base, token, "POST", "/api/2.0/workspace/import",
                 {"path": f"/bench/big/f{i:04d}.txt", "format": "RAW", "content": base64.b64encode(b"x").decode()})

        # A user of the workspace (not an admin) in a group granted CAN_READ on /bench: every request it makes
        # is checked against the grants of /bench's lineage.
        made = subprocess.run([kiln, "admin", "create-user", "reader@example.com", "--data-dir", str(work / "data")],
                              capture_output=True, text=True, check=True).stdout
        password = re.search(r"password: (\S+)", made).group(1)
        user_token = call(base, "", "POST", "/api/2.0/token/create", {"comment": "bench"},
                          basic=f"reader@example.com:{password}")["token_value"]
        reader = call(base, user_token, "GET", "/api/2.0/preview/scim/v2/Me")["id"]
        group = call(base, token, "POST", "/api/2.0/preview/scim/v2/Groups",
                     {"displayName": "readers", "members": [{"value": reader}]})["id"]
        bench = call(base, token, "GET", "/api/2.0/workspace/get-status?path=%2Fbench")["object_id"]
        call(base, token, "PATCH", f"/api/2.0/permissions/directories/{bench}",
             {"access_control_list": [{"group_name": "readers", "permission_level": "CAN_READ"}]})
        assert group and len(call(base, user_token, "GET", "/api/2.0/workspace/list?path=%2Fbench%2Fbig")["objects"]) == 1000

        scripts = Path(work / "lua")
        scripts.mkdir()
        operations = [
            ("get-status", f"{base}/api/2.0/workspace/get-status?path=%2Fbench%2Fnb64k", None),
            ("list (1,000 objects)", f"{base}/api/2.0/workspace/list?path=%2Fbench%2Fbig", None),
            ("import 64 KiB notebook", f"{base}/api/2.0/workspace/import",
             post_script(scripts, "imp64k", import_body("/bench/imp64k", small))),
            ("export 64 KiB notebook", f"{base}/api/2.0/workspace/export?path=%2Fbench%2Fnb64k", None),
            ("import 10 MB notebook", f"{base}/api/2.0/workspace/import",
             post_script(scripts, "imp10m", import_body("/bench/imp10m", large))),
            ("export 10 MB notebook", f"{base}/api/2.0/workspace/export?path=%2Fbench%2Fnb10m", None),
        ]
        as_user = [
            ("get-status, as a user reading through a group's grant", f"{base}/api/2.0/workspace/get-status?path=%2Fbench%2Fnb64k"),
            ("list (1,000 objects), as that user", f"{base}/api/2.0/workspace/list?path=%2Fbench%2Fbig"),
        ]
        rows = []
        for name, url, lua in operations:
            results = [wrk(url, token, c, args.seconds, lua) for c in (1, 16)]
            rows.append((name, results))
            # wrk stops at its deadline; the server is still busy with up to 16 requests of 10 MB then.
            time.sleep(2)
        for name, url in as_user:
            rows.append((name, [wrk(url, user_token, c, args.seconds, None) for c in (1, 16)]))
        # The user's cells against the admin's, measured again beside them, five rounds, the order turned
        # each round (admin, user, user, admin, …) so drift on a noisy machine falls on both. Besides
        # req/s, the server's CPU time per request (from /proc), which noise from other processes moves
        # less: the ratio is admin ÷ user, so that both ratios read "the user's figure as a share of the
        # admin's".
        ratios = []
        for (name, url), admin_name in zip(as_user, ("get-status", "list (1,000 objects)")):
            for c in (1, 16):
                runs = {token: [], user_token: []}
                for n in range(5):
                    for caller in ((token, user_token) if n % 2 == 0 else (user_token, token)):
                        before = cpu_seconds(process.pid)
                        result = wrk(url, caller, c, args.seconds, None)
                        runs[caller].append((result["rps"], (cpu_seconds(process.pid) - before) / (result["rps"] * args.seconds)))
                rps = statistics.median(r for r, _ in runs[user_token]) / statistics.median(r for r, _ in runs[token])
                cpu = statistics.median(t for _, t in runs[token]) / statistics.median(t for _, t in runs[user_token])
                ratios.append((f"{admin_name}, user ÷ admin req/s ({c})", rps))
                ratios.append((f"{admin_name}, admin ÷ user server CPU per request ({c})", cpu))
        busy_rss = rss_mib(process.pid)
        stop(process)

        print(f"\nKiln Workspace API benchmark ({os.cpu_count()} cores, SQLite, release build, wrk {args.seconds} s per cell)\n")
        print("| operation | req/s (1) | p50 ms (1) | p99 ms (1) | req/s (16) | p50 ms (16) | p99 ms (16) |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for name, (one, sixteen) in rows:
            print(f"| {name} | {one['rps']:.0f} | {one['p50']:.2f} | {one['p99']:.2f} | "
                  f"{sixteen['rps']:.0f} | {sixteen['p50']:.2f} | {sixteen['p99']:.2f} |")
        print()
        print("| permission checks | ratio |")
        print("|---|---:|")
        for name, ratio in ratios:
            print(f"| {name} | {ratio * 100:.0f} % |")
        print()
        print("| server | value |")
        print("|---|---:|")
        print(f"| start to ready, median of {args.starts} cold starts (first start: migrations + bootstrap) | "
              f"{statistics.median(ready_times) * 1000:.0f} ms |")
        print(f"| start to ready with an existing data directory, median of {args.starts} | "
              f"{statistics.median(warm_times) * 1000:.0f} ms |")
        print(f"| idle RSS after start | {idle_rss:.1f} MiB |")
        print(f"| RSS after the run | {busy_rss:.1f} MiB |")
    finally:
        for server in servers:   # a run cut short leaves no server behind
            if server.poll() is None:
                server.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
