"""Branching as data (issue #16): a branch holds exactly what its parent had committed when it was made, from a
parent under write load and from a stopped one. scripts/test runs this file on the fallback (full copies) and
again on Kiln's copy-on-write volume (KILN_TEST_STORAGE_VOLUME=xfs)."""
import calendar
import json
import os
import signal
import threading
import time
import urllib.request
from datetime import timedelta

import psycopg
import pytest
from databricks.sdk.errors import InvalidParameterValue, NotFound
from google.protobuf.timestamp_pb2 import Timestamp
from databricks.sdk.common.types.fieldmask import FieldMask
from databricks.sdk.service.postgres import (
    Branch, BranchSpec, BranchStatusState, Endpoint, EndpointSpec, EndpointType, Project,
    ProjectDefaultEndpointSettings, ProjectSpec,
)

from conftest import fresh_database, free_port, start_kiln, traversable
from databricks.sdk import WorkspaceClient
from test_lakebase import app_role, connect, data_directories

PROD = "projects/ledger/branches/production"


@pytest.fixture(scope="module")
def ledger(w):
    # Its computes keep each commit's time, which a test reads back (pg_xact_commit_timestamp).
    settings = ProjectDefaultEndpointSettings(pg_settings={"track_commit_timestamp": "on"})
    w.postgres.create_project(project=Project(spec=ProjectSpec(pg_version=17, default_endpoint_settings=settings)),
                              project_id="ledger").wait()
    user, password = app_role(w, PROD, "clerk", "clerk")
    with connect(w, f"{PROD}/endpoints/primary", user, password) as conn:
        conn.execute("create table entries(n int primary key, pad text)")
        conn.execute("create table counter(n int)")
        conn.execute("insert into counter values (0)")
    yield user, password
    w.postgres.delete_project("projects/ledger", purge=True).wait()


def branch_from(w, branch_id, source=PROD, **point):
    return w.postgres.create_branch(parent=source.split("/branches/")[0], branch=Branch(spec=BranchSpec(
        source_branch=source, no_expiry=True, **point)), branch_id=branch_id).wait()


def timestamp(seconds):
    value = Timestamp()
    value.FromNanoseconds(int(seconds * 1e9))
    return value


def wait_for_history(w, source, timeout=60):
    """A branch's history begins with its first base image, which Kiln takes within seconds of its creation:
    until then a branch from a moment of it is refused as older than its history."""
    deadline = time.time() + timeout
    while True:
        try:
            branch_from(w, "history-probe", source, source_branch_time=timestamp(time.time()))
            w.postgres.delete_branch(source.split("/branches/")[0] + "/branches/history-probe", purge=True).wait()
            return
        except Exception as error:   # the operation fails (OperationFailed) while there is no base yet
            assert "older than the source branch's history" in str(error), error
            assert time.time() < deadline, "the branch's history did not begin"
            time.sleep(0.5)


def commit_marked(conn, n):
    """Commits entry n and returns (the time just after the commit, the WAL position after it)."""
    conn.execute("insert into entries values (%s, 'marker')", (n,))
    lsn = conn.execute("select pg_current_wal_lsn()::text").fetchone()[0]
    moment = time.time()
    time.sleep(0.3)
    return moment, lsn


def markers(w, branch, user, password):
    with connect(w, f"projects/ledger/branches/{branch}/endpoints/primary", user, password) as conn:
        return [r[0] for r in conn.execute("select n from entries where pad = 'marker' order by n")]


def test_a_branch_of_a_parent_under_writes_holds_a_committed_prefix(w, ledger):
    """Each transaction adds entry n and sets counter to n; a branch made meanwhile must hold entries 1..counter,
    with nothing torn: the clone of a running parent is a consistent backup, not a file copy."""
    user, password = ledger
    stop = threading.Event()
    written = []

    def writer():
        with connect(w, f"{PROD}/endpoints/primary", user, password) as conn:
            n = conn.execute("select n from counter").fetchone()[0]
            while not stop.is_set():
                n += 1
                with conn.transaction():
                    conn.execute("insert into entries values (%s, repeat('x', 2000))", (n,))
                    conn.execute("update counter set n = %s", (n,))
                written.append(n)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while len(written) < 200:
            time.sleep(0.01)
        committed_before = written[-1]
        branch = branch_from(w, "busy-copy")
    finally:
        stop.set()
        thread.join()
    assert branch.status.current_state == BranchStatusState.READY
    assert branch.status.source_branch_lsn and "/" in branch.status.source_branch_lsn   # where the copy ended
    with connect(w, "projects/ledger/branches/busy-copy/endpoints/primary", user, password) as conn:
        counter = conn.execute("select n from counter").fetchone()[0]
        entries = [r[0] for r in conn.execute("select n from entries order by n")]
        assert conn.execute("select count(*) from entries where length(pad) <> 2000").fetchone()[0] == 0
    assert committed_before <= counter <= written[-1]
    assert entries == list(range(1, counter + 1))
    with connect(w, f"{PROD}/endpoints/primary", user, password) as conn:   # the parent went on past the branch
        assert conn.execute("select n from counter").fetchone()[0] == written[-1]
    w.postgres.delete_branch("projects/ledger/branches/busy-copy", purge=True).wait()


def test_a_branch_of_a_stopped_parent_holds_its_data(w, ledger, kiln):
    user, password = ledger
    with connect(w, f"{PROD}/endpoints/primary", user, password) as conn:
        conn.execute("insert into entries values (-1, 'before the stop')")
    primary = f"{PROD}/endpoints/primary"
    rw = EndpointType.ENDPOINT_TYPE_READ_WRITE
    w.postgres.update_endpoint(primary, Endpoint(spec=EndpointSpec(endpoint_type=rw, disabled=True)),
                               FieldMask(["spec.disabled"])).wait()
    try:
        branch_from(w, "from-stopped")
    finally:
        w.postgres.update_endpoint(primary, Endpoint(spec=EndpointSpec(endpoint_type=rw, disabled=False)),
                                   FieldMask(["spec.disabled"])).wait()
    with connect(w, "projects/ledger/branches/from-stopped/endpoints/primary", user, password) as conn:
        assert conn.execute("select pad from entries where n = -1").fetchone()[0] == "before the stop"
        conn.execute("insert into entries values (-2, 'only here')")
    with connect(w, f"{PROD}/endpoints/primary", user, password) as conn:
        assert conn.execute("select count(*) from entries where n = -2").fetchone()[0] == 0
    w.postgres.delete_branch("projects/ledger/branches/from-stopped", purge=True).wait()
    with pytest.raises(NotFound):
        w.postgres.get_branch("projects/ledger/branches/from-stopped")
    assert not [d for d in data_directories(kiln) if d.endswith(".partial/PG_VERSION")]


def test_branches_from_a_moment_or_an_lsn_hold_exactly_what_was_committed_by_then(w, ledger):
    user, password = ledger
    wait_for_history(w, PROD)
    with connect(w, f"{PROD}/endpoints/primary", user, password) as conn:
        (t1, lsn1), (t2, lsn2), (t3, lsn3) = (commit_marked(conn, n) for n in (10000001, 10000002, 10000003))
    at_time = branch_from(w, "as-of-t2", source_branch_time=timestamp(t2 + 0.1))
    at_lsn = branch_from(w, "as-of-lsn1", source_branch_lsn=lsn1)
    assert markers(w, "as-of-t2", user, password) == [10000001, 10000002]
    assert markers(w, "as-of-lsn1", user, password) == [10000001]
    assert at_time.status.source_branch == PROD and at_time.status.source_branch_time.seconds == int(t2 + 0.1)
    assert at_time.status.source_branch_lsn and at_lsn.status.source_branch_lsn
    assert markers(w, "production", user, password) == [10000001, 10000002, 10000003]   # the parent is untouched

    # From a source whose compute is stopped: Kiln recovers it beside a maintenance server of the source.
    primary = f"{PROD}/endpoints/primary"
    rw = EndpointType.ENDPOINT_TYPE_READ_WRITE
    w.postgres.update_endpoint(primary, Endpoint(spec=EndpointSpec(endpoint_type=rw, disabled=True)),
                               FieldMask(["spec.disabled"])).wait()
    try:
        branch_from(w, "as-of-t3", source_branch_time=timestamp(t3 + 0.1))
    finally:
        w.postgres.update_endpoint(primary, Endpoint(spec=EndpointSpec(endpoint_type=rw, disabled=False)),
                                   FieldMask(["spec.disabled"])).wait()
    assert markers(w, "as-of-t3", user, password) == [10000001, 10000002, 10000003]
    w.postgres.delete_branch("projects/ledger/branches/as-of-t3", purge=True).wait()

    # A branch of that branch, from a moment of its own past: it has its own history from its creation on.
    wait_for_history(w, "projects/ledger/branches/as-of-t2")
    with connect(w, "projects/ledger/branches/as-of-t2/endpoints/primary", user, password) as conn:
        (u1, _), (u2, _) = (commit_marked(conn, n) for n in (20000001, 20000002))
    branch_from(w, "as-of-u1", "projects/ledger/branches/as-of-t2", source_branch_time=timestamp(u1 + 0.1))
    assert markers(w, "as-of-u1", user, password) == [10000001, 10000002, 20000001]
    for branch in ("as-of-u1", "as-of-t2", "as-of-lsn1"):
        w.postgres.delete_branch(f"projects/ledger/branches/{branch}", purge=True).wait()


def test_a_branch_from_the_microsecond_of_a_commit_holds_it_and_one_from_the_microsecond_before_does_not(w, ledger):
    """PostgreSQL stamps each commit to the microsecond, and a point in time is compared with those stamps: a
    point cut to the millisecond would leave out a commit made earlier in that millisecond."""
    user, password = ledger
    wait_for_history(w, PROD)
    with connect(w, f"{PROD}/endpoints/primary", user, password) as conn:
        conn.execute("insert into entries values (10000011, 'stamped')")
        committed = conn.execute("select pg_xact_commit_timestamp(xmin) from entries where n = 10000011").fetchone()[0]

    def exactly(moment):
        return Timestamp(seconds=calendar.timegm(moment.utctimetuple()), nanos=moment.microsecond * 1000)

    def stamped(branch):
        with connect(w, f"projects/ledger/branches/{branch}/endpoints/primary", user, password) as conn:
            return conn.execute("select count(*) from entries where n = 10000011").fetchone()[0]

    at_commit = branch_from(w, "at-the-commit", source_branch_time=exactly(committed))
    branch_from(w, "just-before-it", source_branch_time=exactly(committed - timedelta(microseconds=1)))
    assert (stamped("at-the-commit"), stamped("just-before-it")) == (1, 0)
    assert at_commit.status.source_branch_time == exactly(committed)
    for branch in ("at-the-commit", "just-before-it"):
        w.postgres.delete_branch(f"projects/ledger/branches/{branch}", purge=True).wait()


def test_points_outside_the_history_are_refused_and_nothing_is_made(w, ledger):
    now = time.time()
    cases = [
        ({"source_branch_time": "2026-13-45T99:00:00Z"}, "RFC 3339"),
        ({"source_branch_time": "yesterday"}, "RFC 3339"),
        ({"source_branch_time": timestamp(now + 3600).ToJsonString()}, "in the future"),
        ({"source_branch_time": timestamp(now - 30 * 86400).ToJsonString()}, "restore window"),
        ({"source_branch_time": timestamp(now - 86400).ToJsonString()}, "before the source branch"),
        ({"source_branch_lsn": "16-B374D848"}, "log sequence number"),
        ({"source_branch_lsn": "0/1", "source_branch_time": timestamp(now).ToJsonString()}, "mutually exclusive"),
    ]
    for point, message in cases:
        with pytest.raises(InvalidParameterValue, match=message):
            w.api_client.do("POST", "/api/2.0/postgres/projects/ledger/branches", query={"branch_id": "nowhere"},
                            body={"spec": {"source_branch": PROD, **point}})
    with pytest.raises(Exception, match="ahead of the source branch's WAL"):
        branch_from(w, "nowhere", source_branch_lsn="FF/0")
    with pytest.raises(NotFound):
        w.postgres.get_branch("projects/ledger/branches/nowhere")


def test_kiln_killed_mid_clone_or_mid_recovery_leaves_no_half_made_branch(tmp_path, database_url):
    """kill -9 while a branch's data is being copied, and while a branch from the past is being recovered: after
    a restart the operation finishes, the branch holds what it should, and nothing partial is left behind."""
    data = traversable(tmp_path)
    url = fresh_database(database_url, "kiln_branch_kills")
    port = free_port()
    started = []

    def start():
        started.append(start_kiln(data, "127.0.0.1", port, url, extra_env={"KILN_POSTGRES_PORTS": "56500-56599"}))
        return WorkspaceClient(host=started[-1].url, token=started[-1].token, auth_type="pat")

    def partials():
        """Partial branch copies and recovery logs (not the history's: its base images and archived segments)."""
        return [str(p) for p in data.rglob("*.partial*") if ".history/" not in str(p)]

    def partial_in_project(suffix):
        """Whether a partial branch copy (or recovery log) is in the project's folder: one directory read, so it
        is checked often enough to catch a copy that lasts a fraction of a second."""
        project = next(data.rglob(w.postgres.get_project("projects/durable").uid))
        return lambda: any(name.endswith(suffix) for name in os.listdir(project))

    def kill_when(seen, request):
        """Sends `request` (which blocks until Kiln answers) on a thread, and kills Kiln once `seen()` holds."""
        failures = []
        thread = threading.Thread(target=lambda: _swallow(request, failures), daemon=True)
        thread.start()
        deadline = time.time() + 60
        while not seen() and time.time() < deadline:   # the operation goes on after Kiln answers the request
            time.sleep(0.002)
        assert seen(), f"the work to interrupt was not seen under way (the request: {failures or 'answered'})"
        started[-1].process.send_signal(signal.SIGKILL)
        started[-1].process.wait()
        thread.join(timeout=10)

    def connect_when_ready(w, branch_id):
        """The operation the killed Kiln left is finished by the next: waits for the branch to be READY and its
        compute to take connections."""
        deadline = time.time() + 120
        while True:
            try:
                if w.postgres.get_branch(f"projects/durable/branches/{branch_id}").status.current_state == BranchStatusState.READY:
                    return connect(w, f"projects/durable/branches/{branch_id}/endpoints/primary", user, password)
            except (NotFound, psycopg.OperationalError):
                pass
            assert time.time() < deadline, (f"{branch_id} did not become READY after the restart; Kiln said:\n"
                                            + "".join(started[-1].output[-40:]))
            time.sleep(0.2)

    try:
        w = start()
        w.postgres.create_project(project=Project(), project_id="durable").wait()
        prod = "projects/durable/branches/production"
        user, password = app_role(w, prod, "keeper", "keeper")
        with connect(w, f"{prod}/endpoints/primary", user, password) as conn:
            conn.execute("create table big as select g as n, repeat('x', 500) as pad from generate_series(1, 400000) g")
        def create(branch_id, **spec):
            """One POST, without the SDK's retries (which would wait minutes for the killed Kiln)."""
            kiln = started[-1]
            request = urllib.request.Request(
                f"{kiln.url}/api/2.0/postgres/projects/durable/branches?branch_id={branch_id}", method="POST",
                data=json.dumps({"spec": {"source_branch": prod, "no_expiry": True, **spec}}).encode(),
                headers={"Authorization": f"Bearer {kiln.token}", "Content-Type": "application/json"})
            urllib.request.urlopen(request, timeout=30).read()

        kill_when(partial_in_project(".partial"), lambda: create("mid-clone"))
        w = start()
        with connect_when_ready(w, "mid-clone") as conn:
            assert conn.execute("select count(*) from big").fetchone()[0] == 400000

        wait_for_history(w, prod)
        with connect(w, f"{prod}/endpoints/primary", user, password) as conn:
            conn.execute("delete from big where n > 1000")
            moment = time.time()
            time.sleep(0.3)
            conn.execute("delete from big")
        kill_when(partial_in_project(".partial.log"),
                  lambda: create("mid-recovery", source_branch_time=timestamp(moment).ToJsonString()))
        w = start()
        with connect_when_ready(w, "mid-recovery") as conn:
            assert conn.execute("select count(*) from big").fetchone()[0] == 1000

        deadline = time.time() + 30
        while partials() and time.time() < deadline:
            time.sleep(0.2)
        assert partials() == []
    finally:
        for kiln in started:
            kiln.stop()


def _swallow(request, failures):
    try:
        request()
    except Exception as error:   # the connection dies with the killed Kiln
        failures.append(error)
