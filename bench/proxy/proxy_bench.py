"""Postgres proxy benchmark, side by side in one run: connect + SELECT 1 latency and `pgbench -S` TPS at 1, 8
and 32 clients, direct to postgres, through PgBouncer (session mode) and through Kiln's proxy; connect +
SELECT 1 over TLS through the endpoint's own host (`status.hosts.host` at the shared port) against direct
TLS; `pgbench -S` through the endpoint's pooled host against a PgBouncer set up by hand (transaction mode)
in front of the same compute; 10,000 idle clients held on the pooled host, with Kiln's and its PgBouncer's
memory; then wake-from-zero to first query over 20 wakes. Prints tables of medians and ratios.

The direct postgres is one this script starts with exactly the settings Kiln gave its endpoint (read from
the endpoint's command line) but listening on TCP; PgBouncer fronts it over TCP, as a user would set it up.
Every path logs in with the same SCRAM password and without TLS, so they differ only in the hop.

Usage: bench/proxy/run  (builds release, or set KILN_BINARY); RUNS=4 SECONDS=8 by default (an even number of
rounds, half of them in reverse order)."""
import asyncio, base64, hashlib, hmac, os, re, shutil, statistics, struct, subprocess, sys, tempfile, time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "conformance"))
from conftest import free_port, start_kiln, traversable  # noqa: E402

import psycopg
from databricks.sdk import WorkspaceClient
from databricks.sdk.service.postgres import EndpointStatusState, Project, ProjectSpec, Role, RoleMembershipRole, RoleRoleSpec

RUNS = int(os.environ.get("RUNS", "4"))
SECONDS = int(os.environ.get("SECONDS", "8"))
CLIENTS = [1, 8, 32]
CONNECTS = int(os.environ.get("CONNECTS", "200"))
WAKES = int(os.environ.get("WAKES", "20"))
IDLE_CLIENTS = int(os.environ.get("IDLE_CLIENTS", "10000"))
PG_VERSION = int(os.environ.get("PG_VERSION", "17"))
SCALE = 10
USER = "bench"
ENDPOINT = "projects/bench/branches/production/endpoints/primary"
# The programs of the major version the bench project runs: Debian's, or the build scripts/install-postgres put in.
PG_BIN = next(p for p in (Path(f"/usr/lib/postgresql/{PG_VERSION}/bin"), Path(f"/opt/kiln/postgres/{PG_VERSION}/bin"),
                          Path.home() / f".local/share/kiln/postgres/{PG_VERSION}/bin") if (p / "initdb").exists())


def as_postgres(args, **kw):
    if os.getuid() == 0:
        args = ["runuser", "-u", "postgres", "--", *args]
    return subprocess.run(args, check=True, capture_output=True, text=True, **kw)


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


class Target:
    def __init__(self, name, port, password, host="127.0.0.1", sslmode="disable"):
        self.name, self.port, self.password, self.host, self.sslmode = name, port, password, host, sslmode

    def conninfo(self):
        return (f"host={self.host} port={self.port} user={USER} password={self.password} dbname=databricks_postgres "
                f"sslmode={self.sslmode}")

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
             "-T", str(SECONDS), "-h", self.host, "-p", str(self.port), "-U", USER, "databricks_postgres"],
            env={**os.environ, "PGPASSWORD": self.password, "PGSSLMODE": self.sslmode},
            check=True, capture_output=True, text=True).stdout
        return float(re.search(r"tps = ([0-9.]+)", out).group(1))


def endpoint_settings(port):
    """The `-c` settings of the postgres serving Kiln's endpoint on `port`, less where it listens and where it
    archives its WAL (Kiln's branch history; `pgbench -S` writes none)."""
    skip = ("port", "listen_addresses", "unix_socket_directories", "hba_file", "archive_")
    for pid in subprocess.run(["pgrep", "-f", f"port={port}"], capture_output=True, text=True).stdout.split():
        args = Path(f"/proc/{pid}/cmdline").read_text().split("\0")
        if "-D" in args:
            return [args[i + 1] for i, a in enumerate(args[:-1]) if a == "-c" and not args[i + 1].startswith(skip)]
    raise RuntimeError(f"no postgres for port {port}")


def start_direct(work: Path, settings, password):
    """A postgres of the bench's own with the endpoint's settings, on TCP, SCRAM logins, and TLS with a P-256
    certificate (the key type of Kiln's proxy certificates) for clients that ask."""
    data = work / "direct"
    as_postgres([str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth-local=trust",
                 "--auth-host=scram-sha-256", "--no-sync"])
    port = free_port()
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", str(data / "server.key"), "-out", str(data / "server.crt"), "-days", "2", "-subj", "/CN=127.0.0.1"],
                   check=True, capture_output=True)
    for name in ("server.key", "server.crt"):
        (data / name).chmod(0o600)
        if os.getuid() == 0:
            shutil.chown(data / name, "postgres")
    with open(data / "postgresql.conf", "a") as conf:
        conf.writelines(f"{name} = '{value}'\n" for name, value in (s.split("=", 1) for s in settings))
        conf.write("ssl = on\n")
    as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(work / "direct.log"), "-w",
                 "-o", f"-c listen_addresses=127.0.0.1 -p {port} -k {work}", "start"])
    psql = [str(PG_BIN / "psql"), "-h", str(work), "-p", str(port), "-U", "postgres", "-qAt"]
    as_postgres([*psql, "-d", "postgres", "-c", f"create role {USER} superuser login password '{password}'"])
    as_postgres([*psql, "-d", "postgres", "-c", f"create database databricks_postgres owner {USER}"])
    return data, port


def run_pgbouncer(work: Path, name, backend, secret, pool_mode, max_client_conn, pool_size, password):
    """Debian's PgBouncer as a user sets it up: on TCP, checking the bench user's SCRAM `secret`, in front of
    `backend` (`host=… port=…`); returns its port once it lets the bench user in."""
    port = free_port()
    (work / f"userlist-{name}.txt").write_text(f'"{USER}" "{secret}"\n')
    (work / f"pgbouncer-{name}.ini").write_text(f"""[databases]
databricks_postgres = {backend} dbname=databricks_postgres
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = scram-sha-256
auth_file = {work}/userlist-{name}.txt
pool_mode = {pool_mode}
max_client_conn = {max_client_conn}
default_pool_size = {pool_size}
logfile = {work}/pgbouncer-{name}.log
pidfile = {work}/pgbouncer-{name}.pid
""")
    return start_pgbouncer_daemon(work / f"pgbouncer-{name}.ini", port, password)


def start_pgbouncer_daemon(ini: Path, port, password):
    """Starts PgBouncer with `ini` (listening on 127.0.0.1:`port`); returns the port once the bench user gets in."""
    as_postgres(["pgbouncer", "-d", str(ini)])
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


def start_pgbouncer(work: Path, backend_port, password):
    """PgBouncer in session mode in front of the direct postgres, checking the same SCRAM password."""
    secret = as_postgres([str(PG_BIN / "psql"), "-h", str(work), "-p", str(backend_port), "-U", "postgres", "-d", "postgres",
                          "-qAt", "-c", f"select rolpassword from pg_authid where rolname = '{USER}'"]).stdout.strip()
    return run_pgbouncer(work, "session", f"host=127.0.0.1 port={backend_port}", secret, "session", 200, 100, password)


def start_pgbouncer_with_kilns_settings(work: Path, socket_dir, endpoint_port, password):
    """Kiln's own settings for the compute's PgBouncer (its pgbouncer.ini and hba, once it runs), started by
    hand on TCP instead of on the sockets Kiln hands it, without TLS: tells a gap in the pooled rows apart
    as Kiln's settings or Kiln's way of running PgBouncer."""
    source = Path(socket_dir) / f"pooler-{endpoint_port}"
    port = free_port()
    shutil.copy(source / "pgbouncer_hba.conf", work / "hba-kiln.conf")
    ini = (source / "pgbouncer.ini").read_text().replace(str(source / "pgbouncer_hba.conf"), str(work / "hba-kiln.conf"))
    ini = re.sub(r"(?m)^listen_addr =.*$", "listen_addr = 127.0.0.1", ini)
    ini = re.sub(r"(?m)^listen_port =.*$", f"listen_port = {port}", ini)
    ini = re.sub(r"(?m)^client_tls_.*$", "", ini) + "client_tls_sslmode = disable\n"
    ini += f"logfile = {work}/pgbouncer-kiln.log\npidfile = {work}/pgbouncer-kiln.pid\n"
    (work / "pgbouncer-kiln.ini").write_text(ini)
    if os.getuid() == 0:
        for name in ("pgbouncer-kiln.ini", "hba-kiln.conf"):
            shutil.chown(work / name, "postgres")
    return start_pgbouncer_daemon(work / "pgbouncer-kiln.ini", port, password)


def endpoint_socket_directory(port):
    """The Unix socket directory of the postgres serving Kiln's endpoint on `port`."""
    for pid in subprocess.run(["pgrep", "-f", f"port={port}"], capture_output=True, text=True).stdout.split():
        for arg in Path(f"/proc/{pid}/cmdline").read_text().split("\0"):
            if arg.startswith("unix_socket_directories="):
                return arg.split("=", 1)[1]
    raise RuntimeError(f"no postgres for port {port}")


def start_transaction_pgbouncer(work: Path, socket_dir, endpoint_port, password, pool_size):
    """Debian's PgBouncer set up by hand in front of Kiln's compute (its Unix socket): transaction mode, the
    pooled host's pool size and client limit, SCRAM logins against the role's own secret."""
    secret = as_postgres([str(PG_BIN / "psql"), "-h", socket_dir, "-p", str(endpoint_port), "-U", "kiln_system", "-d", "postgres",
                          "-qAt", "-c", f"select rolpassword from pg_authid where rolname = '{USER}'"]).stdout.strip()
    return run_pgbouncer(work, "tx", f"host={socket_dir} port={endpoint_port}", secret, "transaction", 10000, pool_size, password)


def scram_keys(password, salt, iterations, cache={}):
    """SCRAM-SHA-256's client and stored keys for `password` (RFC 5802), worked out once per salt."""
    key = (password, salt, iterations)
    if key not in cache:
        salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(salt), iterations)
        client_key = hmac.new(salted, b"Client Key", "sha256").digest()
        cache[key] = client_key, hashlib.sha256(client_key).digest()
    return cache[key]


async def idle_client(host, port, password):
    """A client that logs in (startup, then the password as asked: cleartext for Kiln's proxy, SCRAM for
    PgBouncer on the pooled host) and then sits idle."""
    reader, writer = await asyncio.open_connection(host, port)
    parameters = f"user\0{USER}\0database\0databricks_postgres\0\0".encode()
    writer.write(struct.pack("!ii", 8 + len(parameters), 196608) + parameters)
    first_bare = f"n=,r={base64.b64encode(os.urandom(18)).decode()}"
    while True:
        kind = await reader.readexactly(1)
        (length,) = struct.unpack("!i", await reader.readexactly(4))
        body = await reader.readexactly(length - 4)
        code = struct.unpack("!i", body[:4])[0] if kind == b"R" else None
        if code == 3:   # cleartext password
            secret = password.encode() + b"\0"
            writer.write(b"p" + struct.pack("!i", 4 + len(secret)) + secret)
        elif code == 10:   # SASL: SCRAM-SHA-256's client-first message
            first = ("n,," + first_bare).encode()
            mechanism = b"SCRAM-SHA-256\0"
            writer.write(b"p" + struct.pack("!i", 4 + len(mechanism) + 4 + len(first)) + mechanism + struct.pack("!i", len(first)) + first)
        elif code == 11:   # the server-first message: answer with the proof
            server_first = body[4:].decode()
            fields = dict(item.split("=", 1) for item in server_first.split(","))
            client_key, stored_key = scram_keys(password, fields["s"], int(fields["i"]))
            without_proof = f"c=biws,r={fields['r']}"
            signature = hmac.new(stored_key, f"{first_bare},{server_first},{without_proof}".encode(), "sha256").digest()
            proof = base64.b64encode(bytes(a ^ b for a, b in zip(client_key, signature))).decode()
            final = f"{without_proof},p={proof}".encode()
            writer.write(b"p" + struct.pack("!i", 4 + len(final)) + final)
        elif kind == b"E":
            raise RuntimeError(body.decode(errors="replace"))
        elif kind == b"Z":
            return writer


async def hold_idle_clients(host, port, password, count):
    """Opens `count` idle clients, 200 logging in at a time; returns those that got in, the errors of the
    others, and how long it took."""
    gate = asyncio.Semaphore(200)

    async def one():
        async with gate:
            return await idle_client(host, port, password)

    start = time.perf_counter()
    results = await asyncio.gather(*(one() for _ in range(count)), return_exceptions=True)
    clients = [r for r in results if not isinstance(r, BaseException)]
    errors = [r for r in results if isinstance(r, BaseException)]
    return clients, errors, time.perf_counter() - start


async def close_all(clients):
    for writer in clients:
        writer.close()
    await asyncio.gather(*(writer.wait_closed() for writer in clients), return_exceptions=True)


def rss_mib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def pooler_pid(endpoint_port):
    pids = subprocess.run(["pgrep", "-f", f"pooler-{endpoint_port}/pgbouncer.ini"], capture_output=True, text=True).stdout.split()
    return int(pids[-1]) if pids else None


def print_latency(title, targets, latency, width):
    """A table of connect latencies, each against the first target's."""
    print(f"\n{title}")
    print(f"{'path':<{width}}{'p50':>9}{'p99':>9}{'p50 vs direct':>15}")
    for t in targets:
        p50 = statistics.median(latency[t.name])
        print(f"{t.name:<{width}}{p50:>9.2f}{percentile(latency[t.name], 99):>9.2f}"
              f"{p50 / statistics.median(latency[targets[0].name]):>14.2f}x")


def print_tps(title, targets, tps, width):
    """A table of median TPS per client count."""
    print(f"\n{title}")
    print(f"{'path':<{width}}" + "".join(f"{f'{c} client' + ('s' if c > 1 else ''):>14}" for c in CLIENTS))
    for t in targets:
        print(f"{t.name:<{width}}" + "".join(f"{statistics.median(tps[(t.name, c)]):>14,.0f}" for c in CLIENTS))


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
        w.postgres.create_project(project=Project(spec=ProjectSpec(pg_version=PG_VERSION)), project_id="bench").wait()
        w.postgres.create_role(parent="projects/bench/branches/production", role=Role(spec=RoleRoleSpec(
            postgres_role=USER, membership_roles=[RoleMembershipRole.DATABRICKS_SUPERUSER])), role_id=USER).wait()
        password = w.postgres.reveal_role_password(f"projects/bench/branches/production/roles/{USER}").password
        hosts = w.api_client.do("GET", f"/api/2.0/postgres/{ENDPOINT}")["status"]["hosts"]
        kiln_port = hosts["port"]
        kiln_target = Target("Kiln proxy", kiln_port, password)
        holder = psycopg.connect(kiln_target.conninfo())   # keeps the endpoint up until the wake phase

        settings = endpoint_settings(kiln_port)
        direct_data, direct_port = start_direct(work, settings, password)
        targets = [Target("direct", direct_port, password),
                   Target("PgBouncer (session)", start_pgbouncer(work, direct_port, password), password),
                   kiln_target]
        tls_targets = [Target("direct, TLS", direct_port, password, sslmode="require"),
                       Target("Kiln hosts.host, TLS", kiln.proxy_port, password, host=hosts["host"], sslmode="require")]
        max_connections = int(next(s.split("=", 1)[1] for s in settings if s.startswith("max_connections=")))
        pool_targets = [
            Target("PgBouncer by hand (tx)", start_transaction_pgbouncer(
                work, endpoint_socket_directory(kiln_port), kiln_port, password, max_connections * 9 // 10), password),
            Target("Kiln pooled host", kiln.proxy_port, password, host=hosts["read_write_pooled_host"])]
        pool_targets[1].connect_latencies(1)   # starts the compute's PgBouncer, whose settings the next one copies
        pool_targets.append(Target("by hand, Kiln's settings", start_pgbouncer_with_kilns_settings(
            work, endpoint_socket_directory(kiln_port), kiln_port, password), password))
        for t in targets[::2]:   # PgBouncer shares the direct postgres's data
            subprocess.run([str(PG_BIN / "pgbench"), "-i", "-q", "-s", str(SCALE), "-h", "127.0.0.1", "-p", str(t.port),
                            "-U", USER, "databricks_postgres"], env={**os.environ, "PGPASSWORD": password, "PGSSLMODE": "disable"},
                           check=True, capture_output=True)

        latency = {t.name: [] for t in targets + tls_targets}
        tps = {(t.name, c): [] for t in targets + pool_targets for c in CLIENTS}
        for run in range(RUNS):   # interleaved, so that noise hits every target alike
            # Every other round in reverse: a target's place in the round biases it (the machine slows down
            # over a long stretch of load), and the rounds cancel that out.
            order = (lambda items: items if run % 2 == 0 else items[::-1])
            for t in order(targets + tls_targets):
                t.connect_latencies(10)   # warm up
                latency[t.name] += t.connect_latencies(CONNECTS // RUNS)
            for c in CLIENTS:
                for t in order(targets + pool_targets):
                    tps[(t.name, c)].append(t.tps(c))

        # 10,000 idle clients on the pooled host; the proxy keeps serving a newcomer meanwhile.
        pooled = pool_targets[1]
        with psycopg.connect(pooled.conninfo()) as c:
            c.execute("select 1").fetchone()
        memory_before = (rss_mib(kiln.process.pid), rss_mib(pooler_pid(kiln_port)))
        loop = asyncio.new_event_loop()
        clients, idle_errors, opened_in = loop.run_until_complete(hold_idle_clients(pooled.host, pooled.port, password, IDLE_CLIENTS))
        memory_after = (rss_mib(kiln.process.pid), rss_mib(pooler_pid(kiln_port)))
        def newcomer(target):
            try:
                return f"connect + SELECT 1 p50 {statistics.median(target.connect_latencies(20)):.2f} ms"
            except psycopg.OperationalError as error:
                return "refused: " + str(error).strip().splitlines()[-1]
        newcomers = [("on the endpoint's own port, through Kiln's proxy", newcomer(kiln_target)),
                     ("on the pooled host, one more than PgBouncer's max_client_conn", newcomer(pooled))]
        loop.run_until_complete(close_all(clients))
        loop.close()
        holder.close()

        wakes = []
        for _ in range(WAKES):
            wait_state(w, EndpointStatusState.IDLE)
            start = time.perf_counter()
            with psycopg.connect(kiln_target.conninfo()) as c:
                c.execute("select 1").fetchone()
            wakes.append((time.perf_counter() - start) * 1000)

        direct = targets[0].name
        print_latency(f"connect + SELECT 1 + close, ms ({len(latency[direct])} each, no TLS, SCRAM password)", targets, latency, 22)
        print_tps(f"pgbench -S, TPS (median of {RUNS} x {SECONDS} s, scale {SCALE})", targets, tps, 22)
        for t in targets[1:]:
            print(f"{t.name + ' / direct':<22}" + "".join(
                f"{statistics.median(tps[(t.name, c)]) / statistics.median(tps[(direct, c)]):>13.0%} " for c in CLIENTS))
        bouncer, proxy = targets[1].name, targets[2].name
        print(f"{'Kiln / PgBouncer':<22}" + "".join(
            f"{statistics.median(tps[(proxy, c)]) / statistics.median(tps[(bouncer, c)]):>13.0%} " for c in CLIENTS))
        print_latency(f"connect + SELECT 1 + close over TLS (sslmode=require, SCRAM password), ms ({len(latency[tls_targets[0].name])} each)",
                      tls_targets, latency, 26)
        print_tps(f"pgbench -S through a pooler in transaction mode in front of Kiln's compute, TPS (median of {RUNS} x {SECONDS} s)",
                  pool_targets, tps, 26)
        hand, kiln_pooled, kiln_settings = (t.name for t in pool_targets)
        for name, label in ((kiln_pooled, "Kiln pooled / by hand"), (kiln_settings, "Kiln's settings / by hand")):
            print(f"{label:<26}" + "".join(
                f"{statistics.median(tps[(name, c)]) / statistics.median(tps[(hand, c)]):>13.0%} " for c in CLIENTS))
            # A round runs the targets back to back, so the ratio within it is spared the machine's drift
            # from round to round: the median of those ratios is the steadier figure.
            print(f"{'  median of rounds':<26}" + "".join(
                f"{statistics.median(a / b for a, b in zip(tps[(name, c)], tps[(hand, c)])):>13.0%} " for c in CLIENTS))
        for t in pool_targets:   # the spread behind each median
            print(f"{t.name + ', runs':<26}" + "".join(
                f"{min(tps[(t.name, c)]) / 1000:>6.1f}-{max(tps[(t.name, c)]) / 1000:<6.1f}k" for c in CLIENTS))
        print(f"\n{len(clients):,} of {IDLE_CLIENTS:,} idle clients held on the pooled host (logged in in {opened_in:.1f} s; "
              f"PgBouncer accepts there itself once the compute runs, so Kiln holds none of them)")
        if idle_errors:
            print(f"{len(idle_errors):,} refused, the first with: {str(idle_errors[0]).strip()}")
        print(f"{'process':<26}{'RSS before':>12}{'RSS after':>12}{'per client':>12}")
        for name, before, after in (("Kiln", memory_before[0], memory_after[0]), ("its PgBouncer", memory_before[1], memory_after[1])):
            print(f"{name:<26}{before:>9.1f} MiB{after:>9.1f} MiB{(after - before) * 1024 / max(1, len(clients)):>9.1f} KiB")
        for where, outcome in newcomers:
            print(f"a new client meanwhile {where}: {outcome}")
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
