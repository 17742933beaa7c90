"""Branching benchmark (issue #16): create_branch().wait() from a running parent of 1 GB and 10 GB, on Kiln's
copy-on-write volume (KILN_STORAGE_VOLUME=xfs, when this machine allows it: root and xfsprogs) and on the
fallback (full copies on the data directory's own filesystem), side by side; and the disk ten branches of the
1 GB parent take on each.

Usage: bench/lakebase/run (both tables), or BRANCHING_ONLY=1 bench/lakebase/run. SIZES=1,10 (GB), RUNS=3."""
import os, shutil, statistics, subprocess, sys, tempfile, time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "conformance"))
from conftest import start_kiln, free_port, traversable  # noqa: E402

from databricks.sdk import WorkspaceClient
from databricks.sdk.service.postgres import Branch, BranchSpec, Project, Role, RoleMembershipRole, RoleRoleSpec

RUNS = int(os.environ.get("RUNS", "3"))
SIZES = [int(s) for s in os.environ.get("SIZES", "1,10").split(",")]
BRANCHES_FOR_DISK = 10


def timed(fn):
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def used_bytes(path: Path) -> int:
    os.sync()
    disk = os.statvfs(path)
    return (disk.f_blocks - disk.f_bfree) * disk.f_frsize


def storages():
    yield "fallback (copies)", {}
    if os.getuid() == 0 and shutil.which("mkfs.xfs"):
        yield "copy-on-write volume", {"KILN_STORAGE_VOLUME": "xfs", "KILN_STORAGE_VOLUME_SIZE": f"{max(SIZES) * 3 + 8}G"}


def measure(label, env):
    """Returns {row: value} for one kind of storage."""
    data = traversable(Path(tempfile.mkdtemp(prefix="kiln-branch-bench-")))
    kiln = start_kiln(data, "127.0.0.1", free_port(), extra_env={**env, "KILN_POSTGRES_PORTS": "56200-56399"})
    results = {}
    try:
        w = WorkspaceClient(host=kiln.url, token=kiln.token, auth_type="pat")
        for gb in SIZES:
            pid = f"size-{gb}g"
            prod = f"projects/{pid}/branches/production"
            w.postgres.create_project(project=Project(), project_id=pid).wait()
            w.postgres.create_role(parent=prod, role=Role(spec=RoleRoleSpec(
                postgres_role="bench", membership_roles=[RoleMembershipRole.DATABRICKS_SUPERUSER])), role_id="bench").wait()
            password = w.postgres.reveal_role_password(f"{prod}/roles/bench").password
            port = w.api_client.do("GET", f"/api/2.0/postgres/{prod}/endpoints/primary")["status"]["hosts"]["port"]
            started = time.perf_counter()
            subprocess.run(["pgbench", "-i", "-q", "-s", str(64 * gb), "-h", "127.0.0.1", "-p", str(port), "-U", "bench",
                            "databricks_postgres"], check=True, env={**os.environ, "PGPASSWORD": password}, capture_output=True)
            size = w.postgres.get_branch(prod).status.logical_size_bytes
            print(f"  {label}: {size / 2**30:.2f} GiB parent made in {time.perf_counter() - started:.0f} s", flush=True)
            times = []
            for i in range(RUNS):
                times.append(timed(lambda i=i: w.postgres.create_branch(parent=f"projects/{pid}", branch=Branch(
                    spec=BranchSpec(source_branch=prod, no_expiry=True)), branch_id=f"b{i}").wait()))
                w.postgres.delete_branch(f"projects/{pid}/branches/b{i}", purge=True).wait()
            results[f"create_branch().wait(), {gb} GB running parent, ms"] = statistics.median(times)
            results[f"  per GB of the {gb} GB parent, ms"] = statistics.median(times) / (size / 2**30)
            if gb == SIZES[0]:
                storage = data / "storage"
                before = used_bytes(storage)
                for i in range(BRANCHES_FOR_DISK):
                    w.postgres.create_branch(parent=f"projects/{pid}", branch=Branch(
                        spec=BranchSpec(source_branch=prod, no_expiry=True)), branch_id=f"d{i}").wait()
                results[f"disk taken by {BRANCHES_FOR_DISK} branches of the {gb} GB parent, GB"] = (used_bytes(storage) - before) / 2**30
                for i in range(BRANCHES_FOR_DISK):
                    w.postgres.delete_branch(f"projects/{pid}/branches/d{i}", purge=True).wait()
            w.postgres.delete_project(f"projects/{pid}").wait()
    finally:
        kiln.stop()
        shutil.rmtree(data, ignore_errors=True)
    return results


def main():
    columns = []
    for label, env in storages():
        columns.append((label, measure(label, env)))
    rows = list(dict.fromkeys(row for _, results in columns for row in results))
    print(f"\n{'branching (medians of ' + str(RUNS) + ')':58}" + "".join(f"{label:>24}" for label, _ in columns))
    for row in rows:
        print(f"{row:58}" + "".join(f"{results[row]:>24.2f}" if row in results else f"{'-':>24}" for _, results in columns))


if __name__ == "__main__":
    main()
