"""Lakebase benchmark: SDK wall time of create_project().wait(), create_branch().wait() from a 50 MB and a
1 GB parent, compute start and read-replica creation to first SELECT 1, and the idle memory of one endpoint. Prints a table of medians.

Usage: bench/lakebase/run  (builds release, or set KILN_BINARY)"""
import os, statistics, subprocess, sys, tempfile, time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "conformance"))
from conftest import start_kiln, free_port, traversable  # noqa: E402

import psycopg
from databricks.sdk import WorkspaceClient
from databricks.sdk.common.types.fieldmask import FieldMask
from databricks.sdk.service.postgres import (Branch, BranchSpec, Endpoint, EndpointSpec, EndpointType, Project, Role,
                                             RoleMembershipRole, RoleRoleSpec)

RUNS = int(os.environ.get("RUNS", "5"))


def timed(fn):
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def port_of(w, endpoint):
    return w.api_client.do("GET", f"/api/2.0/postgres/{endpoint}")["status"]["hosts"]["port"]


def first_select(w, endpoint, user, password, deadline=30):
    end = time.time() + deadline
    while True:
        try:
            with psycopg.connect(host="127.0.0.1", port=port_of(w, endpoint), user=user, password=password,
                                 dbname="databricks_postgres", connect_timeout=5) as c:
                c.execute("select 1")
                return
        except psycopg.OperationalError:
            if time.time() > end:
                raise
            time.sleep(0.002)


def pss_mib(data_dir: str) -> float:
    pids = subprocess.run(["pgrep", "-f", data_dir], capture_output=True, text=True).stdout.split()
    total = 0
    for pid in pids:
        for child in [pid] + subprocess.run(["pgrep", "-P", pid], capture_output=True, text=True).stdout.split():
            try:
                for line in open(f"/proc/{child}/smaps_rollup"):
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
            except OSError:
                pass
    return total / 1024


def main():
    data = traversable(Path(tempfile.mkdtemp(prefix="kiln-bench-")))
    kiln = start_kiln(data, "127.0.0.1", free_port(), extra_env={"KILN_POSTGRES_PORTS": "56200-56399"})
    rows = []
    try:
        w = WorkspaceClient(host=kiln.url, token=kiln.token, auth_type="pat")
        time.sleep(2)  # the empty-cluster template is made at start-up
        project_ms = [timed(lambda i=i: w.postgres.create_project(project=Project(), project_id=f"bench-{i}").wait())
                      for i in range(RUNS)]
        rows.append(("create_project().wait()", project_ms))

        for label, scale in [("50 MB", 3), ("1 GB", 64)]:
            pid = f"size-{scale}"
            w.postgres.create_project(project=Project(), project_id=pid).wait()
            prod = f"projects/{pid}/branches/production"
            w.postgres.create_role(parent=prod, role=Role(spec=RoleRoleSpec(
                postgres_role="bench", membership_roles=[RoleMembershipRole.DATABRICKS_SUPERUSER])), role_id="bench").wait()
            password = w.postgres.reveal_role_password(f"{prod}/roles/bench").password
            subprocess.run(["pgbench", "-i", "-q", "-s", str(scale), "-h", "127.0.0.1", "-p", str(port_of(w, f"{prod}/endpoints/primary")),
                            "-U", "bench", "databricks_postgres"], check=True, env={**os.environ, "PGPASSWORD": password},
                           capture_output=True)
            size = w.postgres.get_branch(prod).status.logical_size_bytes
            times = []
            for i in range(RUNS):
                times.append(timed(lambda i=i: w.postgres.create_branch(parent=f"projects/{pid}", branch=Branch(
                    spec=BranchSpec(source_branch=prod)), branch_id=f"b{i}").wait()))
                w.postgres.delete_branch(f"projects/{pid}/branches/b{i}", purge=True).wait()
            rows.append((f"create_branch().wait(), {label} parent ({size / 2**20:.0f} MiB)", times))

        prod = "projects/size-3/branches/production"
        endpoint = f"{prod}/endpoints/primary"
        password = w.postgres.reveal_role_password(f"{prod}/roles/bench").password
        rw = EndpointType.ENDPOINT_TYPE_READ_WRITE
        start_ms = []
        for _ in range(RUNS):
            w.postgres.update_endpoint(endpoint, Endpoint(spec=EndpointSpec(endpoint_type=rw, disabled=True)), FieldMask(["spec.disabled"])).wait()
            start_ms.append(timed(lambda: (w.postgres.update_endpoint(endpoint, Endpoint(spec=EndpointSpec(
                endpoint_type=rw, disabled=False)), FieldMask(["spec.disabled"])).wait(), first_select(w, endpoint, "bench", password))))
        rows.append(("start a compute (enable).wait() to first SELECT 1", start_ms))

        ro = EndpointType.ENDPOINT_TYPE_READ_ONLY
        replica_ms = []
        for i in range(RUNS):
            name = f"{prod}/endpoints/reader-{i}"
            replica_ms.append(timed(lambda i=i, name=name: (w.postgres.create_endpoint(
                parent=prod, endpoint_id=f"reader-{i}", endpoint=Endpoint(spec=EndpointSpec(endpoint_type=ro))).wait(),
                first_select(w, name, "bench", password))))
            w.postgres.delete_endpoint(name).wait()
        rows.append(("create_endpoint(READ_ONLY).wait() to first SELECT 1, 50 MB", replica_ms))

        time.sleep(3)
        # An endpoint nobody has used since its project was made (bench-0): what an idle compute costs.
        untouched = w.postgres.get_project("projects/bench-0").uid
        branch_dir = next(p.parent for p in data.rglob("postmaster.pid") if p.parent.parent.name == untouched)
        idle = [pss_mib(str(branch_dir))]
        print(f"\n{'measure':60} {'median':>10} {'min':>10} {'max':>10}")
        for label, values in rows:
            print(f"{label:60} {statistics.median(values):9.0f}ms {min(values):9.0f}ms {max(values):9.0f}ms")
        print(f"{'idle memory of an unused endpoint (PSS of its postgres processes)':60} {idle[0]:8.1f}MiB")
    finally:
        kiln.stop()


if __name__ == "__main__":
    main()
