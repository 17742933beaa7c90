"""The isolation matrix of #17: principals of every kind × objects × operations, each cell asserted allowed or
refused, so that nobody reaches what they should not and nobody is wrongly refused.

Principals, in one workspace made for the test: its admin (the account admin who made it); a user assigned to
it; a user who gets in only through a group (assigned to the workspace, and given grants); a service principal
assigned to it; a user assigned to another workspace only; a user assigned nowhere; and a user of another
account. The API makes no second account, so the test moves a user there in Kiln's database, and leaves it an
ADMIN assignment to the workspace too, which must not let it in. Objects: each home folder's notebook, a notebook in /Shared, a notebook in a folder granted to the group
(and itself granted CAN_EDIT to the service principal), and a Lakebase project the group may use."""
import base64
import re
import sqlite3
import subprocess
import uuid

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import PermissionDenied, Unauthenticated
from databricks.sdk.service import iam
from databricks.sdk.service.postgres import Branch, BranchSpec, Project
from databricks.sdk.service.workspace import ImportFormat, Language, WorkspaceObjectAccessControlRequest, WorkspaceObjectPermissionLevel

from conftest import KILN, clean_env
from test_account_api import workspace

SOURCE = base64.b64encode(b"# Databricks notebook source\nprint(1)\n").decode()
OPERATIONS = ("get-status", "list folder", "export", "overwrite", "delete")
PROJECT_OPERATIONS = ("get project", "list branches", "database credential", "create branch")


def admin_user(kiln, database_url, name):
    """A user with a password from `kiln admin create-user` (assigned to the default workspace)."""
    command = [KILN, "admin", "create-user", name, "--data-dir", str(kiln.data_dir)]
    command += ["--database-url", database_url] if database_url else []
    result = subprocess.run(command, capture_output=True, text=True, env=clean_env(), timeout=60)
    assert result.returncode == 0, result.stderr
    return re.search(r"password: (\S+)", result.stdout).group(1)


def run_sql(kiln, database_url, statements):
    """Runs statements on Kiln's own database (SQLite in its data directory, or PostgreSQL)."""
    if database_url:
        import psycopg
        with psycopg.connect(database_url, autocommit=True) as conn:
            with conn.transaction():
                for statement in statements:
                    conn.execute(statement)
    else:
        with sqlite3.connect(kiln.data_dir / "kiln.sqlite") as conn:
            for statement in statements:
                conn.execute(statement)


@pytest.fixture(scope="module")
def matrix(a, kiln, login, database_url):
    ws = workspace(a)
    host = f"{kiln.url}/w/{ws.deployment_name}"
    tag = uuid.uuid4().hex[:6]
    users = {kind: f"{kind}-{tag}@example.com" for kind in ("user", "member", "elsewhere", "nowhere", "other account")}
    passwords = {kind: admin_user(kiln, database_url, name) for kind, name in users.items()}
    ids = {kind: next(u.id for u in a.users.list(filter=f'userName eq "{name}"')) for kind, name in users.items()}
    default = next(w.workspace_id for w in a.workspaces.list() if w.deployment_name == "default")
    a.workspace_assignment.delete(default, int(ids["nowhere"]))
    stranger, other_account = int(ids.pop("other account")), f"other-{tag}"
    run_sql(kiln, database_url, [
        f"INSERT INTO accounts (account_id, account_name, created_at) VALUES ('{other_account}', 'other', 0)",
        f"DELETE FROM workspace_assignments WHERE principal_id = {stranger}",
        f"UPDATE users SET account_id = '{other_account}' WHERE user_id = {stranger}",
        f"INSERT INTO workspace_assignments (workspace_id, principal_id, permission) VALUES ({ws.workspace_id}, {stranger}, 'ADMIN')",
    ])
    robot = a.service_principals.create(display_name=f"robot-{tag}")
    secret = a.service_principal_secrets.create(robot.id).secret
    group = a.groups.create(display_name=f"group-{tag}", members=[iam.ComplexValue(value=ids["member"])])
    for principal in (ids["user"], robot.id, group.id):
        a.workspace_assignment.update(ws.workspace_id, int(principal), permissions=[iam.WorkspacePermission.USER])

    clients = {"admin": WorkspaceClient(host=host, username=login.username, password=login.password, auth_type="basic"),
               "service principal": WorkspaceClient(host=host, client_id=robot.application_id, client_secret=secret,
                                                    auth_type="oauth-m2m")}
    for kind in users:
        clients[kind] = WorkspaceClient(host=host, username=users[kind], password=passwords[kind], auth_type="basic")
    admin = clients["admin"]

    def notebook(client, path, overwrite=False):
        client.workspace.import_(path, content=SOURCE, format=ImportFormat.SOURCE, language=Language.PYTHON,
                                 overwrite=overwrite)

    notebook(admin, f"/Users/{login.username}/nb")
    notebook(clients["user"], f"/Users/{users['user']}/nb")
    notebook(admin, "/Shared/nb")
    admin.workspace.mkdirs("/Granted")
    notebook(admin, "/Granted/nb")
    admin.workspace.set_permissions("directories", str(admin.workspace.get_status("/Granted").object_id), access_control_list=[
        WorkspaceObjectAccessControlRequest(group_name=group.display_name, permission_level=WorkspaceObjectPermissionLevel.CAN_READ)])


    def grant_robot():
        admin.workspace.update_permissions("notebooks", str(admin.workspace.get_status("/Granted/nb").object_id), access_control_list=[
            WorkspaceObjectAccessControlRequest(service_principal_name=robot.application_id,
                                                permission_level=WorkspaceObjectPermissionLevel.CAN_EDIT)])

    grant_robot()
    project = f"matrix-{tag}"
    admin.postgres.create_project(project=Project(), project_id=project).wait()
    admin.permissions.update("database-projects", project, access_control_list=[
        iam.AccessControlRequest(group_name=group.display_name, permission_level=iam.PermissionLevel.CAN_USE)])
    objects = {"admin's home": f"/Users/{login.username}/nb", "user's home": f"/Users/{users['user']}/nb",
               "shared": "/Shared/nb", "granted": "/Granted/nb"}

    def restore(target):
        """Puts back a notebook a cell deleted, with its grant."""
        notebook(admin, objects[target])
        if target == "granted":
            grant_robot()

    yield clients, objects, project, notebook, restore
    admin.postgres.delete_project(f"projects/{project}").wait()
    a.groups.delete(group.id)
    a.service_principals.delete(robot.id)
    for principal in ids.values():
        a.users.delete(principal)
    run_sql(kiln, database_url, [f"DELETE FROM workspace_assignments WHERE principal_id = {stranger}",
                                 f"DELETE FROM users WHERE user_id = {stranger}",
                                 f"DELETE FROM accounts WHERE account_id = '{other_account}'"])


# What each principal may do: (object, operation) pairs; everything else must be refused.
EVERYTHING = {(o, op) for o in ("admin's home", "user's home", "shared", "granted") for op in OPERATIONS}
ALLOWED = {
    "admin": EVERYTHING | {("project", op) for op in PROJECT_OPERATIONS},
    "user": {(o, op) for o in ("user's home", "shared") for op in OPERATIONS},
    "member": {("shared", op) for op in OPERATIONS} | {("granted", op) for op in ("get-status", "list folder", "export")}
    | {("project", op) for op in ("get project", "list branches", "database credential")},
    "service principal": {("shared", op) for op in OPERATIONS} | {("granted", op) for op in ("get-status", "export", "overwrite")},
    "elsewhere": set(),
    "nowhere": set(),
    "other account": set(),
}


def attempt(client, notebook, path, operation, project):
    match operation:
        case "get-status": client.workspace.get_status(path)
        case "list folder": list(client.workspace.list(path.rsplit("/", 1)[0]))
        case "export": client.workspace.export(path)
        case "overwrite": notebook(client, path, overwrite=True)
        case "delete": client.workspace.delete(path)
        case "get project": client.postgres.get_project(f"projects/{project}")
        case "list branches": list(client.postgres.list_branches(f"projects/{project}"))
        case "database credential":
            client.postgres.generate_database_credential(endpoint=f"projects/{project}/branches/production/endpoints/primary")
        case "create branch":
            client.postgres.create_branch(parent=f"projects/{project}", branch=Branch(spec=BranchSpec(
                source_branch=f"projects/{project}/branches/production", no_expiry=True)), branch_id="matrix").wait()
            client.postgres.delete_branch(f"projects/{project}/branches/matrix", purge=True).wait()


@pytest.mark.parametrize("principal", list(ALLOWED))
def test_every_principal_reaches_exactly_what_it_may(matrix, principal):
    clients, objects, project, notebook, restore = matrix
    client, admin = clients[principal], clients["admin"]
    cells = [(o, op) for o in objects for op in OPERATIONS] + [("project", op) for op in PROJECT_OPERATIONS]
    outcomes = {}
    for target, operation in cells:
        try:
            attempt(client, notebook, objects.get(target), operation, project)
            outcomes[(target, operation)] = "allowed"
        except (PermissionDenied, Unauthenticated):
            outcomes[(target, operation)] = "refused"
        finally:
            if operation == "delete" and target in objects:   # put it back for the next cells
                try:
                    admin.workspace.get_status(objects[target])
                except Exception:
                    restore(target)
    wrongly_allowed = sorted(cell for cell, outcome in outcomes.items() if outcome == "allowed" and cell not in ALLOWED[principal])
    wrongly_refused = sorted(cell for cell, outcome in outcomes.items() if outcome == "refused" and cell in ALLOWED[principal])
    assert (wrongly_allowed, wrongly_refused) == ([], [])
