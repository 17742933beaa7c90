"""Machine instructions a request costs Kiln, counted exactly by valgrind's callgrind: the measure to compare
builds by on a noisy machine, where wall-clock figures move ±15 % between runs of the same binary (and this VM
has no hardware counters for `perf stat`).

For each binary (`--kiln`, and `--before` when given): a release `kiln serve` makes its data directory and
imports a 64 KiB notebook and 1,000 small ones; then it runs again under callgrind with instrumentation off,
takes each cell's requests once to warm up, and counts the instructions of `--requests` more, one keep-alive
connection, in user space (the kernel's work is not counted). Printed: instructions per request for each cell,
and the ratio of Kiln to the build before.

valgrind 3.19 (Debian 12) cannot read the DWARF 5 of Swift 6's binaries, so each binary is counted from a copy
without its debug sections (`objcopy --strip-debug`); its symbols remain. Standard library only.
"""
from __future__ import annotations

import argparse
import glob
import http.client
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import workspace_bench as wb

# Each cell: method, target (with {root}), and whether it sends the import's body; requests are scaled by `weight`.
CELLS = {
    "get-status": ("GET", "/api/2.0/workspace/get-status?path={nb}", False, 1.0),
    "export 64 KiB notebook": ("GET", "/api/2.0/workspace/export?path={nb}", False, 1.0),
    "import 64 KiB notebook": ("POST", "/api/2.0/workspace/import", True, 0.2),
    "list (1,000 notebooks)": ("GET", "/api/2.0/workspace/list?path={big}", False, 0.05),
    "healthz (constant answer)": ("GET", "/healthz", False, 1.0),
}


def count(binary: str, requests: int, scratch: Path, cells: list[str], keep: Path | None) -> dict[str, float]:
    """Instructions per request of each of `cells` for `binary`; with `keep`, callgrind's profile of each cell is
    kept there (as `<cell>.callgrind`, for `callgrind_annotate`)."""
    if keep:
        keep.mkdir(parents=True, exist_ok=True)
    stripped = scratch / "kiln-nodebug"
    subprocess.run(["objcopy", "--strip-debug", binary, str(stripped)], check=True)
    data = scratch / "data"
    small = wb.notebook(64 * 1024)
    server = wb.Server("Kiln", [str(stripped), "serve", "--port", "{port}", "--data-dir", "{data}", "--log-level", "error"],
                       "/bench", "/healthz", is_kiln=True)
    server.large_imports = False
    server.start(data)
    wb.load(server, small, small)
    server.stop()
    results = {}
    body = json.dumps(wb.import_body("/bench/imp64k.py", small))
    for name in cells:
        method, target, sends, weight = CELLS[name]
        # A kiln of its own for each cell: one dump per run of callgrind is what it counts reliably.
        out = scratch / "callgrind.out"
        counted = wb.Server("Kiln", ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}",
                                     str(stripped), "serve", "--port", "{port}", "--data-dir", "{data}",
                                     "--log-level", "error"],
                            "/bench", "/healthz", is_kiln=True)
        counted.start(data)
        try:
            connection = http.client.HTTPConnection("127.0.0.1", counted.port, timeout=120)
            headers = {"Authorization": f"Bearer {counted.token}"}
            path = target.format(nb=wb.quoted("/bench/nb64k.py"), big=wb.quoted("/bench/big"))

            def one() -> None:
                extra = {"Content-Type": "application/json"} if sends else {}
                connection.request(method, path, body=body if sends else None, headers={**headers, **extra})
                response = connection.getresponse()
                response.read()
                if response.status != 200:
                    raise RuntimeError(f"{name}: HTTP {response.status}")

            n = max(10, int(requests * weight))
            for _ in range(10):
                one()
            subprocess.run(["callgrind_control", "--instr=on", str(counted.process.pid)], check=True, capture_output=True)
            for _ in range(n):
                one()
            subprocess.run(["callgrind_control", "--dump", str(counted.process.pid)], check=True, capture_output=True)
        finally:
            counted.stop()
        total = 0
        for f in sorted(glob.glob(f"{out}.*")):
            match = re.search(r"^summary: (\d+)", Path(f).read_text(errors="replace"), re.M)
            total += int(match.group(1)) if match else 0
            if keep and match and int(match.group(1)) > 0:
                shutil.copy(f, keep / f"{name.split()[0]}{Path(f).suffix}.callgrind")
            Path(f).unlink()
        Path(out).unlink(missing_ok=True)
        results[name] = total / n
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kiln", required=True, help="the kiln binary to count")
    parser.add_argument("--before", help="an older kiln binary, counted beside it")
    parser.add_argument("--requests", type=int, default=1000, help="get-status requests counted (other cells scaled)")
    parser.add_argument("--cells", nargs="+", choices=[cell.split()[0] for cell in CELLS], metavar="CELL",
                        help="count only these cells (get-status, export, import, list, healthz)")
    parser.add_argument("--keep", type=Path, help="a folder to keep each cell's callgrind profile in")
    arguments = parser.parse_args()
    cells = [cell for cell in CELLS if not arguments.cells or cell.split()[0] in arguments.cells]
    binaries = [("Kiln", arguments.kiln)] + ([("before", arguments.before)] if arguments.before else [])
    counts = {}
    for name, binary in binaries:
        scratch = Path(tempfile.mkdtemp(prefix="kiln-instructions-"))
        scratch.chmod(0o755)
        try:
            counts[name] = count(binary, arguments.requests, scratch, cells,
                                 arguments.keep / name if arguments.keep else None)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    columns = [name for name, _ in binaries]
    print("| instructions a request (callgrind, user space) | " + " | ".join(columns)
          + (" | Kiln ÷ before |" if arguments.before else " |"))
    print("|---" * (len(columns) + 1 + (1 if arguments.before else 0)) + "|")
    for cell in cells:
        row = f"| {cell} | " + " | ".join(f"{counts[name][cell]:,.0f}" for name in columns)
        if arguments.before:
            row += f" | {counts['Kiln'][cell] / counts['before'][cell]:.3f}"
        print(row + " |")


if __name__ == "__main__":
    main()
