"""Branching as data (issue #16): a branch holds exactly what its parent had committed when it was made, from a
parent under write load and from a stopped one. scripts/test runs this file on the fallback (full copies) and
again on Kiln's copy-on-write volume (KILN_TEST_STORAGE_VOLUME=xfs)."""
import threading
import time

import psycopg
import pytest
from databricks.sdk.errors import NotFound
from databricks.sdk.common.types.fieldmask import FieldMask
from databricks.sdk.service.postgres import (
    Branch, BranchSpec, BranchStatusState, Endpoint, EndpointSpec, EndpointType, Project, ProjectSpec,
)

from test_lakebase import app_role, connect, data_directories

PROD = "projects/ledger/branches/production"


@pytest.fixture(scope="module")
def ledger(w):
    w.postgres.create_project(project=Project(spec=ProjectSpec(pg_version=17)), project_id="ledger").wait()
    user, password = app_role(w, PROD, "clerk", "clerk")
    with connect(w, f"{PROD}/endpoints/primary", user, password) as conn:
        conn.execute("create table entries(n int primary key, pad text)")
        conn.execute("create table counter(n int)")
        conn.execute("insert into counter values (0)")
    yield user, password
    w.postgres.delete_project("projects/ledger", purge=True).wait()


def branch_from(w, branch_id, source=PROD):
    return w.postgres.create_branch(parent="projects/ledger", branch=Branch(spec=BranchSpec(
        source_branch=source, no_expiry=True)), branch_id=branch_id).wait()


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
