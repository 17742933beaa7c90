"""Notebook-format benchmark: conversion time and peak memory for a ~10 MB notebook in each direction,
and the export of a 500-notebook folder as DBC over HTTP. Prints Markdown tables."""
from __future__ import annotations

import argparse
import base64
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from workspace_bench import call, free_port, start, stop  # noqa: E402

FORMATS = ["source", "jupyter", "html", "dbc", "rmarkdown"]


def run_case(binary: str, case: str, repeats: int) -> tuple[float, float, int, int]:
    result = subprocess.run(["/usr/bin/time", "-f", "%M", binary, case, str(repeats)],
                            capture_output=True, text=True, check=True)
    median, size, cells = result.stdout.split()
    peak_kib = int(result.stderr.strip().splitlines()[-1])
    return float(median), peak_kib / 1024, int(size), int(cells)


def folder_export(kiln: str, notebooks: int, repeats: int) -> tuple[float, int]:
    work = Path(tempfile.mkdtemp(prefix="kiln-bench-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process, _, token = start(kiln, work / "data", port)
    try:
        call(base, token, "POST", "/api/2.0/workspace/mkdirs", {"path": "/bench/course/part"})
        text = "# Databricks notebook source\n" + "\n\n# COMMAND ----------\n\n".join(
            f"# MAGIC %md\n# MAGIC ## Lesson {i}" if i % 3 == 0 else f"df = spark.range({i})\ndisplay(df)" for i in range(20))
        for i in range(notebooks):
            folder = "/bench/course" if i % 2 else "/bench/course/part"
            call(base, token, "POST", "/api/2.0/workspace/import",
                 {"path": f"{folder}/nb{i:03d}", "format": "SOURCE", "language": "PYTHON",
                  "content": base64.b64encode(text.encode()).decode()})
        times, size = [], 0
        for _ in range(repeats):
            started = time.monotonic()
            request = urllib.request.Request(f"{base}/api/2.0/workspace/export?path=%2Fbench%2Fcourse&format=DBC&direct_download=true",
                                             headers={"Authorization": f"Bearer {token}"})
            with urllib.request.urlopen(request, timeout=120) as response:
                size = len(response.read())
            times.append((time.monotonic() - started) * 1000)
        return statistics.median(times), size
    finally:
        stop(process)
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bench-binary", required=True)
    parser.add_argument("--kiln", required=True)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    baseline_ms, baseline_mib, size, cells = run_case(args.bench_binary, "baseline", 1)
    print(f"\nNotebook format conversions of a {size / 1e6:.1f} MB Python notebook ({cells} cells), "
          f"median of {args.repeats}; peak RSS of the process, which holds the notebook and the case's input "
          f"(the notebook alone: {baseline_mib:.0f} MiB)\n")
    print("| format | read (import) ms | read peak MiB | write (export) ms | write peak MiB |")
    print("|---|---:|---:|---:|---:|")
    for fmt in FORMATS:
        read_ms, read_mib, _, _ = run_case(args.bench_binary, f"{fmt}-read", args.repeats)
        write_ms, write_mib, _, _ = run_case(args.bench_binary, f"{fmt}-write", args.repeats)
        print(f"| {fmt.upper()} | {read_ms:.0f} | {read_mib:.0f} | {write_ms:.0f} | {write_mib:.0f} |")
    ms, archive = folder_export(args.kiln, 500, args.repeats)
    print(f"\n| folder export | value |\n|---|---:|\n| 500 notebooks (20 cells each) as DBC over HTTP, median | {ms:.0f} ms |"
          f"\n| archive size | {archive / 1e6:.2f} MB |")


if __name__ == "__main__":
    main()
