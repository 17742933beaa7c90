"""Identity and access (#17), through the official SDK: account groups that nest, SCIM PUT and PATCH, `active`,
and workspace assignment, which decides who can authenticate to a workspace at all."""
import uuid

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import BadRequest, DatabricksError, PermissionDenied, ResourceDoesNotExist
from databricks.sdk.service import iam

from test_account_api import workspace

PATCH = [iam.PatchSchema.URN_IETF_PARAMS_SCIM_API_MESSAGES_2_0_PATCH_OP]


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def robot(a):
    """A service principal of the account with a secret: a principal that can log in without a password."""
    principal = a.service_principals.create(display_name=unique("robot"))
    return principal, a.service_principal_secrets.create(principal.id).secret


def as_robot(kiln, ws, principal, secret) -> WorkspaceClient:
    return WorkspaceClient(host=f"{kiln.url}/w/{ws.deployment_name}", client_id=principal.application_id, client_secret=secret,
                           auth_type="oauth-m2m")


def test_account_groups_nest_and_change_with_put_and_patch(a):
    user = a.users.create(user_name=f"{unique('member')}@example.com")
    principal, _ = robot(a)
    inner = a.groups.create(display_name=unique("inner"), members=[iam.ComplexValue(value=user.id)])
    outer = a.groups.create(display_name=unique("outer"), members=[iam.ComplexValue(value=inner.id)],
                            entitlements=[iam.ComplexValue(value="databricks-sql-access")])
    got = a.groups.get(outer.id)
    assert [m.value for m in got.members] == [inner.id] and got.members[0].display == inner.display_name
    assert [e.value for e in got.entitlements] == ["databricks-sql-access"]
    assert [g.display for g in a.groups.get(inner.id).groups] == [outer.display_name]
    assert [g.value for g in a.users.get(user.id).groups] == [inner.id]
    assert [g.id for g in a.groups.list(filter=f'displayName eq "{outer.display_name}"')] == [outer.id]

    a.groups.patch(inner.id, schemas=PATCH, operations=[
        iam.Patch(op=iam.PatchOp.ADD, path="members", value=[{"value": principal.id}])])
    assert {m.value for m in a.groups.get(inner.id).members} == {user.id, principal.id}
    a.groups.patch(inner.id, schemas=PATCH, operations=[
        iam.Patch(op=iam.PatchOp.REMOVE, path=f'members[value eq "{user.id}"]')])
    assert [m.value for m in a.groups.get(inner.id).members] == [principal.id]
    assert a.users.get(user.id).groups in (None, [])
    a.groups.update(outer.id, display_name=outer.display_name + "-renamed", members=[])
    renamed = a.groups.get(outer.id)
    assert renamed.display_name == outer.display_name + "-renamed" and not renamed.members and not renamed.entitlements

    # Refusals change nothing: a cycle, a taken name, an unknown entitlement, a read-only attribute, a bad path.
    with pytest.raises(BadRequest):
        a.groups.patch(inner.id, schemas=PATCH, operations=[iam.Patch(op=iam.PatchOp.ADD, path="members", value=[{"value": inner.id}])])
    a.groups.patch(outer.id, schemas=PATCH, operations=[iam.Patch(op=iam.PatchOp.ADD, path="members", value=[{"value": inner.id}])])
    with pytest.raises(BadRequest, match="contain"):
        a.groups.patch(inner.id, schemas=PATCH, operations=[iam.Patch(op=iam.PatchOp.ADD, path="members", value=[{"value": outer.id}])])
    with pytest.raises(DatabricksError, match="uniqueness") as taken:
        a.groups.create(display_name=inner.display_name)
    assert taken.value.error_code == "SCIM_409"
    with pytest.raises(BadRequest, match="invalidValue"):
        a.groups.patch(inner.id, schemas=PATCH, operations=[
            iam.Patch(op=iam.PatchOp.ADD, path="entitlements", value=[{"value": "be-root"}])])
    with pytest.raises(BadRequest, match="mutability"):
        a.users.patch(user.id, schemas=PATCH, operations=[iam.Patch(op=iam.PatchOp.REPLACE, path="userName", value="x@example.com")])
    with pytest.raises(BadRequest, match="invalidPath"):
        a.users.patch(user.id, schemas=PATCH, operations=[iam.Patch(op=iam.PatchOp.REPLACE, path="nickName", value="x")])
    with pytest.raises(BadRequest, match="invalidFilter"):
        list(a.groups.list(filter="displayName eq"))
    assert [m.value for m in a.groups.get(inner.id).members] == [principal.id]

    a.groups.delete(inner.id)
    with pytest.raises(ResourceDoesNotExist):
        a.groups.get(inner.id)
    assert not a.groups.get(outer.id).members
    for group in (outer.id,):
        a.groups.delete(group)
    a.users.delete(user.id)
    a.service_principals.delete(principal.id)


def test_a_deactivated_principal_logs_in_nowhere_until_it_is_active_again(a, kiln):
    ws = workspace(a)
    principal, secret = robot(a)
    a.workspace_assignment.update(ws.workspace_id, int(principal.id), permissions=[iam.WorkspacePermission.USER])
    assert as_robot(kiln, ws, principal, secret).current_user.me().user_name == principal.application_id
    a.service_principals.patch(principal.id, schemas=PATCH, operations=[iam.Patch(op=iam.PatchOp.REPLACE, value={"active": False})])
    assert a.service_principals.get(principal.id).active is False
    with pytest.raises(Exception):
        as_robot(kiln, ws, principal, secret).current_user.me()
    a.service_principals.update(principal.id, display_name=principal.display_name, active=True)
    assert as_robot(kiln, ws, principal, secret).current_user.me().user_name == principal.application_id
    a.service_principals.delete(principal.id)


def test_only_principals_assigned_to_a_workspace_directly_or_through_a_group_use_it(a, kiln, login):
    ws = workspace(a)
    principal, secret = robot(a)
    client = as_robot(kiln, ws, principal, secret)
    with pytest.raises(PermissionDenied):
        client.current_user.me()
    owner = WorkspaceClient(host=f"{kiln.url}/w/{ws.deployment_name}", username=login.username, password=login.password,
                            auth_type="basic")
    assert principal.id not in {s.id for s in owner.service_principals.list()}

    team = a.groups.create(display_name=unique("team"), members=[iam.ComplexValue(value=principal.id)])
    crew = a.groups.create(display_name=unique("crew"), members=[iam.ComplexValue(value=team.id)])
    a.workspace_assignment.update(ws.workspace_id, int(crew.id), permissions=[iam.WorkspacePermission.USER])
    me = client.current_user.me()
    assert me.user_name == principal.application_id and [g.display for g in me.groups] == [team.display_name]
    assert principal.id in {s.id for s in owner.service_principals.list()}
    assert {crew.id, team.id} <= {g.id for g in owner.groups.list()}
    listed = {entry.principal.principal_id: entry for entry in a.workspace_assignment.list(ws.workspace_id)}
    assert listed[int(crew.id)].permissions == [iam.WorkspacePermission.USER]
    assert listed[int(crew.id)].principal.group_name == crew.display_name
    levels = [level.permission_level for level in a.workspace_assignment.get(ws.workspace_id).permissions]
    assert levels == [iam.WorkspacePermission.USER, iam.WorkspacePermission.ADMIN]

    # A user of the workspace manages nobody; an admin (here through the group) does.
    with pytest.raises(PermissionDenied):
        client.users.create(user_name=f"{unique('nope')}@example.com")
    a.workspace_assignment.update(ws.workspace_id, int(crew.id), permissions=[iam.WorkspacePermission.USER, iam.WorkspacePermission.ADMIN])
    assert "admins" in [g.display for g in client.current_user.me().groups]
    made = client.users.create(user_name=f"{unique('made')}@example.com")
    assert made.id in {u.id for u in owner.users.list()}
    # A workspace's delete unassigns; the account keeps the user.
    client.users.delete(made.id)
    assert made.id not in {u.id for u in owner.users.list()}
    assert a.users.get(made.id).user_name == made.user_name

    # A workspace admin changes no group that another workspace relies on: its members would get in there too.
    elsewhere = a.groups.create(display_name=unique("elsewhere"))
    a.workspace_assignment.update(ws.workspace_id, int(elsewhere.id), permissions=[iam.WorkspacePermission.USER])
    other = workspace(a)
    a.workspace_assignment.update(other.workspace_id, int(elsewhere.id), permissions=[iam.WorkspacePermission.ADMIN])
    with pytest.raises(PermissionDenied):
        client.groups.patch(elsewhere.id, schemas=PATCH, operations=[
            iam.Patch(op=iam.PatchOp.ADD, path="members", value=[{"value": principal.id}])])
    a.workspace_assignment.delete(other.workspace_id, int(elsewhere.id))
    client.groups.patch(elsewhere.id, schemas=PATCH, operations=[
        iam.Patch(op=iam.PatchOp.ADD, path="members", value=[{"value": made.id}])])
    assert [m.value for m in client.groups.get(elsewhere.id).members] == [made.id]
    a.groups.delete(elsewhere.id)

    # Removing the assignment shuts the principal out again; the workspace keeps its last admin.
    a.workspace_assignment.delete(ws.workspace_id, int(crew.id))
    with pytest.raises(PermissionDenied):
        client.current_user.me()
    me_admin = owner.current_user.me()
    with pytest.raises(BadRequest, match="last admin"):
        a.workspace_assignment.update(ws.workspace_id, int(me_admin.id), permissions=[iam.WorkspacePermission.USER])
    with pytest.raises(ResourceDoesNotExist):
        a.workspace_assignment.update(ws.workspace_id, 12345, permissions=[iam.WorkspacePermission.USER])
    with pytest.raises(ResourceDoesNotExist):
        a.workspace_assignment.list(987654321)
    for group in (crew.id, team.id):
        a.groups.delete(group)
    a.users.delete(made.id)
    a.service_principals.delete(principal.id)


def test_account_admin_is_a_role_of_the_account_api(a, kiln, login):
    principal, secret = robot(a)
    from databricks.sdk import AccountClient
    account = AccountClient(host=kiln.url, account_id=login.account_id, client_id=principal.application_id,
                            client_secret=secret, auth_type="oauth-m2m")
    with pytest.raises(PermissionDenied):
        list(account.workspaces.list())
    a.service_principals.patch(principal.id, schemas=PATCH, operations=[
        iam.Patch(op=iam.PatchOp.ADD, path="roles", value=[{"value": "account_admin"}])])
    assert [r.value for r in a.service_principals.get(principal.id).roles] == ["account_admin"]
    assert list(account.workspaces.list())
    a.service_principals.patch(principal.id, schemas=PATCH, operations=[
        iam.Patch(op=iam.PatchOp.REMOVE, path='roles[value eq "account_admin"]')])
    with pytest.raises(PermissionDenied):
        list(account.workspaces.list())
    a.service_principals.delete(principal.id)


def test_workspace_admins_manage_every_token_and_make_them_for_service_principals(a, kiln, login):
    ws = workspace(a)
    host = f"{kiln.url}/w/{ws.deployment_name}"
    owner = WorkspaceClient(host=host, username=login.username, password=login.password, auth_type="basic")
    principal, _ = robot(a)
    with pytest.raises(ResourceDoesNotExist):   # not assigned to the workspace yet
        owner.token_management.create_obo_token(application_id=principal.application_id, comment="ci")
    a.workspace_assignment.update(ws.workspace_id, int(principal.id), permissions=[iam.WorkspacePermission.USER])
    admin_robot, _ = robot(a)   # an account admin: a workspace admin may not mint its tokens
    a.service_principals.patch(admin_robot.id, schemas=PATCH, operations=[
        iam.Patch(op=iam.PatchOp.ADD, path="roles", value=[{"value": "account_admin"}])])
    a.workspace_assignment.update(ws.workspace_id, int(admin_robot.id), permissions=[iam.WorkspacePermission.USER])
    with pytest.raises(PermissionDenied):
        owner.token_management.create_obo_token(application_id=admin_robot.application_id, comment="escalate")
    a.service_principals.delete(admin_robot.id)
    made = owner.token_management.create_obo_token(application_id=principal.application_id, comment="ci", lifetime_seconds=3600)
    info = made.token_info
    assert made.token_value and info.owner_id == int(principal.id) and info.created_by_username == login.username
    assert info.workspace_id == ws.workspace_id and info.expiry_time - info.creation_time == 3_600_000
    bot = WorkspaceClient(host=host, token=made.token_value, auth_type="pat")
    assert bot.current_user.me().user_name == principal.application_id
    mine = owner.tokens.create(comment="mine").token_info
    assert {info.token_id, mine.token_id} <= {t.token_id for t in owner.token_management.list()}
    assert {t.token_id for t in owner.token_management.list(created_by_username=login.username)} >= {info.token_id, mine.token_id}
    assert not list(owner.token_management.list(created_by_username=principal.application_id))
    assert owner.token_management.get(info.token_id).token_info.owner_id == int(principal.id)
    with pytest.raises(PermissionDenied):   # a user of the workspace, not its admin
        list(bot.token_management.list())
    owner.token_management.delete(info.token_id)
    with pytest.raises(Exception):
        bot.current_user.me()
    with pytest.raises(ResourceDoesNotExist):
        owner.token_management.get(info.token_id)
    a.service_principals.delete(principal.id)


def test_workspace_objects_answer_each_caller_by_their_permissions(a, kiln, login):
    """Homes are private, /Shared is open, a grant on a folder reaches what is below it, and every Workspace API
    call checks the caller's level: list and get-status show only what it may read, export needs read, import
    and delete need edit."""
    from databricks.sdk.service.workspace import (ImportFormat, Language, WorkspaceObjectAccessControlRequest as Grant,
                                                  WorkspaceObjectPermissionLevel as Level)
    import base64
    ws = workspace(a)
    host = f"{kiln.url}/w/{ws.deployment_name}"
    owner = WorkspaceClient(host=host, username=login.username, password=login.password, auth_type="basic")
    principal, secret = robot(a)
    team = a.groups.create(display_name=unique("team"), members=[iam.ComplexValue(value=principal.id)])
    a.workspace_assignment.update(ws.workspace_id, int(principal.id), permissions=[iam.WorkspacePermission.USER])
    a.workspace_assignment.update(ws.workspace_id, int(team.id), permissions=[iam.WorkspacePermission.USER])
    bot = as_robot(kiln, ws, principal, secret)
    home = f"/Users/{principal.application_id}"
    source = base64.b64encode(b"# Databricks notebook source\nprint(1)\n").decode()

    def notebook(client, path, overwrite=False):
        client.workspace.import_(path, content=source, format=ImportFormat.SOURCE, language=Language.PYTHON, overwrite=overwrite)

    # Its home folder is there on first use, and only it (and admins) may use it.
    assert bot.workspace.get_status(home).object_type.value == "DIRECTORY"
    assert {o.path for o in bot.workspace.list("/")} == {"/Shared", "/Users"}
    assert [o.path for o in bot.workspace.list("/Users")] == [home]
    notebook(bot, f"{home}/mine")
    notebook(bot, "/Shared/ours")
    admin_home = f"/Users/{login.username}"
    for denied in (lambda: notebook(bot, f"{admin_home}/theirs"), lambda: bot.workspace.mkdirs("/Team"),
                   lambda: list(bot.workspace.list(admin_home))):
        with pytest.raises(PermissionDenied):
            denied()
    assert f"{home}/mine" in {o.path for o in owner.workspace.list(home)}   # admins see everything

    # A grant on a folder to a group reaches the notebooks below it.
    owner.workspace.mkdirs("/Projects/alpha")
    notebook(owner, "/Projects/alpha/nb")
    projects = owner.workspace.get_status("/Projects").object_id
    nb = owner.workspace.get_status("/Projects/alpha/nb").object_id
    with pytest.raises(PermissionDenied):
        bot.workspace.get_status("/Projects/alpha/nb")
    owner.workspace.set_permissions("directories", str(projects), access_control_list=[
        Grant(group_name=team.display_name, permission_level=Level.CAN_READ)])
    assert bot.workspace.get_status("/Projects/alpha/nb").object_id == nb
    assert [o.path for o in bot.workspace.list("/Projects/alpha")] == ["/Projects/alpha/nb"]
    assert "print(1)" in base64.b64decode(bot.workspace.export("/Projects/alpha/nb").content).decode()
    assert "/Projects" in {o.path for o in bot.workspace.list("/")}
    for denied in (lambda: notebook(bot, "/Projects/alpha/nb", overwrite=True), lambda: bot.workspace.delete("/Projects/alpha/nb")):
        with pytest.raises(PermissionDenied):
            denied()
    acl = owner.workspace.get_permissions("notebooks", str(nb))
    assert acl.object_id == f"/notebooks/{nb}" and acl.object_type == "notebook"
    entry = next(e for e in acl.access_control_list if e.group_name == team.display_name)
    assert [(p.permission_level, p.inherited, p.inherited_from_object) for p in entry.all_permissions] == [
        (Level.CAN_READ, True, [f"/directories/{projects}"])]
    assert any(e.group_name == "admins" for e in acl.access_control_list)

    # PATCH adds a grant on the notebook itself: the robot may now change it, but not delete it from a folder
    # it only reads.
    owner.workspace.update_permissions("notebooks", str(nb), access_control_list=[
        Grant(service_principal_name=principal.application_id, permission_level=Level.CAN_EDIT)])
    notebook(bot, "/Projects/alpha/nb", overwrite=True)
    with pytest.raises(PermissionDenied):
        bot.workspace.delete("/Projects/alpha/nb")
    mine = next(e for e in owner.workspace.get_permissions("notebooks", str(nb)).access_control_list
                if e.service_principal_name == principal.application_id)
    assert [(p.permission_level, p.inherited) for p in mine.all_permissions] == [(Level.CAN_EDIT, False)]
    # PUT replaces the folder's grants: none left, the robot reads nothing there but its own grant.
    owner.workspace.set_permissions("directories", str(projects), access_control_list=[])
    with pytest.raises(PermissionDenied):
        list(bot.workspace.list("/Projects/alpha"))
    assert bot.workspace.get_status("/Projects/alpha/nb").object_id == nb

    levels = [l.permission_level for l in owner.workspace.get_permission_levels("notebooks", str(nb)).permission_levels]
    assert levels == [Level.CAN_READ, Level.CAN_RUN, Level.CAN_EDIT, Level.CAN_MANAGE]
    with pytest.raises(ResourceDoesNotExist):
        owner.workspace.get_permissions("notebooks", str(projects))   # a folder, not a notebook
    with pytest.raises(BadRequest):
        owner.api_client.do("PATCH", f"/api/2.0/permissions/notebooks/{nb}",
                            body={"access_control_list": [{"user_name": login.username, "permission_level": "CAN_USE"}]})
    with pytest.raises(BadRequest):
        owner.api_client.do("PATCH", f"/api/2.0/permissions/notebooks/{nb}",
                            body={"access_control_list": [{"user_name": "nobody@example.com", "permission_level": "CAN_READ"}]})
    with pytest.raises(PermissionDenied):   # changing permissions needs CAN_MANAGE
        bot.workspace.update_permissions("notebooks", str(nb), access_control_list=[
            Grant(group_name="users", permission_level=Level.CAN_MANAGE)])
    a.groups.delete(team.id)
    a.service_principals.delete(principal.id)


def test_lakebase_projects_answer_by_can_use_and_can_manage(a, kiln, login):
    """The creator of a project manages it; CAN_USE reads it, manages its roles and databases and gets
    credentials for its endpoints; CAN_MANAGE also changes branches, computes and the project; others see
    nothing of it. Workspace admins manage every project."""
    from databricks.sdk.service.postgres import Branch, BranchSpec, Project, ProjectSpec, Role, RoleRoleSpec
    ws = workspace(a)
    host = f"{kiln.url}/w/{ws.deployment_name}"
    owner = WorkspaceClient(host=host, username=login.username, password=login.password, auth_type="basic")
    (maker, maker_secret), (user, user_secret) = robot(a), robot(a)
    for principal in (maker, user):
        a.workspace_assignment.update(ws.workspace_id, int(principal.id), permissions=[iam.WorkspacePermission.USER])
    mine, theirs = as_robot(kiln, ws, maker, maker_secret), as_robot(kiln, ws, user, user_secret)
    pid = unique("proj")
    project, prod = f"projects/{pid}", f"projects/{pid}/branches/production"
    endpoint = f"{prod}/endpoints/primary"
    mine.postgres.create_project(project=Project(), project_id=pid).wait()
    assert pid in {p.name.split("/")[-1] for p in owner.postgres.list_projects()}
    assert pid not in {p.name.split("/")[-1] for p in theirs.postgres.list_projects()}
    for denied in (lambda: theirs.postgres.get_project(project), lambda: list(theirs.postgres.list_branches(project)),
                   lambda: theirs.postgres.generate_database_credential(endpoint=endpoint)):
        with pytest.raises(PermissionDenied):
            denied()

    mine.permissions.update("database-projects", pid, access_control_list=[
        iam.AccessControlRequest(service_principal_name=user.application_id, permission_level=iam.PermissionLevel.CAN_USE)])
    acl = {(e.service_principal_name or e.group_name): [p.permission_level for p in e.all_permissions]
           for e in owner.permissions.get("database-projects", pid).access_control_list}
    assert acl[maker.application_id] == [iam.PermissionLevel.CAN_MANAGE]
    assert acl[user.application_id] == [iam.PermissionLevel.CAN_USE] and acl["admins"] == [iam.PermissionLevel.CAN_MANAGE]
    assert theirs.postgres.get_project(project).name == project
    assert [b.name for b in theirs.postgres.list_branches(project)] == [prod]
    assert theirs.postgres.generate_database_credential(endpoint=endpoint).token
    theirs.postgres.create_role(parent=prod, role=Role(spec=RoleRoleSpec(postgres_role="reader")), role_id="reader").wait()
    for denied in (lambda: theirs.postgres.create_branch(parent=project, branch=Branch(spec=BranchSpec(source_branch=prod, no_expiry=True)),
                                                         branch_id="dev").wait(),
                   lambda: theirs.postgres.delete_project(project).wait(),
                   lambda: theirs.permissions.update("database-projects", pid, access_control_list=[
                       iam.AccessControlRequest(group_name="users", permission_level=iam.PermissionLevel.CAN_MANAGE)])):
        with pytest.raises(PermissionDenied):
            denied()
    with pytest.raises(BadRequest):
        mine.permissions.update("database-projects", pid, access_control_list=[
            iam.AccessControlRequest(service_principal_name=user.application_id, permission_level=iam.PermissionLevel.CAN_READ)])
    levels = [l.permission_level for l in owner.permissions.get_permission_levels("database-projects", pid).permission_levels]
    assert levels == [iam.PermissionLevel.CAN_USE, iam.PermissionLevel.CAN_MANAGE]
    # PUT replaces the grants: without one, even the maker is out; admins are not.
    owner.permissions.set("database-projects", pid, access_control_list=[])
    with pytest.raises(PermissionDenied):
        mine.postgres.get_project(project)
    owner.postgres.delete_project(project).wait()
    for principal in (maker, user):
        a.service_principals.delete(principal.id)


def test_workspace_admins_manage_secrets_of_their_service_principals_through_the_proxy(a, kiln, login):
    ws = workspace(a)
    owner = WorkspaceClient(host=f"{kiln.url}/w/{ws.deployment_name}", username=login.username, password=login.password,
                            auth_type="basic")
    principal, first = robot(a)
    with pytest.raises(ResourceDoesNotExist):   # not assigned to this workspace
        owner.service_principal_secrets_proxy.create(principal.id)
    a.workspace_assignment.update(ws.workspace_id, int(principal.id), permissions=[iam.WorkspacePermission.USER])
    made = owner.service_principal_secrets_proxy.create(principal.id, lifetime="3600s")
    assert made.secret and made.id
    assert {s.id for s in owner.service_principal_secrets_proxy.list(principal.id)} == {s.id for s in a.service_principal_secrets.list(principal.id)}
    assert as_robot(kiln, ws, principal, made.secret).current_user.me().user_name == principal.application_id
    with pytest.raises(PermissionDenied):   # a user of the workspace, not its admin
        as_robot(kiln, ws, principal, made.secret).service_principal_secrets_proxy.create(principal.id)
    owner.service_principal_secrets_proxy.delete(principal.id, made.id)
    with pytest.raises(Exception):
        as_robot(kiln, ws, principal, made.secret).current_user.me()
    assert as_robot(kiln, ws, principal, first).current_user.me().user_name == principal.application_id
    # An account admin's secrets stay with the Account API.
    a.service_principals.patch(principal.id, schemas=PATCH, operations=[
        iam.Patch(op=iam.PatchOp.ADD, path="roles", value=[{"value": "account_admin"}])])
    with pytest.raises(PermissionDenied):
        owner.service_principal_secrets_proxy.create(principal.id)
    a.service_principals.delete(principal.id)
