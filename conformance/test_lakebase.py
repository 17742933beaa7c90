"""Lakebase Postgres API (`w.postgres`) against real PostgreSQL computes: lakebase-contract.md Part A."""
import os
import signal
import subprocess
import time

import psycopg
import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import AlreadyExists, BadRequest, InvalidParameterValue, NotFound, NotImplemented
from databricks.sdk.service.postgres import (
    Branch, BranchSpec, Database, DatabaseDatabaseSpec, Endpoint, EndpointSettings, EndpointSpec, EndpointStatusState,
    EndpointType, InitialBranchSpec, Project, ProjectDefaultEndpointSettings, ProjectSpec, Role, RoleAttributes,
    RoleMembershipRole, RoleRoleSpec, BranchStatusState,
)
from databricks.sdk.common.types.fieldmask import FieldMask

from conftest import free_port, start_kiln, traversable, fresh_database

SUPER = [RoleMembershipRole.DATABRICKS_SUPERUSER]


def endpoint_port(w, name):
    return w.api_client.do("GET", f"/api/2.0/postgres/{name}")["status"]["hosts"]["port"]


def connect(w, endpoint, user, password, dbname="databricks_postgres"):
    return psycopg.connect(host="127.0.0.1", port=endpoint_port(w, endpoint), user=user, password=password,
                           dbname=dbname, autocommit=True, connect_timeout=10)


def data_directories(kiln):
    """Every branch data directory (and partial copy) under the Kiln's data dir; not the base images of the
    branches' histories (`<branch>.history/bases/`), which the walk does not enter: Kiln copies and renames them
    in the background, and a directory gone mid-walk made `rglob` raise. A directory that goes while it is walked
    is skipped (`os.walk` ignores the error)."""
    found = []
    for root, dirs, files in os.walk(kiln.data_dir):
        dirs[:] = [d for d in dirs if not d.endswith(".history")]
        if "PG_VERSION" in files and "template" not in root:
            found.append(os.path.join(root, "PG_VERSION"))
    return sorted(found)


def wait_active(w, endpoint, timeout=30):
    """After a restart Kiln starts the computes in the background."""
    deadline = time.time() + timeout
    while w.postgres.get_endpoint(endpoint).status.current_state != EndpointStatusState.ACTIVE:
        assert time.time() < deadline, f"{endpoint} did not become ACTIVE"
        time.sleep(0.1)


def app_role(w, branch, role_id="app-user", pg="app_user"):
    w.postgres.create_role(parent=branch, role=Role(spec=RoleRoleSpec(postgres_role=pg, membership_roles=SUPER)),
                           role_id=role_id).wait()
    return pg, w.postgres.reveal_role_password(f"{branch}/roles/{role_id}").password


@pytest.fixture(scope="module")
def project(w):
    p = w.postgres.create_project(project=Project(spec=ProjectSpec(display_name="Shop", pg_version=17)),
                                  project_id="shop").wait()
    yield p
    w.postgres.delete_project("projects/shop", purge=True).wait()


def test_new_project_has_branch_endpoint_database_and_owner_role(w, project):
    assert project.name == "projects/shop" and project.uid
    s = project.status
    assert s.display_name == "Shop" and s.pg_version == 17 and s.owner == "admin@kiln.local"
    assert s.default_branch == "projects/shop/branches/production"
    assert s.history_retention_duration.seconds == 604800
    assert s.branch_logical_size_limit_bytes == 8796093022208
    assert s.default_endpoint_settings.autoscaling_limit_min_cu == 1
    branch = w.postgres.get_branch("projects/shop/branches/production")
    assert branch.status.current_state == BranchStatusState.READY and branch.status.default
    assert branch.status.logical_size_bytes > 0 and branch.uid.startswith("br-")
    [ep] = list(w.postgres.list_endpoints("projects/shop/branches/production"))
    assert ep.name.endswith("/endpoints/primary") and ep.uid.startswith("ep-")
    assert ep.status.current_state == EndpointStatusState.ACTIVE
    assert ep.status.endpoint_type == EndpointType.ENDPOINT_TYPE_READ_WRITE
    assert ep.status.settings is None or ep.status.settings.pg_settings is None
    dbs = list(w.postgres.list_databases("projects/shop/branches/production"))
    assert [d.status.postgres_database for d in dbs] == ["databricks_postgres"]
    roles = list(w.postgres.list_roles("projects/shop/branches/production"))
    assert [r.status.postgres_role for r in roles] == ["admin@kiln.local"]
    assert dbs[0].status.role == roles[0].name


def test_reads_return_status_not_spec(w, project):
    raw = w.api_client.do("GET", "/api/2.0/postgres/projects/shop")
    assert "spec" not in raw and raw["status"]["project_id"] == "shop"
    assert raw["create_time"].endswith("Z")


def test_operation_is_readable_and_done(w):
    op = w.api_client.do("POST", "/api/2.0/postgres/projects", query={"project_id": "opcheck"}, body={})
    assert op["name"].startswith("projects/opcheck/operations/")
    again = w.api_client.do("GET", f"/api/2.0/postgres/{op['name']}")
    assert again["done"] is True and again["response"]["name"] == "projects/opcheck" and "error" not in again
    deleted = w.api_client.do("DELETE", "/api/2.0/postgres/projects/opcheck", query={"purge": "true"})
    done = w.api_client.do("GET", f"/api/2.0/postgres/{deleted['name']}")
    assert done["done"] and done["response"] == {"@type": "type.googleapis.com/google.protobuf.Empty"}
    with pytest.raises(NotFound):
        w.postgres.get_operation("projects/opcheck/operations/nope")


def test_role_password_logs_in_and_roles_exist_in_postgres(w, project):
    branch = "projects/shop/branches/production"
    user, password = app_role(w, branch)
    with connect(w, f"{branch}/endpoints/primary", user, password) as conn:
        assert conn.execute("select current_user").fetchone()[0] == "app_user"
        conn.execute("create table if not exists items(id int primary key, name text)")
    with pytest.raises(psycopg.OperationalError):
        connect(w, f"{branch}/endpoints/primary", user, "wrong")


def test_branch_copies_data_and_is_isolated(w, project):
    prod = "projects/shop/branches/production"
    user, password = app_role(w, prod, "writer", "writer")
    with connect(w, f"{prod}/endpoints/primary", user, password) as conn:
        conn.execute("create table orders(id int)")
        conn.execute("insert into orders values (1), (2)")
    dev = w.postgres.create_branch(parent="projects/shop", branch=Branch(spec=BranchSpec(source_branch=prod)),
                                   branch_id="dev").wait()
    assert dev.status.current_state == BranchStatusState.READY and dev.status.source_branch == prod
    assert {r.status.postgres_role for r in w.postgres.list_roles("projects/shop/branches/dev")} >= {"writer"}
    wait_active(w, "projects/shop/branches/dev/endpoints/primary")   # its compute starts on its own, right after
    with connect(w, "projects/shop/branches/dev/endpoints/primary", user, password) as conn:
        assert conn.execute("select count(*) from orders").fetchone()[0] == 2
        conn.execute("insert into orders values (3)")
    with connect(w, f"{prod}/endpoints/primary", user, password) as conn:
        assert conn.execute("select count(*) from orders").fetchone()[0] == 2
        conn.execute("insert into orders values (4), (5)")
    with connect(w, "projects/shop/branches/dev/endpoints/primary", user, password) as conn:
        assert sorted(r[0] for r in conn.execute("select id from orders")) == [1, 2, 3]
    with pytest.raises(BadRequest, match="child branches"):
        w.postgres.create_branch(parent="projects/shop", branch=Branch(spec=BranchSpec(
            source_branch="projects/shop/branches/dev")), branch_id="dev-child").wait()
        w.postgres.delete_branch("projects/shop/branches/dev")
    w.postgres.delete_branch("projects/shop/branches/dev-child", purge=True).wait()


def test_databases_are_real(w, project):
    branch = "projects/shop/branches/production"
    user, password = app_role(w, branch, "owner-role", "owner_role")
    db = w.postgres.create_database(parent=branch, database=Database(spec=DatabaseDatabaseSpec(
        postgres_database="appdb", role=f"{branch}/roles/owner-role")), database_id="appdb").wait()
    assert db.status.postgres_database == "appdb" and db.status.role == f"{branch}/roles/owner-role"
    with connect(w, f"{branch}/endpoints/primary", user, password, "appdb") as conn:
        conn.execute("create table t(x int)")
    renamed = w.postgres.update_database(f"{branch}/databases/appdb", Database(spec=DatabaseDatabaseSpec(
        postgres_database="appdb2", role=f"{branch}/roles/owner-role")), FieldMask(["spec.postgres_database"])).wait()
    assert renamed.status.postgres_database == "appdb2"
    with connect(w, f"{branch}/endpoints/primary", user, password, "appdb2") as conn:
        assert conn.execute("select count(*) from t").fetchone()[0] == 0
    with pytest.raises(BadRequest, match="already exists"):
        w.postgres.create_database(parent=branch, database=Database(spec=DatabaseDatabaseSpec(
            postgres_database="appdb2", role=f"{branch}/roles/owner-role")), database_id="other").wait()
    with pytest.raises(InvalidParameterValue, match="spec.role"):
        w.api_client.do("POST", f"/api/2.0/postgres/{branch}/databases", body={"spec": {"postgres_database": "x"}})
    w.postgres.delete_database(f"{branch}/databases/appdb").wait()
    with pytest.raises(psycopg.OperationalError):
        connect(w, f"{branch}/endpoints/primary", user, password, "appdb2")


def test_update_masks(w, project):
    p = w.postgres.update_project("projects/shop", Project(spec=ProjectSpec(
        display_name="Shop 2", history_retention_duration=None)), FieldMask(["spec.display_name"])).wait()
    assert p.status.display_name == "Shop 2"
    with pytest.raises(InvalidParameterValue, match="Unknown field path in update_mask: 'spec.bogus'"):
        w.postgres.update_project("projects/shop", Project(spec=ProjectSpec(display_name="x")), FieldMask(["spec.bogus"]))
    with pytest.raises(InvalidParameterValue, match="is in update_mask but not provided"):
        w.postgres.update_project("projects/shop", Project(spec=ProjectSpec(display_name="x")),
                                  FieldMask(["spec.history_retention_duration"]))
    tagged = w.api_client.do("PATCH", "/api/2.0/postgres/projects/shop", query={"update_mask": "spec.custom_tags"},
                             body={"spec": {"custom_tags": [{"key": "team", "value": "db"}]}})
    assert w.postgres.get_project("projects/shop").status.custom_tags[0].key == "team"
    w.api_client.do("PATCH", "/api/2.0/postgres/projects/shop", query={"update_mask": "spec.custom_tags"}, body={"spec": {}})
    assert not w.postgres.get_project("projects/shop").status.custom_tags
    role = w.postgres.update_role("projects/shop/branches/production/roles/app-user", Role(spec=RoleRoleSpec(
        postgres_role="ignored", attributes=RoleAttributes(createdb=True))), FieldMask(["spec.attributes.createdb"])).wait()
    assert role.status.attributes.createdb and role.status.postgres_role == "app_user"
    with pytest.raises(InvalidParameterValue):
        w.postgres.update_role("projects/shop/branches/production/roles/app-user", Role(spec=RoleRoleSpec(
            postgres_role="x")), FieldMask(["spec.postgres_role"]))
    role = w.postgres.update_role("projects/shop/branches/production/roles/app-user", Role(spec=RoleRoleSpec(
        postgres_role="app_user")), FieldMask(["spec.membership_roles"])).wait()
    assert not role.status.membership_roles


def test_endpoint_settings_disable_and_cu_limits(w, project):
    ep = "projects/shop/branches/production/endpoints/primary"
    updated = w.postgres.update_endpoint(ep, Endpoint(spec=EndpointSpec(
        endpoint_type=EndpointType.ENDPOINT_TYPE_READ_WRITE, autoscaling_limit_min_cu=0.5, autoscaling_limit_max_cu=4,
        settings=EndpointSettings(pg_settings={"work_mem": "8MB"}))),
        FieldMask(["spec.autoscaling_limit_min_cu", "spec.autoscaling_limit_max_cu", "spec.settings.pg_settings"])).wait()
    assert updated.status.autoscaling_limit_max_cu == 4 and updated.status.current_state == EndpointStatusState.ACTIVE
    user, password = app_role(w, "projects/shop/branches/production", "cu-check", "cu_check")
    with connect(w, ep, user, password) as conn:
        assert conn.execute("show max_connections").fetchone()[0] == "839"
        assert conn.execute("show work_mem").fetchone()[0] == "8MB"
    with pytest.raises(Exception, match="must not exceed 16"):
        w.postgres.update_endpoint(ep, Endpoint(spec=EndpointSpec(endpoint_type=EndpointType.ENDPOINT_TYPE_READ_WRITE,
            autoscaling_limit_max_cu=20)), FieldMask(["spec.autoscaling_limit_max_cu"]))
    with pytest.raises(InvalidParameterValue):
        w.postgres.update_endpoint(ep, Endpoint(spec=EndpointSpec(endpoint_type=EndpointType.ENDPOINT_TYPE_READ_WRITE,
            autoscaling_limit_min_cu=0.25)), FieldMask(["spec.autoscaling_limit_min_cu"]))
    # A setting postgres rejects: the operation fails and the endpoint keeps running with its old settings.
    with pytest.raises(Exception, match="operation failed"):
        w.postgres.update_endpoint(ep, Endpoint(spec=EndpointSpec(endpoint_type=EndpointType.ENDPOINT_TYPE_READ_WRITE,
            settings=EndpointSettings(pg_settings={"shared_buffers": "banana"}))), FieldMask(["spec.settings.pg_settings"])).wait()
    assert w.postgres.get_endpoint(ep).status.settings.pg_settings == {"work_mem": "8MB"}
    with connect(w, ep, user, password) as conn:
        assert conn.execute("select 1").fetchone()[0] == 1
    disabled = w.postgres.update_endpoint(ep, Endpoint(spec=EndpointSpec(
        endpoint_type=EndpointType.ENDPOINT_TYPE_READ_WRITE, disabled=True)), FieldMask(["spec.disabled"])).wait()
    assert disabled.status.disabled and disabled.status.current_state == EndpointStatusState.IDLE
    with pytest.raises(psycopg.OperationalError):
        connect(w, ep, user, password)
    w.postgres.update_endpoint(ep, Endpoint(spec=EndpointSpec(
        endpoint_type=EndpointType.ENDPOINT_TYPE_READ_WRITE, disabled=False)), FieldMask(["spec.disabled"])).wait()
    with connect(w, ep, user, password) as conn:
        assert conn.execute("select 1").fetchone()[0] == 1


def test_delete_rules(w, project):
    with pytest.raises(BadRequest, match="Root branches cannot be deleted") as info:
        w.postgres.delete_branch("projects/shop/branches/production")
    assert "MANAGED_BY_PARENT" in str(info.value.get_error_details() or info.value.details)
    with pytest.raises(BadRequest, match="Read-write endpoints cannot be deleted"):
        w.postgres.delete_endpoint("projects/shop/branches/production/endpoints/primary")
    with pytest.raises(AlreadyExists):
        w.postgres.create_endpoint(parent="projects/shop/branches/production", endpoint=Endpoint(spec=EndpointSpec(
            endpoint_type=EndpointType.ENDPOINT_TYPE_READ_WRITE)), endpoint_id="second").wait()
    w.postgres.create_branch(parent="projects/shop", branch=Branch(spec=BranchSpec(is_protected=True)),
                             branch_id="safe").wait()
    with pytest.raises(BadRequest, match="protected"):
        w.postgres.delete_branch("projects/shop/branches/safe")
    with pytest.raises(BadRequest, match="protected"):
        w.postgres.delete_project("projects/shop")
    with pytest.raises(Exception, match="protected branches"):
        w.postgres.create_branch(parent="projects/shop", branch=Branch(spec=BranchSpec(is_protected=True)),
                                 branch_id="safe2").wait()
    w.postgres.update_branch("projects/shop/branches/safe", Branch(spec=BranchSpec(is_protected=False)),
                             FieldMask(["spec.is_protected"])).wait()
    w.postgres.delete_branch("projects/shop/branches/safe", purge=True).wait()


def test_soft_delete_undelete_and_show_deleted(w):
    w.postgres.create_project(project=Project(), project_id="soft").wait()
    w.postgres.create_branch(parent="projects/soft", branch=Branch(spec=BranchSpec()), branch_id="tmp").wait()
    w.postgres.delete_branch("projects/soft/branches/tmp").wait()
    names = [b.name for b in w.postgres.list_branches("projects/soft")]
    assert names == ["projects/soft/branches/production"]
    deleted = [b for b in w.postgres.list_branches("projects/soft", show_deleted=True) if b.name.endswith("/tmp")]
    assert deleted[0].status.current_state == BranchStatusState.DELETED and deleted[0].status.purge_time
    w.postgres.undelete_branch("projects/soft/branches/tmp").wait()
    assert w.postgres.get_branch("projects/soft/branches/tmp").status.current_state == BranchStatusState.READY
    ep = w.postgres.get_endpoint("projects/soft/branches/tmp/endpoints/primary")
    assert ep.status.current_state == EndpointStatusState.ACTIVE
    w.postgres.delete_project("projects/soft").wait()
    assert "projects/soft" not in [p.name for p in w.postgres.list_projects()]
    assert "projects/soft" in [p.name for p in w.postgres.list_projects(show_deleted=True)]
    with pytest.raises(NotFound):
        w.postgres.get_branch("projects/soft/branches/production")
    w.postgres.undelete_project("projects/soft").wait()
    assert w.postgres.get_branch("projects/soft/branches/production").status.current_state == BranchStatusState.READY
    with pytest.raises(BadRequest, match="not deleted"):
        w.postgres.undelete_project("projects/soft")
    w.postgres.delete_project("projects/soft", purge=True).wait()
    with pytest.raises(NotFound):
        w.postgres.get_project("projects/soft")


def test_an_expired_branch_is_deleted_with_its_compute(w, project):
    from google.protobuf.duration_pb2 import Duration
    branch = w.postgres.create_branch(parent="projects/shop", branch=Branch(spec=BranchSpec(
        source_branch="projects/shop/branches/production", ttl=Duration(seconds=2))), branch_id="short-lived").wait()
    assert branch.status.expire_time
    endpoint = "projects/shop/branches/short-lived/endpoints/primary"
    port = endpoint_port(w, endpoint)
    deadline = time.time() + 30
    while True:
        try:
            w.postgres.get_branch("projects/shop/branches/short-lived")
        except NotFound:
            break
        assert time.time() < deadline, "the expired branch was not deleted"
        time.sleep(0.2)
    assert "projects/shop/branches/short-lived" not in [b.name for b in w.postgres.list_branches(
        "projects/shop", show_deleted=True)]
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(host="127.0.0.1", port=port, user="x", password="x", dbname="x", connect_timeout=3)


def test_pagination_terminates(w):
    for i in range(3):
        w.postgres.create_project(project=Project(), project_id=f"page-{i}").wait()
    raw = w.api_client.do("GET", "/api/2.0/postgres/projects", query={"page_size": 1})
    assert len(raw["projects"]) == 1 and raw["next_page_token"]
    names = [p.name for p in w.postgres.list_projects(page_size=1)]
    assert {f"projects/page-{i}" for i in range(3)} <= set(names) and len(names) == len(set(names))
    for i in range(3):
        w.postgres.delete_project(f"projects/page-{i}", purge=True).wait()
    assert w.api_client.do("GET", "/api/2.0/postgres/projects/shop/branches/production/endpoints")["endpoints"]
    with pytest.raises(InvalidParameterValue):
        w.api_client.do("GET", "/api/2.0/postgres/projects", query={"page_token": "garbage!"})


def test_a_compute_that_cannot_start_fails_the_create_and_leaves_nothing(w, kiln):
    before = data_directories(kiln)
    op = w.postgres.create_project(project=Project(spec=ProjectSpec(default_endpoint_settings=ProjectDefaultEndpointSettings(
        pg_settings={"work_mem": "lots"}))), project_id="broken")
    with pytest.raises(Exception, match="work_mem"):
        op.wait()
    with pytest.raises(NotFound):
        w.postgres.get_project("projects/broken")
    assert "projects/broken" not in [p.name for p in w.postgres.list_projects(show_deleted=True)]
    assert data_directories(kiln) == before
    w.postgres.create_project(project=Project(), project_id="broken").wait()   # the id is free again
    w.postgres.delete_project("projects/broken", purge=True).wait()


@pytest.mark.parametrize("project_id", ["Upper", "1abc", "has_underscore", "trailing-", "x" * 64])
def test_invalid_ids(w, project_id):
    with pytest.raises(InvalidParameterValue):
        w.postgres.create_project(project=Project(), project_id=project_id)


def test_create_errors(w, project):
    with pytest.raises(InvalidParameterValue, match="project_id"):
        w.api_client.do("POST", "/api/2.0/postgres/projects", body={})
    with pytest.raises(AlreadyExists):
        w.postgres.create_project(project=Project(), project_id="shop")
    with pytest.raises(NotFound, match="project id not found"):
        w.postgres.get_project("projects/nope")
    with pytest.raises(NotFound):
        w.postgres.create_branch(parent="projects/nope", branch=Branch(spec=BranchSpec()), branch_id="b")
    with pytest.raises(InvalidParameterValue, match="another project"):
        w.postgres.create_branch(parent="projects/shop", branch=Branch(spec=BranchSpec(
            source_branch="projects/other/branches/production")), branch_id="cross")
    with pytest.raises(InvalidParameterValue, match="pg_version"):
        w.postgres.create_project(project=Project(spec=ProjectSpec(pg_version=12)), project_id="old")
    with pytest.raises(InvalidParameterValue, match="suspend_timeout_duration"):
        w.api_client.do("POST", "/api/2.0/postgres/projects", query={"project_id": "sus"},
                        body={"spec": {"default_endpoint_settings": {"suspend_timeout_duration": "10s"}}})
    with pytest.raises(BadRequest, match="role with that name already exists"):
        w.postgres.create_role(parent="projects/shop/branches/production",
                               role=Role(spec=RoleRoleSpec(postgres_role="app_user")), role_id="app-dup").wait()
    with pytest.raises(NotFound, match="snapshot"):
        w.postgres.create_branch(parent="projects/shop", branch=Branch(spec=BranchSpec(
            source_snapshot="projects/shop/snapshots/nightly")), branch_id="from-snapshot")
    with pytest.raises(NotImplemented):
        w.api_client.do("GET", "/api/2.0/postgres/projects/shop/branches/production/databases/databricks-postgres/data-api")
    with pytest.raises(InvalidParameterValue):
        w.api_client.do("POST", "/api/2.0/postgres/projects", query={"project_id": "bad-enum"},
                        body={"initial_endpoint_spec": {"autoscaling_limit_max_cu": "lots"}})


def test_database_credential(w, project):
    cred = w.postgres.generate_database_credential(endpoint="projects/shop/branches/production/endpoints/primary")
    assert cred.token.startswith("kiln_pg.") and cred.expire_time
    assert abs(cred.expire_time.seconds - time.time() - 3600) < 60
    raw = w.api_client.do("POST", "/api/2.0/postgres/credentials",
                          body={"endpoint": "projects/shop/branches/production/endpoints/primary", "ttl": "900s"})
    assert raw["expire_time"].endswith("Z")
    with pytest.raises(InvalidParameterValue, match="ttl"):
        w.api_client.do("POST", "/api/2.0/postgres/credentials",
                        body={"endpoint": "projects/shop/branches/production/endpoints/primary", "ttl": "60s"})
    with pytest.raises(NotFound):
        w.postgres.generate_database_credential(endpoint="projects/shop/branches/production/endpoints/none")


def test_restart_and_kill_leave_no_stray_postgres(tmp_path, database_url):
    data = traversable(tmp_path)
    url = fresh_database(database_url, "kiln_lakebase_restart")
    env = {"KILN_POSTGRES_PORTS": "56100-56199"}
    port = free_port()
    started = []

    def start():
        started.append(start_kiln(data, "127.0.0.1", port, url, extra_env=env))
        return started[-1], WorkspaceClient(host=started[-1].url, token=started[-1].token, auth_type="pat")

    def postgres_processes():
        out = subprocess.run(["ps", "-ww", "-eo", "pid,ppid,etimes,stat,args"], capture_output=True, text=True).stdout
        return [line for line in out.splitlines() if f"postgres -D {data}" in line]

    def postgres_count():
        return len(postgres_processes())

    try:
        kiln, w = start()
        w.postgres.create_project(project=Project(), project_id="keep").wait()
        user, password = app_role(w, "projects/keep/branches/production")
        with connect(w, "projects/keep/branches/production/endpoints/primary", user, password) as conn:
            conn.execute("create table kept(x int)")
            conn.execute("insert into kept values (42)")
        w.postgres.create_endpoint(parent="projects/keep/branches/production", endpoint_id="reader", endpoint=Endpoint(
            spec=EndpointSpec(endpoint_type=EndpointType.ENDPOINT_TYPE_READ_ONLY))).wait()
        assert postgres_count() == 2
        kiln.stop()
        assert postgres_count() == 0
        kiln, w = start()
        for endpoint in ["primary", "reader"]:
            wait_active(w, f"projects/keep/branches/production/endpoints/{endpoint}")
            with connect(w, f"projects/keep/branches/production/endpoints/{endpoint}", user, password) as conn:
                assert conn.execute("select x from kept").fetchone()[0] == 42
        # kill -9 in the middle of an operation: nothing stray, and the operation ends after the restart.
        op = w.api_client.do("POST", "/api/2.0/postgres/projects/keep/branches", query={"branch_id": "mid"},
                             body={"spec": {}})
        kiln.process.send_signal(signal.SIGKILL)
        kiln.process.wait()
        deadline = time.time() + 10
        while postgres_count() and time.time() < deadline:
            time.sleep(0.1)
        assert postgres_processes() == []
        kiln, w = start()
        done = w.api_client.do("GET", f"/api/2.0/postgres/{op['name']}")
        assert done["done"] is True
        if "error" not in done:
            assert w.postgres.get_branch("projects/keep/branches/mid").status.current_state == BranchStatusState.READY
    finally:
        for kiln in started:
            kiln.stop()
    assert postgres_count() == 0


def wait_for(check, timeout=15, what="condition"):
    deadline = time.time() + timeout
    while True:
        try:
            if check():
                return
        except psycopg.Error:
            pass
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_read_replicas_follow_their_branch_read_only(w, kiln):
    w.postgres.create_project(project=Project(), project_id="replicas").wait()
    branch = "projects/replicas/branches/production"
    primary = f"{branch}/endpoints/primary"
    user, password = app_role(w, branch)
    with connect(w, primary, user, password) as conn:
        conn.execute("create table t (n int)")
        conn.execute("insert into t values (1)")
    reader = w.postgres.create_endpoint(parent=branch, endpoint_id="reader", endpoint=Endpoint(spec=EndpointSpec(
        endpoint_type=EndpointType.ENDPOINT_TYPE_READ_ONLY, autoscaling_limit_min_cu=0.5, autoscaling_limit_max_cu=0.5))).wait()
    assert reader.status.endpoint_type == EndpointType.ENDPOINT_TYPE_READ_ONLY
    assert reader.status.current_state == EndpointStatusState.ACTIVE
    hosts = w.api_client.do("GET", f"/api/2.0/postgres/{reader.name}")["status"]["hosts"]
    assert hosts["read_only_host"] == hosts["host"] and hosts["port"] != endpoint_port(w, primary)

    def rows():
        with connect(w, reader.name, user, password) as conn:
            return [n for (n,) in conn.execute("select n from t order by n")]

    with connect(w, reader.name, user, password) as conn:
        assert conn.execute("select n from t").fetchall() == [(1,)]
        assert conn.execute("select pg_is_in_recovery()").fetchone()[0] is True
        # A standby needs its primary's max_connections: 0.5 CU (104) is raised to the primary's 1 CU (209).
        assert conn.execute("show max_connections").fetchone()[0] == "209"
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("insert into t values (99)")
    with connect(w, primary, user, password) as conn:
        conn.execute("insert into t values (2)")
    wait_for(lambda: rows() == [1, 2], what="the replica to stream the new row")

    # A suspended replica that wakes while its primary is suspended too still sees every committed row.
    def set_disabled(endpoint, endpoint_type, disabled):
        w.postgres.update_endpoint(endpoint, Endpoint(spec=EndpointSpec(endpoint_type=endpoint_type, disabled=disabled)),
                                   FieldMask(["spec.disabled"])).wait()
    set_disabled(reader.name, EndpointType.ENDPOINT_TYPE_READ_ONLY, True)
    with connect(w, primary, user, password) as conn:
        conn.execute("insert into t values (3)")
    set_disabled(primary, EndpointType.ENDPOINT_TYPE_READ_WRITE, True)
    set_disabled(reader.name, EndpointType.ENDPOINT_TYPE_READ_ONLY, False)
    wait_for(lambda: rows() == [1, 2, 3], what="the replica to read the suspended primary's WAL")
    set_disabled(primary, EndpointType.ENDPOINT_TYPE_READ_WRITE, False)
    with connect(w, primary, user, password) as conn:
        conn.execute("insert into t values (4)")
    wait_for(lambda: rows() == [1, 2, 3, 4], what="the replica to stream again")

    # Six replicas per branch; the seventh is refused.
    for i in range(5):
        w.postgres.create_endpoint(parent=branch, endpoint_id=f"r{i}", endpoint=Endpoint(spec=EndpointSpec(
            endpoint_type=EndpointType.ENDPOINT_TYPE_READ_ONLY, disabled=True))).wait()
    with pytest.raises(Exception, match="read-only endpoints per branch") as info:
        w.postgres.create_endpoint(parent=branch, endpoint_id="r5", endpoint=Endpoint(spec=EndpointSpec(
            endpoint_type=EndpointType.ENDPOINT_TYPE_READ_ONLY, disabled=True))).wait()
    assert info.value.error_code == "RESOURCE_LIMIT_EXCEEDED"

    # Deleting a replica removes its data and the slot that kept WAL for it on the primary.
    def slots():
        with connect(w, primary, user, password) as conn:
            # Not the temporary slot of a copy in flight (a branch, or a base image of the branch's history).
            return sorted(name for (name,) in conn.execute("select slot_name from pg_replication_slots where not temporary"))
    assert len(slots()) == 6
    w.postgres.delete_endpoint(reader.name).wait()
    assert len(slots()) == 5 and not any(reader.uid in path for path in data_directories(kiln))
    with pytest.raises(NotFound):
        w.postgres.get_endpoint(reader.name)
    # A branch made from this one keeps none of its slots (a temporary slot is Kiln's own copy of the new
    # branch in flight, a base image of its history, as in `slots()`).
    w.postgres.create_branch(parent="projects/replicas", branch_id="child", branch=Branch(spec=BranchSpec(
        source_branch=branch))).wait()
    with connect(w, "projects/replicas/branches/child/endpoints/primary", user, password) as conn:
        assert conn.execute("select count(*) from pg_replication_slots where not temporary").fetchone()[0] == 0
        assert conn.execute("select count(*) from t").fetchone()[0] == 4
    project_uid = w.postgres.get_project("projects/replicas").uid
    # <storage area>/lakebase/<project uid>/<branch or replica uid>/PG_VERSION: two branches, five replicas.
    assert sum(path.endswith("/PG_VERSION") and path.split("/")[-3] == project_uid
               for path in data_directories(kiln)) == 2 + 5
    w.postgres.delete_project("projects/replicas", purge=True).wait()
    assert not any(project_uid in path for path in data_directories(kiln))
