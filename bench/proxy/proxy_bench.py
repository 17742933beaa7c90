"""Postgres proxy benchmark, side by side in one run: connect + SELECT 1 latency and `pgbench -S` TPS at 1, 8
and 32 clients, direct to postgres, through PgBouncer (session mode) and through Kiln's proxy; then
wake-from-zero to first query over 20 wakes. Prints tables of medians and ratios.

The direct postgres is one this script starts with exactly the settings Kiln gave its endpoint (read from
the endpoint's command line) but listening on TCP; PgBouncer fronts it over TCP, as a user would set it up.
Every path logs in with the same SCRAM password and without TLS, so they differ only in the hop.

Usage: bench/proxy/run  (builds release, or set KILN_BINARY); RUNS=3 SECONDS=8 by default."""
import os, re, shutil, statistics, subprocess, sys, tempfile, time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "conformance"))
from conftest import free_port, start_kiln, traversable  # noqa: E402

import psycopg
from databricks.sdk import WorkspaceClient
from databricks.sdk.service.postgres import EndpointStatusState, Project, Role, RoleMembershipRole, RoleRoleSpec

RUNS = int(os.environ.get("RUNS", "3"))
SECONDS = int(os.environ.get("SECONDS", "8"))
CLIENTS = [1, 8, 32]
CONNECTS = int(os.environ.get("CONNECTS", "200"))
WAKES = int(os.environ.get("WAKES", "20"))
SCALE = 10
USER = "bench"
ENDPOINT = "projects/bench/branches/production/endpoints/primary"
PG_BIN = sorted(Path("/usr/lib/postgresql").glob("*/bin"))[-1]


def as_postgres(args, **kw):
    if os.getuid() == 0:
        args = ["runuser", "-u", "postgres", "--", *args]
    return subprocess.run(args, check=True, capture_output=True, text=True, **kw)


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


class Target:
    def __init__(self, name, port, password):
        self.name, self.port, self.password = name, port, password

    def conninfo(self):
        return f"host=127.0.0.1 port={self.port} user={USER} password={self.password} dbname=databricks_postgres sslmode=disable"

    def connect_latencies(self, count):
        times = []
        for _ in range(count):
            start = time.perf_counter()
            with psycopg.connect(self.conninfo()) as c:
                c.execute("select 1").fetchone()
            times.append((time.perf_counter() - start) * 1000)
        return times

    def tps(self, clients):
        out = subprocess.run(
            [str(PG_BIN / "pgbench"), "-n", "-S", "-c", str(clients), "-j", str(min(clients, os.cpu_count() or 1)),
             "-T", str(SECONDS), "-h", "127.0.0.1", "-p", str(self.port), "-U", USER, "databricks_postgres"],
            env={**os.environ, "PGPASSWORD": self.password, "PGSSLMODE": "disable"},
            check=True, capture_output=True, text=True).stdout
        return float(re.search(r"tps = ([0-9.]+)", out).group(1))


def endpoint_settings(port):
    """The `-c` settings of the postgres serving Kiln's endpoint on `port`, less where it listens."""
    skip = ("port", "listen_addresses", "unix_socket_directories", "hba_file")
    for pid in subprocess.run(["pgrep", "-f", f"port={port}"], capture_output=True, text=True).stdout.split():
        args = Path(f"/proc/{pid}/cmdline").read_text().split("\0")
        if "-D" in args:
            return [args[i + 1] for i, a in enumerate(args[:-1]) if a == "-c" and not args[i + 1].startswith(skip)]
    raise RuntimeError(f"no postgres for port {port}")


def start_direct(work: Path, settings, password):
    """A postgres of the bench's own with the endpoint's settings, on TCP, SCRAM logins."""
    data = work / "direct"
    as_postgres([str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth-local=trust",
                 "--auth-host=scram-sha-256", "--no-sync"])
    port = free_port()
    with open(data / "postgresql.conf", "a") as conf:
        conf.writelines(f"{name} = '{value}'\n" for name, value in (s.split("=", 1) for s in settings))
    as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(work / "direct.log"), "-w",
                 "-o", f"-c listen_addresses=127.0.0.1 -p {port} -k {work}", "start"])
    psql = [str(PG_BIN / "psql"), "-h", str(work), "-p", str(port), "-U", "postgres", "-qAt"]
    as_postgres([*psql, "-d", "postgres", "-c", f"create role {USER} superuser login password '{password}'"])
    as_postgres([*psql, "-d", "postgres", "-c", f"create database databricks_postgres owner {USER}"])
    return data, port


def start_pgbouncer(work: Path, backend_port, password):
    """PgBouncer in session mode in front of the direct postgres, checking the same SCRAM password."""
    secret = as_postgres([str(PG_BIN / "psql"), "-h", str(work), "-p", str(backend_port), "-U", "postgres", "-d", "postgres",
                          "-qAt", "-c", f"select rolpassword from pg_authid where rolname = '{USER}'"]).stdout.strip()
    port = free_port()
    (work / "userlist.txt").write_text(f'"{USER}" "{secret}"\n')
    (work / "pgbouncer.ini").write_text(f"""[databases]
databricks_postgres = host=127.0.0.1 port={backend_port} dbname=databricks_postgres
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = scram-sha-256
auth_file = {work}/userlist.txt
pool_mode = session
max_client_conn = 200
default_pool_size = 100
logfile = {work}/pgbouncer.log
pidfile = {work}/pgbouncer.pid
""")
    as_postgres(["pgbouncer", "-d", str(work / "pgbouncer.ini")])
    deadline = time.time() + 10
    while True:
        try:
            psycopg.connect(f"host=127.0.0.1 port={port} user={USER} password={password} dbname=databricks_postgres "
                            "sslmode=disable").close()
            return port
        except psycopg.OperationalError:
            if time.time() > deadline:
                raise
            time.sleep(0.05)


def wait_state(w, wanted, timeout=30):
    deadline = time.time() + timeout
    while w.postgres.get_endpoint(ENDPOINT).status.current_state != wanted:
        if time.time() > deadline:
            raise RuntimeError(f"{ENDPOINT} did not become {wanted}")
        time.sleep(0.05)


def main():
    work = traversable(Path(tempfile.mkdtemp(prefix="kiln-proxy-bench-")))
    if os.getuid() == 0:
        shutil.chown(work, "postgres")   # the direct postgres and PgBouncer run as postgres
    kiln = start_kiln(work / "kiln", "127.0.0.1", free_port(), extra_env={
        "KILN_POSTGRES_PORTS": "56400-56499", "KILN_POSTGRES_SUSPEND_TIMEOUT": "1"})
    direct_data = None
    try:
        w = WorkspaceClient(host=kiln.url, token=kiln.token, auth_type="pat")
        w.postgres.create_project(project=Project(), project_id="bench").wait()
        w.postgres.create_role(parent="projects/bench/branches/production", role=Role(spec=RoleRoleSpec(
            postgres_role=USER, membership_roles=[RoleMembershipRole.DATABRICKS_SUPERUSER])), role_id=USER).wait()
        password = w.postgres.reveal_role_password(f"projects/bench/branches/production/roles/{USER}").password
        kiln_port = w.api_client.do("GET", f"/api/2.0/postgres/{ENDPOINT}")["status"]["hosts"]["port"]
        kiln_target = Target("Kiln proxy", kiln_port, password)
        holder = psycopg.connect(kiln_target.conninfo())   # keeps the endpoint up until the wake phase

        direct_data, direct_port = start_direct(work, endpoint_settings(kiln_port), password)
        targets = [Target("direct", direct_port, password),
                   Target("PgBouncer (session)", start_pgbouncer(work, direct_port, password), password),
                   kiln_target]
        for t in targets[::2]:   # PgBouncer shares the direct postgres's data
            subprocess.run([str(PG_BIN / "pgbench"), "-i", "-q", "-s", str(SCALE), "-h", "127.0.0.1", "-p", str(t.port),
                            "-U", USER, "databricks_postgres"], env={**os.environ, "PGPASSWORD": password, "PGSSLMODE": "disable"},
                           check=True, capture_output=True)

        latency = {t.name: [] for t in targets}
        tps = {(t.name, c): [] for t in targets for c in CLIENTS}
        for _ in range(RUNS):   # interleaved, so that noise hits every target alike
            for t in targets:
                t.connect_latencies(10)   # warm up
                latency[t.name] += t.connect_latencies(CONNECTS // RUNS)
            for c in CLIENTS:
                for t in targets:
                    tps[(t.name, c)].append(t.tps(c))
        holder.close()

        wakes = []
        for _ in range(WAKES):
            wait_state(w, EndpointStatusState.IDLE)
            start = time.perf_counter()
            with psycopg.connect(kiln_target.conninfo()) as c:
                c.execute("select 1").fetchone()
            wakes.append((time.perf_counter() - start) * 1000)

        direct = targets[0].name
        print(f"\nconnect + SELECT 1 + close, ms ({len(latency[direct])} each, no TLS, SCRAM password)")
        print(f"{'path':<22}{'p50':>9}{'p99':>9}{'p50 vs direct':>15}")
        for t in targets:
            p50 = statistics.median(latency[t.name])
            print(f"{t.name:<22}{p50:>9.2f}{percentile(latency[t.name], 99):>9.2f}"
                  f"{p50 / statistics.median(latency[direct]):>14.2f}x")
        print(f"\npgbench -S, TPS (median of {RUNS} x {SECONDS} s, scale {SCALE})")
        print(f"{'path':<22}" + "".join(f"{f'{c} client' + ('s' if c > 1 else ''):>14}" for c in CLIENTS))
        for t in targets:
            print(f"{t.name:<22}" + "".join(f"{statistics.median(tps[(t.name, c)]):>14,.0f}" for c in CLIENTS))
        for t in targets[1:]:
            print(f"{t.name + ' / direct':<22}" + "".join(
                f"{statistics.median(tps[(t.name, c)]) / statistics.median(tps[(direct, c)]):>13.0%} " for c in CLIENTS))
        bouncer, proxy = targets[1].name, targets[2].name
        print(f"{'Kiln / PgBouncer':<22}" + "".join(
            f"{statistics.median(tps[(proxy, c)]) / statistics.median(tps[(bouncer, c)]):>13.0%} " for c in CLIENTS))
        print(f"\nwake from zero to first SELECT 1 through the proxy, ms ({WAKES} wakes)")
        print(f"p50 {statistics.median(wakes):.1f}   p99 {percentile(wakes, 99):.1f}   min {min(wakes):.1f}   max {max(wakes):.1f}")
    finally:
        kiln.stop()
        subprocess.run(["pkill", "-f", f"pgbouncer -d {work}"], capture_output=True)
        if direct_data:
            as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(direct_data), "-m", "fast", "stop"])
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
