"""Branching benchmark (issue #16): create_branch().wait() from a running parent of 1 GB and 10 GB, on Kiln's
copy-on-write volume (KILN_STORAGE_VOLUME=xfs, when this machine allows it: root and xfsprogs) and on the
fallback (full copies on the data directory's own filesystem), side by side; the disk ten branches of the
1 GB parent take on each; create_snapshot().wait() of each parent and a branch restored from that snapshot; and
branches of the 1 GB parent from the past, once WAL_GB of WAL was written since.

Usage: bench/lakebase/run (both tables), or BRANCHING_ONLY=1 bench/lakebase/run. SIZES=1,10 (GB), RUNS=3,
WAL_GB=2 (0: no point-in-time rows)."""
import os, shutil, statistics, subprocess, sys, tempfile, time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "conformance"))
from conftest import start_kiln, free_port, traversable  # noqa: E402

import psycopg
from databricks.sdk import WorkspaceClient
from google.protobuf.timestamp_pb2 import Timestamp
from databricks.sdk.service.postgres import (
    Branch, BranchSpec, Project, Role, RoleMembershipRole, RoleRoleSpec, Snapshot, SnapshotSpec,
)

RUNS = int(os.environ.get("RUNS", "3"))
WAL_GB = float(os.environ.get("WAL_GB", "2"))
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


def timestamp(seconds):
    value = Timestamp()
    value.FromNanoseconds(int(seconds * 1e9))
    return value


def point_in_time_branches(w, pid, prod, port, password):
    """Waits for the parent's first base image, marks a moment, writes WAL_GB of WAL, then times branches
    to that moment (all of it written since) and to a moment just before the end (the newest base image
    and at most ~1 GB of WAL to replay). Returns {row: ms}."""
    deadline = time.time() + 120
    while True:   # the history begins with the first base image, taken within a sweep (5 s)
        try:
            w.postgres.create_branch(parent=f"projects/{pid}", branch=Branch(spec=BranchSpec(
                source_branch=prod, source_branch_time=timestamp(time.time()), no_expiry=True)), branch_id="probe").wait()
            w.postgres.delete_branch(f"projects/{pid}/branches/probe", purge=True).wait()
            break
        except Exception:
            if time.time() > deadline:
                raise
            time.sleep(1)
    with psycopg.connect(host="127.0.0.1", port=port, user="bench", password=password, dbname="databricks_postgres",
                         autocommit=True) as conn:
        conn.execute("create table if not exists wal_filler(v text)")
        start = conn.execute("select pg_current_wal_lsn() - '0/0'").fetchone()[0]
        moment = time.time()
        time.sleep(0.5)
        while conn.execute("select pg_current_wal_lsn() - '0/0'").fetchone()[0] - start < WAL_GB * 2**30:
            conn.execute("insert into wal_filler select repeat('x', 400) from generate_series(1, 200000)")
        late = time.time()
        time.sleep(0.5)
        conn.execute("truncate wal_filler")
    results = {}
    for label, point in ((f"a moment with {WAL_GB:g} GB of WAL written since", moment), ("a moment just before the end", late)):
        started = time.perf_counter()
        w.postgres.create_branch(parent=f"projects/{pid}", branch=Branch(spec=BranchSpec(
            source_branch=prod, source_branch_time=timestamp(point), no_expiry=True)), branch_id="past").wait()
        results[f"create_branch().wait() from {label}, ms"] = (time.perf_counter() - started) * 1000
        w.postgres.delete_branch(f"projects/{pid}/branches/past", purge=True).wait()
    return results


def storages():
    yield "fallback (copies)", {}
    if os.getuid() == 0 and shutil.which("mkfs.xfs"):
        yield "copy-on-write volume", {"KILN_STORAGE_VOLUME": "xfs", "KILN_STORAGE_VOLUME_SIZE": f"{max(SIZES) * 3 + 8}G"}


def newest_archived(data, branch_uid):
    """The newest WAL segment in the branch's archive (`<branch>.history/wal/`). Not pg_stat_archiver's
    last_archived_wal: that may name a base image's backup history file (`<segment>.<offset>.backup`), archived
    when the backup ends, after later segments, and then stays below the segment waited for."""
    return max((p.name for p in data.glob(f"**/{branch_uid}.history/wal/*") if len(p.name) == 24), default="")


def settle(port, password, data, branch_uid, timeout=900):
    """After a bulk load the compute's archiver copies its WAL into the branch's history for minutes, and the
    sweep takes a base image: waits for both (the archive caught up with the WAL written so far, then a sweep and
    the base image it started) so that branches are timed on a parent at rest, not against that I/O."""
    with psycopg.connect(host="127.0.0.1", port=port, user="bench", password=password, dbname="databricks_postgres",
                         autocommit=True) as conn:
        current = conn.execute("select pg_walfile_name(pg_current_wal_lsn() - 16777216)").fetchone()[0]
        deadline = time.time() + timeout
        while newest_archived(data, branch_uid) < current:
            if time.time() > deadline:
                raise RuntimeError("the archiver did not catch up")
            time.sleep(1)
        time.sleep(6)   # a sweep, which may start a base image: its copy holds a temporary slot until it is done
        while conn.execute("select count(*) from pg_replication_slots where slot_name like 'kiln_clone_%'").fetchone()[0]:
            if time.time() > deadline:
                raise RuntimeError("the base image did not finish")
            time.sleep(1)


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
            made = subprocess.run(["pgbench", "-i", "-q", "-s", str(64 * gb), "-h", "127.0.0.1", "-p", str(port), "-U", "bench",
                                   "databricks_postgres"], env={**os.environ, "PGPASSWORD": password}, capture_output=True, text=True)
            if made.returncode != 0:
                raise RuntimeError(f"pgbench -i failed: {made.stderr[-2000:]}")
            settle(port, password, data, w.postgres.get_branch(prod).uid)
            size = w.postgres.get_branch(prod).status.logical_size_bytes
            print(f"  {label}: {size / 2**30:.2f} GiB parent made in {time.perf_counter() - started:.0f} s", flush=True)
            times = []
            for i in range(RUNS):
                times.append(timed(lambda i=i: w.postgres.create_branch(parent=f"projects/{pid}", branch=Branch(
                    spec=BranchSpec(source_branch=prod, no_expiry=True)), branch_id=f"b{i}").wait()))
                w.postgres.delete_branch(f"projects/{pid}/branches/b{i}", purge=True).wait()
            results[f"create_branch().wait(), {gb} GB running parent, ms"] = statistics.median(times)
            results[f"  per GB of the {gb} GB parent, ms"] = statistics.median(times) / (size / 2**30)
            snapshots, restores = [], []
            for i in range(RUNS):
                snapshots.append(timed(lambda i=i: w.postgres.create_snapshot(parent=f"projects/{pid}", snapshot=Snapshot(
                    spec=SnapshotSpec(source_branch=prod)), snapshot_id=f"s{i}").wait()))
                restores.append(timed(lambda i=i: w.postgres.create_branch(parent=f"projects/{pid}", branch=Branch(
                    spec=BranchSpec(source_snapshot=f"projects/{pid}/snapshots/s{i}", no_expiry=True)), branch_id=f"r{i}").wait()))
                w.postgres.delete_branch(f"projects/{pid}/branches/r{i}", purge=True).wait()
                w.postgres.delete_snapshot(f"projects/{pid}/snapshots/s{i}").wait()
            results[f"create_snapshot().wait(), {gb} GB running parent, ms"] = statistics.median(snapshots)
            results[f"create_branch().wait() from the {gb} GB snapshot, ms"] = statistics.median(restores)
            if gb == SIZES[0]:
                storage = data / "storage"
                before = used_bytes(storage)
                for i in range(BRANCHES_FOR_DISK):
                    w.postgres.create_branch(parent=f"projects/{pid}", branch=Branch(
                        spec=BranchSpec(source_branch=prod, no_expiry=True)), branch_id=f"d{i}").wait()
                results[f"disk taken by {BRANCHES_FOR_DISK} branches of the {gb} GB parent, GB"] = (used_bytes(storage) - before) / 2**30
                for i in range(BRANCHES_FOR_DISK):
                    w.postgres.delete_branch(f"projects/{pid}/branches/d{i}", purge=True).wait()
                if WAL_GB > 0:
                    results.update(point_in_time_branches(w, pid, prod, port, password))
            w.postgres.delete_project(f"projects/{pid}", purge=True).wait()   # its disk back before the next size
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
