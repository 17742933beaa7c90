"""Kiln's Postgres proxy with psycopg and psql: credential and password logins, TLS verify-full, SNI and
`options` routing, wake from zero, suspend after the timeout, refusals (lakebase-contract.md §B.3, §B.4)."""
import socket
import subprocess
import time

import psycopg
import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.service.postgres import (
    EndpointSpec, EndpointStatusState, EndpointType, Endpoint, Project, Role, RoleMembershipRole, RoleRoleSpec,
)
from databricks.sdk.common.types.fieldmask import FieldMask

from conftest import free_port, start_kiln, traversable

ENDPOINT = "projects/proxy/branches/production/endpoints/primary"
SUSPEND_SECONDS = 2


@pytest.fixture(scope="module")
def proxied(tmp_path_factory, database_url):
    """A Kiln of its own whose endpoints suspend after two idle seconds."""
    data_dir = traversable(tmp_path_factory.mktemp("kiln-proxy"))
    kiln = start_kiln(data_dir, "127.0.0.1", free_port(), None, extra_env={
        "KILN_POSTGRES_PORTS": "56600-56699", "KILN_POSTGRES_SUSPEND_TIMEOUT": str(SUSPEND_SECONDS)}, log_level="info")
    w = WorkspaceClient(host=kiln.url, token=kiln.token)
    w.postgres.create_project(project=Project(), project_id="proxy").wait()
    w.postgres.create_role(parent="projects/proxy/branches/production", role=Role(spec=RoleRoleSpec(
        postgres_role="app", membership_roles=[RoleMembershipRole.DATABRICKS_SUPERUSER])), role_id="app-role").wait()
    yield kiln, w
    kiln.stop()


def endpoint_info(w):
    raw = w.api_client.do("GET", f"/api/2.0/postgres/{ENDPOINT}")
    return raw["uid"], raw["status"]["hosts"]["port"]


def app_password(w):
    return w.postgres.reveal_role_password("projects/proxy/branches/production/roles/app-role").password


def state(w):
    return w.postgres.get_endpoint(ENDPOINT).status.current_state


def test_role_password_on_the_endpoint_port(proxied):
    kiln, w = proxied
    _, port = endpoint_info(w)
    with psycopg.connect(host="127.0.0.1", port=port, user="app", password=app_password(w), dbname="databricks_postgres",
                         sslmode="require") as conn:
        assert conn.execute("select current_user").fetchone()[0] == "app"
        assert conn.info.pgconn.ssl_in_use
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(host="127.0.0.1", port=port, user="app", password="wrong", dbname="databricks_postgres", sslmode="require")
    with pytest.raises(psycopg.OperationalError, match='database "nope" does not exist'):
        psycopg.connect(host="127.0.0.1", port=port, user="app", password=app_password(w), dbname="nope", sslmode="disable")


def test_credential_login_with_sni_and_verify_full(proxied):
    kiln, w = proxied
    uid, _ = endpoint_info(w)
    hosts = w.api_client.do("GET", f"/api/2.0/postgres/{ENDPOINT}")["status"]["hosts"]
    assert hosts["server_name"] == f"{uid}.kiln.localhost" and hosts["shared_port"] == kiln.proxy_port
    token = w.postgres.generate_database_credential(endpoint=ENDPOINT).token
    me = w.current_user.me().user_name
    # kiln.localhost does not resolve here: the address is given apart, the name still goes out as SNI.
    with psycopg.connect(host=hosts["server_name"], hostaddr="127.0.0.1", port=hosts["shared_port"], user=me, password=token,
                         dbname="databricks_postgres", sslmode="verify-full",
                         sslrootcert=str(kiln.data_dir / "postgres-tls" / "ca.pem")) as conn:
        assert conn.execute("select current_user").fetchone()[0] == me
    # The same token names its identity: another user name is refused.
    with pytest.raises(psycopg.OperationalError, match="28P01|issued to"):
        psycopg.connect(host="127.0.0.1", port=kiln.proxy_port, user="app", password=token,
                        dbname="databricks_postgres", options=f"endpoint={uid}", sslmode="disable")
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(host="127.0.0.1", port=kiln.proxy_port, user=me, password=forged, dbname="databricks_postgres",
                        options=f"endpoint={uid}", sslmode="disable")



def resign(kiln, token, **claims):
    """`token` with some claims changed, signed with the installation's real key (read from Kiln's SQLite
    store, derived as Kiln derives it): what a token would be after its expiry, or from elsewhere."""
    import base64, hashlib, hmac, json, sqlite3
    with sqlite3.connect(kiln.data_dir / "kiln.sqlite") as db:
        [root] = db.execute("select secret from kiln_secrets where name = 'lakebase-key'").fetchone()
    prk = hmac.new(b"\0" * 32, base64.b64decode(root), hashlib.sha256).digest()              # HKDF, no salt
    key = hmac.new(prk, b"database-credentials\x01", hashlib.sha256).digest()
    b64 = lambda data: base64.urlsafe_b64encode(data).rstrip(b"=").decode()
    payload = token.removeprefix("kiln_pg.").split(".")[0]
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    payload = b64(json.dumps({**body, **claims}).encode())
    return f"kiln_pg.{payload}.{b64(hmac.new(key, payload.encode(), hashlib.sha256).digest())}"


def test_expired_and_foreign_tokens_are_refused_while_open_sessions_continue(proxied):
    kiln, w = proxied
    uid, port = endpoint_info(w)
    token = w.postgres.generate_database_credential(endpoint=ENDPOINT).token
    me = w.current_user.me().user_name
    login = dict(host="127.0.0.1", port=port, user=me, dbname="databricks_postgres", sslmode="require")
    with psycopg.connect(**login, password=resign(kiln, token, exp=int(time.time()) + 600)):
        pass   # the test signs as Kiln does, so the refusals below are about the claims
    with psycopg.connect(**login, password=token) as session:
        with pytest.raises(psycopg.OperationalError, match="expired"):
            psycopg.connect(**login, password=resign(kiln, token, exp=int(time.time()) - 1))
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(**login, password=resign(kiln, token, ws=1))                      # another workspace
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(**login, password=resign(kiln, token, ep="ep-another-endpoint"))  # another endpoint
        assert session.execute("select current_user").fetchone()[0] == me   # checked at login only


def test_options_routing_and_unknown_endpoints(proxied):
    kiln, w = proxied
    uid, _ = endpoint_info(w)
    with psycopg.connect(host="127.0.0.1", port=kiln.proxy_port, user="app", password=app_password(w),
                         dbname="databricks_postgres", options=f"endpoint={uid} -c search_path=public",
                         sslmode="disable") as conn:
        assert conn.execute("show search_path").fetchone()[0] == "public"
    with pytest.raises(psycopg.OperationalError, match="Endpoint ID is not specified"):
        psycopg.connect(host="127.0.0.1", port=kiln.proxy_port, user="app", password="x", dbname="d", sslmode="disable")
    with pytest.raises(psycopg.OperationalError, match="not found"):
        psycopg.connect(host="127.0.0.1", port=kiln.proxy_port, user="app", password="x", dbname="d",
                        options="endpoint=ep-no-such-thing", sslmode="disable")


def test_psql_connects_through_the_proxy(proxied):
    kiln, w = proxied
    uid, port = endpoint_info(w)
    psql = subprocess.run(["psql", f"host=127.0.0.1 port={port} user=app dbname=databricks_postgres sslmode=require",
                           "-Atc", "select 40 + 2"], env={"PGPASSWORD": app_password(w), "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=30)
    assert psql.stdout.strip() == "42", psql.stderr


def test_suspends_when_idle_and_wakes_on_connect(proxied):
    kiln, w = proxied
    _, port = endpoint_info(w)
    password = app_password(w)
    with psycopg.connect(host="127.0.0.1", port=port, user="app", password=password, dbname="databricks_postgres") as conn:
        conn.execute("create table if not exists kept as select 7 as n")
        time.sleep(SUSPEND_SECONDS + 1)   # an open session keeps the compute up
        assert state(w) == EndpointStatusState.ACTIVE
    deadline = time.time() + 20
    while state(w) != EndpointStatusState.IDLE:
        assert time.time() < deadline, "the endpoint did not suspend"
        time.sleep(0.2)
    with psycopg.connect(host="127.0.0.1", port=port, user="app", password=password, dbname="databricks_postgres") as conn:
        assert conn.execute("select n from kept").fetchone()[0] == 7
        assert state(w) == EndpointStatusState.ACTIVE


def test_a_compute_nobody_connects_to_suspends(proxied):
    kiln, w = proxied
    w.postgres.create_project(project=Project(), project_id="untouched").wait()
    endpoint = "projects/untouched/branches/production/endpoints/primary"
    assert w.postgres.get_endpoint(endpoint).status.current_state == EndpointStatusState.ACTIVE
    deadline = time.time() + 20
    while w.postgres.get_endpoint(endpoint).status.current_state != EndpointStatusState.IDLE:
        assert time.time() < deadline, "a compute nobody connected to did not suspend"
        time.sleep(0.2)
    w.postgres.delete_project("projects/untouched", purge=True).wait()


def test_wakes_wait_for_work_on_a_suspended_branch(proxied):
    """Role changes on a suspended branch run on a private server over the branch's data; clients that
    connect meanwhile wait for it and then wake the endpoint, none is refused."""
    import threading
    kiln, w = proxied
    _, port = endpoint_info(w)
    password = app_password(w)
    for round in range(3):
        deadline = time.time() + 20
        while state(w) != EndpointStatusState.IDLE:
            assert time.time() < deadline, "the endpoint did not suspend"
            time.sleep(0.2)
        work = threading.Thread(target=lambda: w.postgres.create_role(
            parent="projects/proxy/branches/production", role_id=f"waker-{round}",
            role=Role(spec=RoleRoleSpec(postgres_role=f"waker_{round}"))).wait())
        work.start()
        failures, served = [], 0
        while work.is_alive() or served == 0:
            try:
                with psycopg.connect(host="127.0.0.1", port=port, user="app", password=password,
                                     dbname="databricks_postgres", connect_timeout=10) as conn:
                    conn.execute("select 1")
                    served += 1
            except psycopg.OperationalError as error:
                failures.append(str(error))
        work.join()
        assert failures == [] and served > 0


def test_concurrent_connections_wake_once(proxied):
    kiln, w = proxied
    _, port = endpoint_info(w)
    password = app_password(w)
    deadline = time.time() + 20
    while state(w) != EndpointStatusState.IDLE:
        assert time.time() < deadline
        time.sleep(0.2)
    import concurrent.futures
    def one(_):
        with psycopg.connect(host="127.0.0.1", port=port, user="app", password=password, dbname="databricks_postgres") as c:
            return c.execute("select 1").fetchone()[0]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        assert list(pool.map(one, range(8))) == [1] * 8


def test_disabled_endpoint_refuses(proxied):
    kiln, w = proxied
    _, port = endpoint_info(w)
    w.postgres.update_endpoint(ENDPOINT, Endpoint(spec=EndpointSpec(
        endpoint_type=EndpointType.ENDPOINT_TYPE_READ_WRITE, disabled=True)),
                               FieldMask(["spec.disabled"])).wait()
    try:
        with pytest.raises(psycopg.OperationalError, match="disabled"):
            psycopg.connect(host="127.0.0.1", port=port, user="app", password=app_password(w), dbname="databricks_postgres",
                            sslmode="disable")
    finally:
        w.postgres.update_endpoint(ENDPOINT, Endpoint(spec=EndpointSpec(
            endpoint_type=EndpointType.ENDPOINT_TYPE_READ_WRITE, disabled=False)),
                                   FieldMask(["spec.disabled"])).wait()


def test_garbage_slow_and_many_clients_do_not_stop_the_proxy(proxied):
    kiln, w = proxied
    _, port = endpoint_info(w)
    with socket.create_connection(("127.0.0.1", port)) as s:   # garbage
        s.sendall(b"\x00\x00\x00\x03GET / HTTP/1.1\r\n\r\n")
        s.settimeout(5)
        assert s.recv(1024)[:1] == b"E"
    with socket.create_connection(("127.0.0.1", port)) as s:   # oversized
        s.sendall(b"\x7f\xff\xff\xff")
        s.settimeout(5)
        assert s.recv(1024)[:1] == b"E"
    slow = socket.create_connection(("127.0.0.1", port))          # a client that says nothing
    sockets = [socket.create_connection(("127.0.0.1", port)) for _ in range(1000)]   # at once
    for s in sockets:
        s.sendall(b"\x00\x00")                                     # truncated startup packets
    with psycopg.connect(host="127.0.0.1", port=port, user="app", password=app_password(w), dbname="databricks_postgres") as c:
        assert c.execute("select 1").fetchone()[0] == 1                # served while they hang
    for s in sockets:
        s.close()
    slow.settimeout(15)
    assert slow.recv(1024) == b""                                  # closed by the handshake timeout
    slow.close()


def test_cancel_reaches_the_backend(proxied):
    kiln, w = proxied
    _, port = endpoint_info(w)
    with psycopg.connect(host="127.0.0.1", port=port, user="app", password=app_password(w), dbname="databricks_postgres") as c:
        import threading
        threading.Timer(0.5, c.cancel).start()
        with pytest.raises(psycopg.errors.QueryCanceled):
            c.execute("select pg_sleep(20)")


def metric(text, name, labels=""):
    """The value of one sample in Prometheus text."""
    for line in text.splitlines():
        if line.startswith(f"{name}{labels} "):
            return float(line.split()[-1])
    raise AssertionError(f"{name}{labels} not in /metrics:\n{text}")


def test_metrics_count_connections_bytes_and_wakes(proxied):
    kiln, w = proxied
    import urllib.request
    text = urllib.request.urlopen(f"{kiln.url}/metrics").read().decode()   # no credentials needed
    assert metric(text, "kiln_proxy_connections_total") >= 10
    assert metric(text, "kiln_proxy_connections_refused_total") >= 5
    assert metric(text, "kiln_proxy_wakes_total") >= 1              # the suspend-and-wake tests above
    assert metric(text, "kiln_proxy_wake_seconds_count") == metric(text, "kiln_proxy_wakes_total")
    assert metric(text, "kiln_proxy_bytes_total", '{direction="server_to_client"}') > 0
    assert metric(text, "kiln_proxy_bytes_total", '{direction="client_to_server"}') > 0
    _, port = endpoint_info(w)
    before = metric(text, "kiln_proxy_connections_total")
    with psycopg.connect(host="127.0.0.1", port=port, user="app", password=app_password(w), dbname="databricks_postgres"):
        text = urllib.request.urlopen(f"{kiln.url}/metrics").read().decode()
        assert metric(text, "kiln_proxy_connections_active") >= 1
        assert metric(text, "kiln_proxy_connections_total") == before + 1


def test_a_restarted_kiln_leaves_suspended_endpoints_suspended(tmp_path_factory):
    """Computes that scaled to zero stay at zero across a restart of Kiln and wake on the first connection;
    the others come back."""
    data_dir = traversable(tmp_path_factory.mktemp("kiln-restart-idle"))
    env = {"KILN_POSTGRES_PORTS": "56800-56899", "KILN_POSTGRES_SUSPEND_TIMEOUT": str(SUSPEND_SECONDS)}
    port = free_port()
    kilns = []

    def postgres_count():
        out = subprocess.run(["pgrep", "-f", f"postgres -D {data_dir}"], capture_output=True, text=True).stdout
        return len(out.split())
    try:
        kilns.append(start_kiln(data_dir, "127.0.0.1", port, None, extra_env=env))
        w = WorkspaceClient(host=kilns[-1].url, token=kilns[-1].token)
        w.postgres.create_project(project=Project(), project_id="sleepy").wait()
        endpoint = "projects/sleepy/branches/production/endpoints/primary"
        w.postgres.create_role(parent="projects/sleepy/branches/production", role_id="app-role", role=Role(
            spec=RoleRoleSpec(postgres_role="app", membership_roles=[RoleMembershipRole.DATABRICKS_SUPERUSER]))).wait()
        password = w.postgres.reveal_role_password("projects/sleepy/branches/production/roles/app-role").password
        deadline = time.time() + 20
        while w.postgres.get_endpoint(endpoint).status.current_state != EndpointStatusState.IDLE:
            assert time.time() < deadline, "the endpoint did not suspend"
            time.sleep(0.2)
        host = w.postgres.get_endpoint(endpoint).status.hosts.host
        kilns[-1].stop()
        kilns.append(start_kiln(data_dir, "127.0.0.1", port, None, extra_env=env))
        w = WorkspaceClient(host=kilns[-1].url, token=kilns[-1].token)
        time.sleep(1)   # computes are restored in the background after "ready"
        assert w.postgres.get_endpoint(endpoint).status.current_state == EndpointStatusState.IDLE
        assert postgres_count() == 0
        # The endpoint keeps its host across the suspend and the restart, and a connection to it wakes it.
        assert w.postgres.get_endpoint(endpoint).status.hosts.host == host
        conn = psycopg.connect(host=host, port=kilns[-1].proxy_port, user="app", password=password,
                               dbname="databricks_postgres", autocommit=True, sslmode="require")
        assert conn.execute("select 1").fetchone()[0] == 1
        assert w.postgres.get_endpoint(endpoint).status.current_state == EndpointStatusState.ACTIVE
        # Woken (and in use when Kiln stops), it is an ordinary running endpoint: the next restart brings it back.
        kilns[-1].stop()
        conn.close()
        kilns.append(start_kiln(data_dir, "127.0.0.1", port, None, extra_env=env))
        w = WorkspaceClient(host=kilns[-1].url, token=kilns[-1].token)
        deadline = time.time() + 20
        while w.postgres.get_endpoint(endpoint).status.current_state != EndpointStatusState.ACTIVE:
            assert time.time() < deadline, "a running endpoint was not restored"
            time.sleep(0.1)
    finally:
        for kiln in kilns:
            kiln.stop()
    assert postgres_count() == 0


def test_a_wrong_password_wakes_nothing(proxied):
    """The proxy checks a native password against the verifiers kept when the compute was suspended, so a
    client that knows the endpoint but not a password cannot start it (Neon authenticates before waking)."""
    kiln, w = proxied
    _, port = endpoint_info(w)
    deadline = time.time() + 20
    while state(w) != EndpointStatusState.IDLE:
        assert time.time() < deadline, "the endpoint did not suspend"
        time.sleep(0.2)
    for user, password in [("app", "wrong"), ("nobody", "wrong"), ("app", "app")]:
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(host="127.0.0.1", port=port, user=user, password=password, dbname="databricks_postgres",
                            connect_timeout=10)
    assert state(w) == EndpointStatusState.IDLE
    # A role made while the endpoint sleeps (on a private server over its data) can log in: the kept
    # verifiers follow the change.
    w.postgres.create_role(parent="projects/proxy/branches/production", role_id="late-role",
                           role=Role(spec=RoleRoleSpec(postgres_role="late"))).wait()
    late = w.postgres.reveal_role_password("projects/proxy/branches/production/roles/late-role").password
    assert state(w) == EndpointStatusState.IDLE
    with psycopg.connect(host="127.0.0.1", port=port, user="late", password=late, dbname="databricks_postgres") as conn:
        assert conn.execute("select current_user").fetchone()[0] == "late"
        assert state(w) == EndpointStatusState.ACTIVE


def test_a_replica_checks_passwords_against_its_primary_without_waking(proxied):
    """A sleeping replica's roles are its primary's, which clients may change meanwhile: a password set on
    the running primary logs in to the replica, a wrong one wakes neither."""
    kiln, w = proxied
    branch = "projects/proxy/branches/production"
    w.postgres.create_endpoint(parent=branch, endpoint_id="reader", endpoint=Endpoint(spec=EndpointSpec(
        endpoint_type=EndpointType.ENDPOINT_TYPE_READ_ONLY, autoscaling_limit_min_cu=0.5, autoscaling_limit_max_cu=0.5))).wait()
    reader = f"{branch}/endpoints/reader"
    reader_port = w.api_client.do("GET", f"/api/2.0/postgres/{reader}")["status"]["hosts"]["port"]
    _, primary_port = endpoint_info(w)
    deadline = time.time() + 30
    while w.postgres.get_endpoint(reader).status.current_state != EndpointStatusState.IDLE:
        assert time.time() < deadline, "the replica did not suspend"
        time.sleep(0.2)
    try:
        with psycopg.connect(host="127.0.0.1", port=primary_port, user="app", password=app_password(w),
                             dbname="databricks_postgres", autocommit=True) as conn:
            conn.execute("alter role app password 'changed-by-a-client'")
            try:
                with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
                    psycopg.connect(host="127.0.0.1", port=reader_port, user="app", password="wrong", dbname="databricks_postgres")
                assert w.postgres.get_endpoint(reader).status.current_state == EndpointStatusState.IDLE
                with psycopg.connect(host="127.0.0.1", port=reader_port, user="app", password="changed-by-a-client",
                                     dbname="databricks_postgres", connect_timeout=30) as replica:
                    assert replica.execute("select pg_is_in_recovery()").fetchone()[0] is True
            finally:
                conn.execute(f"alter role app password '{app_password(w)}'")
    finally:
        w.postgres.delete_endpoint(reader).wait()


def test_a_suspend_during_a_branch_copy_waits_for_it(tmp_path_factory):
    """Creating a branch copies its running parent with pg_basebackup; the parent's idle timer fires in the
    middle of it. The suspend must wait for the copy (the branch's data has one owner at a time), not stop the
    parent under pg_basebackup and fail the branch."""
    from databricks.sdk.service.postgres import Branch, BranchSpec, BranchStatusState
    data_dir = traversable(tmp_path_factory.mktemp("kiln-race"))
    kiln = start_kiln(data_dir, "127.0.0.1", free_port(), None, extra_env={
        "KILN_POSTGRES_PORTS": "56900-56999", "KILN_POSTGRES_SUSPEND_TIMEOUT": "0.5"})
    try:
        w = WorkspaceClient(host=kiln.url, token=kiln.token)
        w.postgres.create_project(project=Project(), project_id="race").wait()
        parent = "projects/race/branches/production"
        w.postgres.create_role(parent=parent, role=Role(spec=RoleRoleSpec(
            postgres_role="app", membership_roles=[RoleMembershipRole.DATABRICKS_SUPERUSER])), role_id="app-role").wait()
        password = w.postgres.reveal_role_password(f"{parent}/roles/app-role").password

        def port(endpoint):
            return w.api_client.do("GET", f"/api/2.0/postgres/{endpoint}")["status"]["hosts"]["port"]

        rows = 120_000
        for attempt in range(2):
            with psycopg.connect(host="127.0.0.1", port=port(f"{parent}/endpoints/primary"), user="app", password=password,
                                 dbname="databricks_postgres", autocommit=True) as conn:
                if attempt == 0:
                    conn.execute(f"create table big as select g, repeat('x', 1000) as pad from generate_series(1, {rows}) g")
            # The parent suspends 0.5 s after this disconnect, while its 130 MB are being copied.
            branch = w.postgres.create_branch(parent="projects/race", branch_id=f"copy-{attempt}", branch=Branch(
                spec=BranchSpec(source_branch=parent, no_expiry=True))).wait()
            assert branch.status.current_state == BranchStatusState.READY
            with psycopg.connect(host="127.0.0.1", port=port(f"projects/race/branches/copy-{attempt}/endpoints/primary"), user="app", password=password,
                                 dbname="databricks_postgres", connect_timeout=30) as conn:
                assert conn.execute("select count(*) from big").fetchone()[0] == rows
    finally:
        kiln.stop()


def test_the_endpoint_host_alone_connects_with_verify_full(proxied):
    """`status.hosts.host` as the SDK returns it is the endpoint's own address: with Kiln's CA, `verify-full`
    checks that very address; the port is the proxy's shared one (5432 when Kiln runs with its defaults)."""
    kiln, w = proxied
    host = w.postgres.get_endpoint(ENDPOINT).status.hosts.host
    assert host.startswith("127.") and host != "127.0.0.1"
    token = w.postgres.generate_database_credential(endpoint=ENDPOINT).token
    me = w.current_user.me().user_name
    ca = str(kiln.data_dir / "postgres-tls" / "ca.pem")
    with psycopg.connect(host=host, port=kiln.proxy_port, user=me, password=token, dbname="databricks_postgres",
                         sslmode="verify-full", sslrootcert=ca) as conn:
        assert conn.execute("select current_user").fetchone()[0] == me
    result = subprocess.run(
        ["psql", f"host={host} port={kiln.proxy_port} user=app dbname=databricks_postgres sslmode=verify-full sslrootcert={ca}",
         "-tAc", "select 1"],
        env={"PGPASSWORD": app_password(w), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == "1", result.stderr


def test_every_endpoint_has_a_host_of_its_own_that_goes_with_it(proxied):
    kiln, w = proxied
    w.postgres.create_project(project=Project(), project_id="other").wait()
    other = "projects/other/branches/production/endpoints/primary"
    mine, theirs = (w.postgres.get_endpoint(name).status.hosts.host for name in (ENDPOINT, other))
    assert mine != theirs
    token = w.postgres.generate_database_credential(endpoint=other).token
    me = w.current_user.me().user_name
    with psycopg.connect(host=theirs, port=kiln.proxy_port, user=me, password=token, dbname="databricks_postgres",
                         sslmode="require") as conn:
        assert conn.execute("select current_user").fetchone()[0] == me
    # The other project's credential is not good on this endpoint's host.
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(host=mine, port=kiln.proxy_port, user=me, password=token, dbname="databricks_postgres", sslmode="require")
    w.postgres.delete_project("projects/other").wait()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(host=theirs, port=kiln.proxy_port, user=me, password=token, dbname="databricks_postgres",
                        sslmode="require", connect_timeout=5)


def test_a_port_held_on_all_addresses_falls_back_to_the_proxy_address(tmp_path):
    """A PostgreSQL of the machine listening on all addresses at the shared port leaves no room for endpoint
    addresses: Kiln says so at start-up and endpoints report the proxy's address with their own port."""
    holder = socket.socket()
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    holder.bind(("0.0.0.0", 0))
    holder.listen()
    taken = holder.getsockname()[1]
    kiln = start_kiln(traversable(tmp_path), "127.0.0.1", free_port(), None, extra_env={
        "KILN_POSTGRES_PROXY_PORT": str(taken), "KILN_POSTGRES_PORTS": "56700-56709", "KILN_LOG_LEVEL": "warning"})
    try:
        assert any("Endpoints get no address of their own" in line for line in kiln.output), "".join(kiln.output)
        w = WorkspaceClient(host=kiln.url, token=kiln.token)
        w.postgres.create_project(project=Project(), project_id="fallback").wait()
        endpoint = "projects/fallback/branches/production/endpoints/primary"
        assert w.postgres.get_endpoint(endpoint).status.hosts.host == "127.0.0.1"
        port = w.api_client.do("GET", f"/api/2.0/postgres/{endpoint}")["status"]["hosts"]["port"]
        token = w.postgres.generate_database_credential(endpoint=endpoint).token
        me = w.current_user.me().user_name
        with psycopg.connect(host="127.0.0.1", port=port, user=me, password=token, dbname="databricks_postgres",
                             sslmode="require") as conn:
            assert conn.execute("select 1").fetchone()[0] == 1
    finally:
        kiln.stop()
        holder.close()


def wait_idle(w, endpoint=ENDPOINT):
    deadline = time.time() + 20
    while w.postgres.get_endpoint(endpoint).status.current_state != EndpointStatusState.IDLE:
        assert time.time() < deadline, f"{endpoint} did not suspend"
        time.sleep(0.2)


def test_the_pooled_host_pools_password_roles_in_transaction_mode_and_wakes_the_compute(proxied):
    """`read_write_pooled_host` is served by a PgBouncer of the endpoint (transaction mode): twenty clients
    that take turns share a backend or two, where direct clients have one each."""
    kiln, w = proxied
    hosts = w.postgres.get_endpoint(ENDPOINT).status.hosts
    pooled = hosts.read_write_pooled_host
    assert pooled and pooled != hosts.host and hosts.read_only_pooled_host is None
    ca = str(kiln.data_dir / "postgres-tls" / "ca.pem")
    password = app_password(w)
    wait_idle(w)   # a suspended compute wakes for a pooled client too

    def clients(host):
        return [psycopg.connect(host=host, port=kiln.proxy_port, user="app", password=password, dbname="databricks_postgres",
                                sslmode="verify-full", sslrootcert=ca, autocommit=True) for _ in range(20)]

    pooled_clients = clients(pooled)
    try:
        assert pooled_clients[0].execute("select current_user").fetchone()[0] == "app"
        backends = {conn.execute("select pg_backend_pid()").fetchone()[0] for conn in pooled_clients}
        assert len(backends) <= 2, backends
    finally:
        for conn in pooled_clients:
            conn.close()
    direct_clients = clients(hosts.host)
    try:
        assert len({conn.execute("select pg_backend_pid()").fetchone()[0] for conn in direct_clients}) == 20
    finally:
        for conn in direct_clients:
            conn.close()
    # The pooler stops with its compute when it suspends, and starts again with the next pooled client.
    _, port = endpoint_info(w)
    assert poolers(port)
    wait_idle(w)
    wait_for(lambda: not poolers(port), "the pooler to stop with its compute")

    result = subprocess.run(
        ["psql", f"host={pooled} port={kiln.proxy_port} user=app dbname=databricks_postgres sslmode=require", "-tAc", "select 41 + 1"],
        env={"PGPASSWORD": password, "PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == "42", result.stderr


def proxy_connections(kiln):
    import urllib.request
    return metric(urllib.request.urlopen(f"{kiln.url}/metrics").read().decode(), "kiln_proxy_connections_total")


def test_the_pooled_host_refuses_what_lakebases_pooler_does(proxied):
    """Kiln refuses for the pooler while the compute is suspended (no wake for a login that cannot work);
    once the pooler accepts on the pooled host itself, PgBouncer refuses the same logins."""
    kiln, w = proxied
    pooled = w.postgres.get_endpoint(ENDPOINT).status.hosts.read_write_pooled_host
    token = w.postgres.generate_database_credential(endpoint=ENDPOINT).token
    me = w.current_user.me().user_name

    def refusal(**login):
        with pytest.raises(psycopg.OperationalError) as refused:
            psycopg.connect(host=pooled, port=kiln.proxy_port, sslmode="require", connect_timeout=10, **login)
        return str(refused.value)

    oauth = dict(user=me, password=token, dbname="databricks_postgres")
    console = dict(user="app", password=app_password(w), dbname="pgbouncer")
    console_user = dict(user="pgbouncer", password="whatever")   # no database means the user's name
    wrong = dict(user="app", password="wrong", dbname="databricks_postgres")
    kiln_system = dict(user="kiln_system", password="whatever", dbname="postgres")
    wait_idle(w)
    assert "does not accept OAuth" in refusal(**oauth)
    assert 'database "pgbouncer" does not exist' in refusal(**console)
    assert 'database "pgbouncer" does not exist' in refusal(**console_user)
    assert "password authentication failed" in refusal(**wrong)
    assert "password authentication failed" in refusal(**kiln_system)
    assert w.postgres.get_endpoint(ENDPOINT).status.current_state == EndpointStatusState.IDLE   # nothing woke

    with psycopg.connect(host=pooled, port=kiln.proxy_port, user="app", password=app_password(w), dbname="databricks_postgres",
                         sslmode="require") as conn:
        assert conn.execute("select 1").fetchone()[0] == 1
    accepted = proxy_connections(kiln)
    assert "SASL authentication failed" in refusal(**oauth)
    assert "login rejected" in refusal(**console)
    assert "not allowed" in refusal(**console_user)
    assert "SASL authentication failed" in refusal(**wrong)
    assert "login rejected" in refusal(**kiln_system)
    assert proxy_connections(kiln) == accepted   # PgBouncer answered every one
    # The same credential is good on the direct host, and the pooler keeps serving password roles.
    with psycopg.connect(host=w.postgres.get_endpoint(ENDPOINT).status.hosts.host, port=kiln.proxy_port, user=me, password=token,
                         dbname="databricks_postgres", sslmode="require") as conn:
        assert conn.execute("select 1").fetchone()[0] == 1
    with psycopg.connect(host=pooled, port=kiln.proxy_port, user="app", password=app_password(w), dbname="databricks_postgres",
                         sslmode="require") as conn:
        assert conn.execute("select 1").fetchone()[0] == 1


def test_the_pooler_accepts_on_the_pooled_host_itself_and_hands_it_back_at_suspend(proxied):
    """The first pooled client (which wakes the compute) goes through Kiln; from then on PgBouncer accepts the
    pooled host's clients itself, with TLS and the host's certificate, and its clients keep the compute awake.
    When the compute suspends, Kiln accepts there again and the next client wakes it."""
    kiln, w = proxied
    pooled = w.postgres.get_endpoint(ENDPOINT).status.hosts.read_write_pooled_host
    ca = str(kiln.data_dir / "postgres-tls" / "ca.pem")
    password = app_password(w)

    def connect():
        return psycopg.connect(host=pooled, port=kiln.proxy_port, user="app", password=password, dbname="databricks_postgres",
                               sslmode="verify-full", sslrootcert=ca, autocommit=True)

    wait_idle(w)
    before = proxy_connections(kiln)
    with connect() as first:
        assert first.execute("select 1").fetchone()[0] == 1
    assert proxy_connections(kiln) == before + 1
    held = [connect() for _ in range(5)]
    try:
        assert proxy_connections(kiln) == before + 1   # PgBouncer took them
        assert all(conn.pgconn.ssl_in_use for conn in held)
        time.sleep(SUSPEND_SECONDS + 3)   # longer than the idle timeout: its clients keep it up
        assert w.postgres.get_endpoint(ENDPOINT).status.current_state == EndpointStatusState.ACTIVE
        assert held[0].execute("select 2").fetchone()[0] == 2
    finally:
        for conn in held:
            conn.close()
    # Clients that come and go between two of Kiln's looks at the host (each far shorter than a second)
    # keep it up too: their work shows in pg_stat_activity.
    deadline = time.time() + SUSPEND_SECONDS + 3
    while time.time() < deadline:
        with connect() as brief:
            brief.execute("select 1")
        time.sleep(0.4)
    assert w.postgres.get_endpoint(ENDPOINT).status.current_state == EndpointStatusState.ACTIVE
    assert proxy_connections(kiln) == before + 1
    wait_idle(w)
    with connect() as woken:
        assert woken.execute("select 3").fetchone()[0] == 3
    assert proxy_connections(kiln) == before + 2


def test_a_replica_has_a_read_only_pooled_host(proxied):
    kiln, w = proxied
    branch = "projects/proxy/branches/production"
    reader = w.postgres.create_endpoint(parent=branch, endpoint_id="pooled-reader", endpoint=Endpoint(spec=EndpointSpec(
        endpoint_type=EndpointType.ENDPOINT_TYPE_READ_ONLY))).wait()
    hosts = reader.status.hosts
    assert hosts.read_only_pooled_host and hosts.read_write_pooled_host is None
    assert hosts.read_only_pooled_host not in (hosts.host, w.postgres.get_endpoint(ENDPOINT).status.hosts.read_write_pooled_host)
    try:
        with psycopg.connect(host=hosts.read_only_pooled_host, port=kiln.proxy_port, user="app", password=app_password(w),
                             dbname="databricks_postgres", sslmode="require", autocommit=True) as conn:
            assert conn.execute("select pg_is_in_recovery()").fetchone()[0] is True
    finally:
        w.postgres.delete_endpoint(reader.name).wait()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(host=hosts.read_only_pooled_host, port=kiln.proxy_port, user="app", password=app_password(w),
                        dbname="databricks_postgres", sslmode="require", connect_timeout=5)


def test_the_read_only_host_takes_clients_to_the_branchs_replicas_in_turn(proxied):
    """A read-write endpoint whose branch has read replicas reports `read_only_host`: clients there reach
    each replica in turn (each answers with its own port), never the primary."""
    kiln, w = proxied
    branch = "projects/proxy/branches/production"
    assert w.postgres.get_endpoint(ENDPOINT).status.hosts.read_only_host is None
    readers = [w.postgres.create_endpoint(parent=branch, endpoint_id=f"balanced-{n}", endpoint=Endpoint(spec=EndpointSpec(
        endpoint_type=EndpointType.ENDPOINT_TYPE_READ_ONLY))).wait() for n in (1, 2)]
    try:
        hosts = w.postgres.get_endpoint(ENDPOINT).status.hosts
        assert hosts.read_only_host and hosts.read_only_host not in (hosts.host, hosts.read_write_pooled_host)
        assert hosts.read_only_host not in [r.status.hosts.host for r in readers]
        ports = set()
        for _ in range(4):
            with psycopg.connect(host=hosts.read_only_host, port=kiln.proxy_port, user="app", password=app_password(w),
                                 dbname="databricks_postgres", sslmode="require") as conn:
                assert conn.execute("select pg_is_in_recovery()").fetchone()[0] is True
                ports.add(int(conn.execute("show port").fetchone()[0]))
        assert ports == {endpoint_port(w, r.name) for r in readers}
        ca = str(kiln.data_dir / "postgres-tls" / "ca.pem")
        result = subprocess.run(
            ["psql", f"host={hosts.read_only_host} port={kiln.proxy_port} user=app dbname=databricks_postgres sslmode=verify-full "
             f"sslrootcert={ca}", "-tAc", "select pg_is_in_recovery()"],
            env={"PGPASSWORD": app_password(w), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0 and result.stdout.strip() == "t", result.stderr
        # A credential for the read-write endpoint is good on its read-only host.
        token = w.postgres.generate_database_credential(endpoint=ENDPOINT).token
        me = w.current_user.me().user_name
        with psycopg.connect(host=hosts.read_only_host, port=kiln.proxy_port, user=me, password=token,
                             dbname="databricks_postgres", sslmode="require") as conn:
            assert conn.execute("select pg_is_in_recovery()").fetchone()[0] is True
    finally:
        for reader in readers:
            w.postgres.delete_endpoint(reader.name).wait()
    assert w.postgres.get_endpoint(ENDPOINT).status.hosts.read_only_host is None
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(host=hosts.read_only_host, port=kiln.proxy_port, user="app", password=app_password(w),
                        dbname="databricks_postgres", sslmode="require", connect_timeout=5)


def endpoint_port(w, name):
    return w.api_client.do("GET", f"/api/2.0/postgres/{name}")["status"]["hosts"]["port"]


def poolers(port):
    """The PgBouncer processes Kiln runs for the endpoint on `port`."""
    return subprocess.run(["pgrep", "-f", f"pooler-{port}/pgbouncer.ini"], capture_output=True, text=True).stdout.split()


def wait_for(check, what, timeout=20):
    deadline = time.time() + timeout
    while not check():
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@pytest.mark.parametrize("stop", ["SIGKILL", "SIGTERM"])
def test_a_stopped_or_killed_kiln_leaves_no_pooler_behind(tmp_path_factory, stop):
    """Killed, Kiln's pooler dies with it (its parent-death signal); stopped, Kiln stops it in its turn and
    exits promptly even while the pooler holds the pooled host and a client."""
    import os, signal
    data_dir = traversable(tmp_path_factory.mktemp("kiln-pooler-stop"))
    kiln = start_kiln(data_dir, "127.0.0.1", free_port(), None, extra_env={"KILN_POSTGRES_PORTS": "56700-56749"})
    try:
        w = WorkspaceClient(host=kiln.url, token=kiln.token)
        w.postgres.create_project(project=Project(), project_id="stopped").wait()
        branch = "projects/stopped/branches/production"
        w.postgres.create_role(parent=branch, role=Role(spec=RoleRoleSpec(postgres_role="app")), role_id="app-role").wait()
        password = w.postgres.reveal_role_password(f"{branch}/roles/app-role").password
        endpoint = w.postgres.get_endpoint(f"{branch}/endpoints/primary")
        pooled = [psycopg.connect(host=endpoint.status.hosts.read_write_pooled_host, port=kiln.proxy_port, user="app", password=password,
                                  dbname="databricks_postgres", sslmode="require") for _ in range(2)]   # the second one PgBouncer's
        assert all(conn.execute("select 1").fetchone()[0] == 1 for conn in pooled)
        port = w.api_client.do("GET", f"/api/2.0/postgres/{branch}/endpoints/primary")["status"]["hosts"]["port"]
        assert poolers(port)
        os.kill(kiln.process.pid, getattr(signal, stop))
        kiln.process.wait(timeout=10)
        wait_for(lambda: not poolers(port), "the pooler to end with Kiln")
    finally:
        kiln.stop()
