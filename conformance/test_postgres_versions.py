"""The Postgres major version a project asks for, and `databricks_auth` (Databricks, "Create Postgres roles"):
each `pg_version` runs that PostgreSQL, says so, branches and replicates on it; `databricks_create_role` gives a
Databricks identity a role it logs in to with its own database credential."""
import re
import subprocess
import time

import psycopg
import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.service import iam
from databricks.sdk.errors import InvalidParameterValue, PermissionDenied
from databricks.sdk.service.postgres import (
    Branch, BranchSpec, Endpoint, EndpointSpec, EndpointType, Project, ProjectSpec, Role, RoleMembershipRole, RoleRoleSpec,
)

from conftest import KILN, clean_env, free_port, start_kiln, traversable


def connect(w, kiln, endpoint, user, password):
    """Through `status.hosts.host` alone (the proxy's shared port), TLS required."""
    host = w.postgres.get_endpoint(endpoint).status.hosts.host
    return psycopg.connect(host=host, port=kiln.proxy_port, user=user, password=password, dbname="databricks_postgres",
                           sslmode="require", autocommit=True, connect_timeout=30)


def app_role(w, branch):
    w.postgres.create_role(parent=branch, role=Role(spec=RoleRoleSpec(
        postgres_role="app", membership_roles=[RoleMembershipRole.DATABRICKS_SUPERUSER])), role_id="app-role").wait()
    return "app", w.postgres.reveal_role_password(f"{branch}/roles/app-role").password


def wait_for(check, what, timeout=30):
    deadline = time.time() + timeout
    while not check():
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@pytest.mark.parametrize("version", [15, 16, 17])
def test_each_pg_version_runs_that_postgres_and_branches_and_replicates_on_it(w, kiln, version):
    project = w.postgres.create_project(project=Project(spec=ProjectSpec(pg_version=version)),
                                        project_id=f"pg{version}").wait()
    assert project.status.pg_version == version
    branch = f"projects/pg{version}/branches/production"
    user, password = app_role(w, branch)
    with connect(w, kiln, f"{branch}/endpoints/primary", user, password) as conn:
        assert re.match(rf"PostgreSQL {version}\.\d+ ", conn.execute("select version()").fetchone()[0])
        assert int(conn.execute("show server_version_num").fetchone()[0]) // 10000 == version
        conn.execute("create table t (n int)")
        conn.execute("insert into t values (1)")
        # Kiln's databricks_auth is in every build; a password session may create it but not make OAuth roles.
        conn.execute("create extension databricks_auth")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="Databricks identity"):
            conn.execute("select databricks_create_role('admin@kiln.local', 'USER')")

    dev = w.postgres.create_branch(parent=f"projects/pg{version}", branch=Branch(spec=BranchSpec(source_branch=branch)),
                                   branch_id="dev").wait()
    [dev_endpoint] = list(w.postgres.list_endpoints(dev.name))
    with connect(w, kiln, dev_endpoint.name, user, password) as conn:
        assert int(conn.execute("show server_version_num").fetchone()[0]) // 10000 == version
        assert conn.execute("select n from t").fetchall() == [(1,)]

    reader = w.postgres.create_endpoint(parent=branch, endpoint_id="reader", endpoint=Endpoint(spec=EndpointSpec(
        endpoint_type=EndpointType.ENDPOINT_TYPE_READ_ONLY))).wait()
    assert reader.status.hosts.read_only_host == reader.status.hosts.host
    with connect(w, kiln, reader.name, user, password) as conn:
        assert int(conn.execute("show server_version_num").fetchone()[0]) // 10000 == version
        assert conn.execute("select pg_is_in_recovery()").fetchone()[0] is True
    with connect(w, kiln, f"{branch}/endpoints/primary", user, password) as conn:
        conn.execute("insert into t values (2)")

    def replica_rows():
        with connect(w, kiln, reader.name, user, password) as conn:
            return [n for (n,) in conn.execute("select n from t order by n")]

    wait_for(lambda: replica_rows() == [1, 2], "the replica to stream the new row")
    w.postgres.delete_project(f"projects/pg{version}").wait()


def test_a_project_without_a_version_runs_postgres_17(w, kiln):
    project = w.postgres.create_project(project=Project(), project_id="pg-default").wait()
    assert project.status.pg_version == 17
    branch = "projects/pg-default/branches/production"
    token = w.postgres.generate_database_credential(endpoint=f"{branch}/endpoints/primary").token
    with connect(w, kiln, f"{branch}/endpoints/primary", w.current_user.me().user_name, token) as conn:
        assert int(conn.execute("show server_version_num").fetchone()[0]) // 10000 == 17
    w.postgres.delete_project("projects/pg-default").wait()


def test_a_version_lakebase_does_not_offer_is_refused(w):
    for version in (14, 18):
        with pytest.raises(InvalidParameterValue, match=f"pg_version {version}"):
            w.postgres.create_project(project=Project(spec=ProjectSpec(pg_version=version)), project_id=f"pg{version}")


def test_a_version_that_is_not_installed_is_refused_not_replaced(tmp_path):
    """Without Kiln's PostgreSQL builds only Debian's 15 is there: asking for 16 or 17 is a 400 that says
    so; a project that asks for nothing gets 15 and says so."""
    kiln = start_kiln(traversable(tmp_path), "127.0.0.1", free_port(), None,
                      extra_env={"KILN_POSTGRES_ROOT": str(tmp_path / "no-builds"), "KILN_POSTGRES_PORTS": "56900-56949"})
    try:
        w = WorkspaceClient(host=kiln.url, token=kiln.token)
        for version in (16, 17):
            with pytest.raises(InvalidParameterValue, match=f"pg_version {version} is not installed"):
                w.postgres.create_project(project=Project(spec=ProjectSpec(pg_version=version)), project_id=f"pg{version}")
        assert [p.name for p in w.postgres.list_projects()] == []
        project = w.postgres.create_project(project=Project(), project_id="fallback").wait()
        assert project.status.pg_version == 15
        token = w.postgres.generate_database_credential(endpoint="projects/fallback/branches/production/endpoints/primary").token
        with connect(w, kiln, "projects/fallback/branches/production/endpoints/primary", w.current_user.me().user_name, token) as conn:
            assert int(conn.execute("show server_version_num").fetchone()[0]) // 10000 == 15
    finally:
        kiln.stop()


def service_principal(kiln, database_url):
    command = [KILN, "admin", "create-service-principal", "robot", "--data-dir", str(kiln.data_dir)]
    command += ["--database-url", database_url] if database_url else []
    result = subprocess.run(command, capture_output=True, text=True, env=clean_env(), timeout=60)
    assert result.returncode == 0, result.stderr
    return re.search(r"client_id: (\S+)", result.stdout).group(1), re.search(r"client_secret: (\S+)", result.stdout).group(1)


def may_use(w, project, client_id):
    """Grants a service principal CAN_USE on a project (the admin made it; nobody else may use it before)."""
    w.permissions.update("database-projects", project, access_control_list=[
        iam.AccessControlRequest(service_principal_name=client_id, permission_level=iam.PermissionLevel.CAN_USE)])


def test_databricks_create_role_gives_an_identity_a_login_with_its_credential(w, kiln, database_url):
    w.postgres.create_project(project=Project(), project_id="identities").wait()
    endpoint = "projects/identities/branches/production/endpoints/primary"
    client_id, secret = service_principal(kiln, database_url)
    robot = WorkspaceClient(host=kiln.url, client_id=client_id, client_secret=secret, auth_type="oauth-m2m")
    with pytest.raises(PermissionDenied):   # no credential for a project the caller may not use
        robot.postgres.generate_database_credential(endpoint=endpoint)
    may_use(w, "identities", client_id)
    robot_token = robot.postgres.generate_database_credential(endpoint=endpoint).token
    # No role yet: the service principal's own credential does not log it in.
    with pytest.raises(psycopg.OperationalError, match=f'role "{client_id}" does not exist'):
        connect(w, kiln, endpoint, client_id, robot_token)

    me = w.current_user.me().user_name
    with connect(w, kiln, endpoint, me, w.postgres.generate_database_credential(endpoint=endpoint).token) as conn:
        conn.execute("create extension if not exists databricks_auth")
        with pytest.raises(psycopg.errors.InvalidParameterValue, match="invalid identity type"):
            conn.execute("select databricks_create_role(%s, 'ROBOT')", [client_id])
        with pytest.raises(psycopg.errors.UndefinedObject, match="not found"):
            conn.execute("select databricks_create_role('nobody@example.com', 'USER')")
        with pytest.raises(psycopg.errors.UndefinedObject, match="not found"):
            conn.execute("select databricks_create_role(%s, 'USER')", [client_id])
        conn.execute("select databricks_create_role(%s, 'SERVICE_PRINCIPAL')", [client_id])
        with pytest.raises(psycopg.errors.DuplicateObject, match="already exists"):
            conn.execute("select databricks_create_role(%s, 'service_principal')", [client_id])
        listed = conn.execute("select role_name::text, identity_type from databricks_list_roles").fetchall()
        assert (client_id, "SERVICE_PRINCIPAL") in listed and (me, "USER") in listed
        conn.execute("create table readings (n int)")
        conn.execute("insert into readings values (7)")
        conn.execute(f'grant select on readings to "{client_id}"')

    with connect(w, kiln, endpoint, client_id, robot_token) as conn:
        assert conn.execute("select current_user").fetchone()[0] == client_id
        assert conn.execute("select n from readings").fetchall() == [(7,)]
    # A role with a password is no Databricks identity, even when it is named like one (here the admins group).
    w.postgres.create_role(parent="projects/identities/branches/production", role=Role(spec=RoleRoleSpec(
        postgres_role="admins", membership_roles=[RoleMembershipRole.DATABRICKS_SUPERUSER])), role_id="admins-password").wait()
    admins_password = w.postgres.reveal_role_password("projects/identities/branches/production/roles/admins-password").password
    with connect(w, kiln, endpoint, "admins", admins_password) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="Databricks identity"):
            conn.execute("select databricks_create_role('nobody-else', 'GROUP')")
    # Any role may list the roles of Databricks identities.
    w.postgres.create_role(parent="projects/identities/branches/production", role=Role(spec=RoleRoleSpec(postgres_role="plain")),
                           role_id="plain").wait()
    plain_password = w.postgres.reveal_role_password("projects/identities/branches/production/roles/plain").password
    with connect(w, kiln, endpoint, "plain", plain_password) as conn:
        assert (client_id, "SERVICE_PRINCIPAL") in conn.execute("select role_name::text, identity_type from databricks_list_roles").fetchall()
    # Another identity's credential is no password for this role.
    with pytest.raises(psycopg.OperationalError, match="issued to"):
        connect(w, kiln, endpoint, client_id, w.postgres.generate_database_credential(endpoint=endpoint).token)
    w.postgres.delete_project("projects/identities").wait()


def test_a_groups_role_logs_in_every_member_with_their_own_credential(w, a, kiln, database_url):
    """Lakebase: a role made for a group lets each member of the group log in as it with their own OAuth
    credential: `admins` (the workspace's admins) and the account's groups assigned to the workspace."""
    w.postgres.create_project(project=Project(), project_id="group-roles").wait()
    endpoint = "projects/group-roles/branches/production/endpoints/primary"
    me = w.current_user.me().user_name
    token = w.postgres.generate_database_credential(endpoint=endpoint).token
    with pytest.raises(psycopg.OperationalError, match='role "admins" does not exist'):
        connect(w, kiln, endpoint, "admins", token)
    with connect(w, kiln, endpoint, me, token) as conn:
        conn.execute("create extension if not exists databricks_auth")
        conn.execute("select databricks_create_role('admins', 'GROUP')")
        assert ("admins", "GROUP") in conn.execute("select role_name::text, identity_type from databricks_list_roles").fetchall()
        conn.execute("create table notes (n int)")
        conn.execute("grant select on notes to admins")
    with connect(w, kiln, endpoint, "admins", token) as conn:
        assert conn.execute("select current_user").fetchone()[0] == "admins"
        assert conn.execute("select count(*) from notes").fetchone()[0] == 0
    # A service principal is no member of admins: its credential is not good for the group's role.
    client_id, secret = service_principal(kiln, database_url)
    robot = WorkspaceClient(host=kiln.url, client_id=client_id, client_secret=secret, auth_type="oauth-m2m")
    may_use(w, "group-roles", client_id)
    robot_token = robot.postgres.generate_database_credential(endpoint=endpoint).token
    with pytest.raises(psycopg.OperationalError, match="issued to"):
        connect(w, kiln, endpoint, "admins", robot_token)
    # An account group assigned to the workspace: its role lets in its members, a nested group's included.
    inner = a.groups.create(display_name="pg-inner", members=[iam.ComplexValue(value=robot.current_user.me().id)])
    outer = a.groups.create(display_name="pg-analysts", members=[iam.ComplexValue(value=inner.id)])
    default = next(ws for ws in a.workspaces.list() if ws.deployment_name == "default")
    with connect(w, kiln, endpoint, me, token) as conn:
        with pytest.raises(psycopg.Error, match="pg-analysts"):
            conn.execute("select databricks_create_role('pg-analysts', 'GROUP')")   # not assigned to the workspace yet
    a.workspace_assignment.update(default.workspace_id, int(outer.id), permissions=[iam.WorkspacePermission.USER])
    with connect(w, kiln, endpoint, me, token) as conn:
        conn.execute("select databricks_create_role('pg-analysts', 'GROUP')")
    with connect(w, kiln, endpoint, "pg-analysts", robot_token) as conn:
        assert conn.execute("select current_user").fetchone()[0] == "pg-analysts"
    with pytest.raises(psycopg.OperationalError, match="issued to"):
        connect(w, kiln, endpoint, "pg-analysts", token)
    for group in (outer.id, inner.id):
        a.groups.delete(group)
    w.postgres.delete_project("projects/group-roles").wait()
