"""Snapshots and snapshot schedules (issue #16, SDK 0.162.0): a snapshot holds exactly what its root branch had
committed when it was taken (or at the moment it names), a branch restored from it holds that, and it outlives
the data it was taken of. scripts/test runs this file on the fallback and again on Kiln's copy-on-write volume."""
import time

import pytest
from databricks.sdk.common.types.fieldmask import FieldMask
from databricks.sdk.errors import InvalidParameterValue, NotFound
from databricks.sdk.service.postgres import (
    Branch, BranchSpec, DailySchedule, DayOfWeek, Project, ProjectSpec, ScheduleCadence, Snapshot, SnapshotSchedule,
    SnapshotSpec, WeeklySchedule,
)
from google.protobuf.duration_pb2 import Duration

from test_lakebase import app_role, connect, data_directories
from test_lakebase_branching import timestamp, wait_for_history

PROJECT = "projects/vault"
PROD = f"{PROJECT}/branches/production"


@pytest.fixture(scope="module")
def vault(w):
    w.postgres.create_project(project=Project(spec=ProjectSpec(pg_version=17)), project_id="vault").wait()
    user, password = app_role(w, PROD, "keeper", "keeper")
    with connect(w, f"{PROD}/endpoints/primary", user, password) as conn:
        conn.execute("create table items(n int primary key)")
    yield user, password
    w.postgres.delete_project(PROJECT, purge=True).wait()


def data_roots(kiln):
    """The data directories (each once, not its databases' `base/<oid>/PG_VERSION`)."""
    return [d for d in data_directories(kiln) if "/base/" not in d]


def snapshot(w, snapshot_id, **spec):
    return w.postgres.create_snapshot(parent=PROJECT, snapshot=Snapshot(spec=SnapshotSpec(source_branch=PROD, **spec)),
                                      snapshot_id=snapshot_id).wait()


def restore(w, branch_id, snapshot_id):
    return w.postgres.create_branch(parent=PROJECT, branch=Branch(spec=BranchSpec(
        source_snapshot=f"{PROJECT}/snapshots/{snapshot_id}", no_expiry=True)), branch_id=branch_id).wait()


def items(w, branch, user, password):
    with connect(w, f"{PROJECT}/branches/{branch}/endpoints/primary", user, password) as conn:
        return [r[0] for r in conn.execute("select n from items order by n")]


def add(w, user, password, *numbers):
    with connect(w, f"{PROD}/endpoints/primary", user, password) as conn:
        for n in numbers:
            conn.execute("insert into items values (%s)", (n,))


def test_a_branch_restored_from_a_snapshot_holds_what_was_committed_when_it_was_taken(w, vault, kiln):
    user, password = vault
    add(w, user, password, 1, 2)
    before = len(data_roots(kiln))
    taken = snapshot(w, "before-migration", ttl=Duration(seconds=86400))
    add(w, user, password, 3)
    assert taken.name == f"{PROJECT}/snapshots/before-migration" and taken.snapshot_id == "before-migration" and taken.uid
    assert taken.status.source_branch == PROD and taken.status.expire_time.seconds > time.time() + 86000
    assert taken.status.full_size_bytes > 0
    assert len(data_roots(kiln)) == before + 1
    got = w.postgres.get_snapshot(f"{PROJECT}/snapshots/before-migration")
    assert got.uid == taken.uid and got.create_time.seconds == taken.create_time.seconds
    assert [s.snapshot_id for s in w.postgres.list_snapshots(parent=PROJECT)] == ["before-migration"]

    branch = restore(w, "rolled-back", "before-migration")
    assert branch.status.source_snapshot == f"{PROJECT}/snapshots/before-migration"
    assert items(w, "rolled-back", user, password) == [1, 2]
    assert items(w, "production", user, password) == [1, 2, 3]   # the branch it was taken of is untouched
    with connect(w, f"{PROJECT}/branches/rolled-back/endpoints/primary", user, password) as conn:
        conn.execute("insert into items values (-1)")   # the restored branch writes on its own
    assert items(w, "production", user, password) == [1, 2, 3]

    # The snapshot goes with its data; the branch restored from it keeps its own copy.
    w.postgres.delete_snapshot(f"{PROJECT}/snapshots/before-migration").wait()
    with pytest.raises(NotFound):
        w.postgres.get_snapshot(f"{PROJECT}/snapshots/before-migration")
    assert items(w, "rolled-back", user, password) == [-1, 1, 2]
    assert len(data_roots(kiln)) == before + 1
    w.postgres.delete_branch(f"{PROJECT}/branches/rolled-back", purge=True).wait()
    assert len(data_roots(kiln)) == before


def test_a_snapshot_of_a_moment_holds_what_was_committed_by_then(w, vault):
    user, password = vault
    wait_for_history(w, PROD)
    add(w, user, password, 100)
    time.sleep(0.3)
    moment = time.time()
    time.sleep(0.3)
    add(w, user, password, 101)
    past = snapshot(w, "a-moment-ago", source_branch_time=timestamp(moment))
    assert past.status.no_expiry
    as_of_then = restore(w, "as-of-then", "a-moment-ago")
    assert as_of_then.status.source_branch_time.ToMicroseconds() == timestamp(moment).ToMicroseconds()
    assert 100 in items(w, "as-of-then", user, password) and 101 not in items(w, "as-of-then", user, password)
    w.postgres.delete_branch(f"{PROJECT}/branches/as-of-then", purge=True).wait()
    w.postgres.delete_snapshot(f"{PROJECT}/snapshots/a-moment-ago").wait()


def test_snapshots_are_of_root_branches_ten_at_most_and_bad_ones_are_refused(w, vault):
    w.postgres.create_branch(parent=PROJECT, branch=Branch(spec=BranchSpec(source_branch=PROD, no_expiry=True)),
                             branch_id="child").wait()
    with pytest.raises(InvalidParameterValue, match="root branches"):
        w.postgres.create_snapshot(parent=PROJECT, snapshot=Snapshot(spec=SnapshotSpec(source_branch=f"{PROJECT}/branches/child")),
                                   snapshot_id="of-a-child")
    with pytest.raises(NotFound):
        w.postgres.create_snapshot(parent=PROJECT, snapshot=Snapshot(spec=SnapshotSpec(source_branch=f"{PROJECT}/branches/nope")),
                                   snapshot_id="of-nothing")
    with pytest.raises(InvalidParameterValue, match="Only one of ttl, expire_time and no_expiry"):
        w.api_client.do("POST", f"/api/2.0/postgres/{PROJECT}/snapshots", query={"snapshot_id": "bad"},
                        body={"spec": {"source_branch": PROD, "ttl": "60s", "expire_time": "2030-01-01T00:00:00Z"}})
    with pytest.raises(InvalidParameterValue):
        w.api_client.do("POST", f"/api/2.0/postgres/{PROJECT}/snapshots", query={"snapshot_id": "bad"},
                        body={"spec": {"source_branch": PROD, "source_branch_lsn": "not-an-lsn"}})
    with pytest.raises(InvalidParameterValue, match="restore window"):
        w.api_client.do("POST", f"/api/2.0/postgres/{PROJECT}/snapshots", query={"snapshot_id": "bad"},
                        body={"spec": {"source_branch": PROD, "source_branch_time": "2020-01-01T00:00:00Z"}})
    for i in range(10):
        snapshot(w, f"manual-{i}")
    with pytest.raises(Exception, match="manual snapshots per project") as info:
        snapshot(w, "manual-10")
    assert info.value.error_code == "RESOURCE_LIMIT_EXCEEDED"
    with pytest.raises(Exception) as taken:
        snapshot(w, "manual-0")
    assert taken.value.error_code == "ALREADY_EXISTS"
    assert len(list(w.postgres.list_snapshots(parent=PROJECT))) == 10

    # Restoring needs a snapshot of this project, and no other source beside it.
    with pytest.raises(NotFound):
        restore(w, "restored", "missing")
    with pytest.raises(InvalidParameterValue, match="mutually exclusive"):
        w.api_client.do("POST", f"/api/2.0/postgres/{PROJECT}/branches", query={"branch_id": "restored"},
                        body={"spec": {"source_snapshot": f"{PROJECT}/snapshots/manual-0", "source_branch": PROD}})
    with pytest.raises(InvalidParameterValue, match="another project"):
        w.api_client.do("POST", f"/api/2.0/postgres/{PROJECT}/branches", query={"branch_id": "restored"},
                        body={"spec": {"source_snapshot": "projects/elsewhere/snapshots/manual-0"}})
    with pytest.raises(NotFound):
        w.postgres.get_branch(f"{PROJECT}/branches/restored")
    for i in range(10):
        w.postgres.delete_snapshot(f"{PROJECT}/snapshots/manual-{i}").wait()
    w.postgres.delete_branch(f"{PROJECT}/branches/child", purge=True).wait()


def test_a_branch_has_an_empty_snapshot_schedule_until_one_is_set(w, vault):
    name = f"{PROD}/snapshot-schedule"
    empty = w.postgres.get_snapshot_schedule(name)
    assert empty.name == name and not empty.schedule
    cadences = [
        ScheduleCadence(daily_schedule=DailySchedule(hour=3), retention=Duration(seconds=7 * 86400)),
        ScheduleCadence(weekly_schedule=WeeklySchedule(day_of_week=DayOfWeek.SUNDAY, hour=0), retention=Duration(seconds=30 * 86400)),
    ]
    updated = w.postgres.update_snapshot_schedule(name, SnapshotSchedule(name=name, schedule=cadences), FieldMask(["schedule"])).wait()
    assert updated.name == name and len(updated.schedule) == 2
    got = w.postgres.get_snapshot_schedule(name)
    assert [(c.daily_schedule.hour if c.daily_schedule else None, c.weekly_schedule.day_of_week if c.weekly_schedule else None,
             c.retention.seconds) for c in got.schedule] == [(3, None, 7 * 86400), (None, DayOfWeek.SUNDAY, 30 * 86400)]

    with pytest.raises(InvalidParameterValue, match="at least 1 hour"):
        w.postgres.update_snapshot_schedule(name, SnapshotSchedule(name=name, schedule=[
            ScheduleCadence(daily_schedule=DailySchedule(hour=1), retention=Duration(seconds=60))]), FieldMask(["schedule"]))
    with pytest.raises(InvalidParameterValue, match="exactly one"):
        w.postgres.update_snapshot_schedule(name, SnapshotSchedule(name=name, schedule=[
            ScheduleCadence(retention=Duration(seconds=3600))]), FieldMask(["schedule"]))
    assert len(w.postgres.get_snapshot_schedule(name).schedule) == 2   # a refused update changed nothing
    with pytest.raises(NotFound):
        w.postgres.get_snapshot_schedule(f"{PROJECT}/branches/nope/snapshot-schedule")

    cleared = w.postgres.update_snapshot_schedule(name, SnapshotSchedule(name=name, schedule=[]), FieldMask(["schedule"])).wait()
    assert not cleared.schedule
    assert not w.postgres.get_snapshot_schedule(name).schedule
