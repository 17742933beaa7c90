"""The Account API through the official SDK's AccountClient: configurations, workspaces that provision
and then serve, tenancy, and the documented curl flow."""
from __future__ import annotations

import json
import subprocess
import time
import uuid

import pytest
import requests
from databricks.sdk import AccountClient, WorkspaceClient
from databricks.sdk.errors import (BadRequest, DatabricksError, InvalidState, NotFound, OperationFailed,
                                   ResourceAlreadyExists, ResourceDoesNotExist, Unauthenticated)
from databricks.sdk.service import iam, provisioning as p

ROLE = "arn:aws:iam::123456789012:role/kiln-cross-account"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def credential(a) -> p.Credential:
    return a.credentials.create(
        credentials_name=unique("cred"),
        aws_credentials=p.CreateCredentialAwsCredentials(sts_role=p.CreateCredentialStsRole(role_arn=ROLE)))


def storage(a, bucket: str | None = None) -> p.StorageConfiguration:
    return a.storage.create(storage_configuration_name=unique("storage"),
                            root_bucket_info=p.RootBucketInfo(bucket_name=bucket or unique("bucket")))


def workspace(a, **kwargs) -> p.Workspace:
    cred = kwargs.pop("credentials_id", None) or credential(a).credentials_id
    stor = kwargs.pop("storage_configuration_id", None) or storage(a).storage_configuration_id
    return a.workspaces.create_and_wait(workspace_name=kwargs.pop("workspace_name", unique("ws")),
                                        deployment_name=kwargs.pop("deployment_name", unique("dep")),
                                        aws_region="us-east-1", credentials_id=cred, storage_configuration_id=stor,
                                        **kwargs)


def test_credentials_crud(a, login):
    created = credential(a)
    assert created.credentials_id and created.account_id == login.account_id and created.creation_time > 0
    assert created.aws_credentials.sts_role.role_arn == ROLE
    assert a.credentials.get(created.credentials_id).credentials_name == created.credentials_name
    assert created.credentials_id in [c.credentials_id for c in a.credentials.list()]
    a.credentials.delete(created.credentials_id)
    with pytest.raises(ResourceDoesNotExist):
        a.credentials.get(created.credentials_id)


def test_every_configuration_kind(a):
    stor = storage(a)
    assert a.storage.get(stor.storage_configuration_id).root_bucket_info.bucket_name == stor.root_bucket_info.bucket_name
    net = a.networks.create(network_name=unique("net"), vpc_id="vpc-0a1b2c3d4e5f", subnet_ids=["subnet-0a1b2c3d", "subnet-1a2b3c4d"],
                            security_group_ids=["sg-0a1b2c3d"])
    assert net.network_id and net.vpc_status == p.VpcStatus.UNATTACHED
    key = a.encryption_keys.create(use_cases=[p.KeyUseCase.MANAGED_SERVICES, p.KeyUseCase.STORAGE],
                                   aws_key_info=p.CreateAwsKeyInfo(key_arn="arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"))
    assert key.aws_key_info.key_region == "eu-west-1"
    pas = a.private_access.create(private_access_settings_name=unique("pas"), region="us-east-1")
    assert pas.private_access_level == p.PrivateAccessLevel.ACCOUNT and pas.public_access_enabled is False
    replaced = a.private_access.replace(pas.private_access_settings_id, p.PrivateAccessSettings(
        private_access_settings_name=pas.private_access_settings_name, region="us-east-1", public_access_enabled=True))
    assert replaced.public_access_enabled is True
    endpoint = a.vpc_endpoints.create(vpc_endpoint_name=unique("vpce"), aws_vpc_endpoint_id="vpce-0a1b2c3d4e5f", region="us-east-1")
    assert endpoint.state == "available"
    for listing, ident in [(a.storage.list(), stor.storage_configuration_id), (a.networks.list(), net.network_id),
                           (a.encryption_keys.list(), key.customer_managed_key_id),
                           (a.private_access.list(), pas.private_access_settings_id),
                           (a.vpc_endpoints.list(), endpoint.vpc_endpoint_id)]:
        assert ident in [json.dumps(x.as_dict()) and list(x.as_dict().values())[0] for x in listing] or \
            any(ident in json.dumps(x.as_dict()) for x in listing)


def test_lists_are_bare_arrays(kiln, login):
    response = requests.get(f"{kiln.url}/api/2.0/accounts/{login.account_id}/credentials",
                            auth=(login.username, login.password), timeout=30)
    assert response.status_code == 200 and isinstance(response.json(), list)


@pytest.mark.parametrize("call,code", [
    (lambda a: a.credentials.create(credentials_name=unique("c"), aws_credentials=p.CreateCredentialAwsCredentials(
        sts_role=p.CreateCredentialStsRole(role_arn="arn:aws:iam::12:role/x"))), "MALFORMED_REQUEST"),
    (lambda a: a.storage.create(storage_configuration_name=unique("s"), root_bucket_info=p.RootBucketInfo(bucket_name="Bad_Bucket")), "MALFORMED_REQUEST"),
    (lambda a: a.networks.create(network_name=unique("n"), vpc_id="vpc-0a1b2c3d", subnet_ids=["subnet-0a1b2c3d"],
                                 security_group_ids=["sg-0a1b2c3d"]), "MALFORMED_REQUEST"),
    (lambda a: a.networks.create(network_name=unique("n"), vpc_id="vpc-xyz", subnet_ids=["subnet-0a1b2c3d", "subnet-1a1b2c3d"],
                                 security_group_ids=["sg-0a1b2c3d"]), "MALFORMED_REQUEST"),
    (lambda a: a.encryption_keys.create(use_cases=[p.KeyUseCase.STORAGE], aws_key_info=p.CreateAwsKeyInfo(key_arn="arn:aws:kms:nowhere")), "MALFORMED_REQUEST"),
    (lambda a: a.encryption_keys.create(use_cases=[p.KeyUseCase.STORAGE], aws_key_info=p.CreateAwsKeyInfo(
        key_arn="arn:aws:kms:us-east-1:123456789012:key/abcd", key_region="us-west-2")), "MALFORMED_REQUEST"),
    (lambda a: a.private_access.create(private_access_settings_name=unique("p"), region="mars-north-1"), "MALFORMED_REQUEST"),
])
def test_validation_errors(a, call, code):
    with pytest.raises(DatabricksError) as error:
        call(a)
    assert error.value.error_code == code


def test_unknown_use_case_is_refused(kiln, login):
    response = requests.post(f"{kiln.url}/api/2.0/accounts/{login.account_id}/customer-managed-keys",
                             auth=(login.username, login.password), timeout=30,
                             json={"use_cases": ["EVERYTHING"], "aws_key_info": {"key_arn": "arn:aws:kms:us-east-1:123456789012:key/ab"}})
    assert response.status_code == 400 and response.json()["error_code"] == "MALFORMED_REQUEST"


def test_names_are_unique_per_account(a):
    created = credential(a)
    with pytest.raises(ResourceAlreadyExists):
        a.credentials.create(credentials_name=created.credentials_name, aws_credentials=p.CreateCredentialAwsCredentials(
            sts_role=p.CreateCredentialStsRole(role_arn=ROLE)))


def test_wrong_account_and_bad_login(kiln, login):
    other = AccountClient(host=kiln.url, account_id=str(uuid.uuid4()), username=login.username, password=login.password,
                          auth_type="basic")
    with pytest.raises(NotFound):
        other.credentials.list()
    bad = AccountClient(host=kiln.url, account_id=login.account_id, username=login.username, password="wrong",
                        auth_type="basic")
    with pytest.raises(Unauthenticated):
        bad.credentials.list()


def test_workspace_provisions_and_serves(a, kiln, login):
    started = time.monotonic()
    ws = workspace(a, custom_tags={"team": "data"})
    assert time.monotonic() - started < 2.5
    assert ws.workspace_status == p.WorkspaceStatus.RUNNING and ws.workspace_id
    assert ws.custom_tags == {"team": "data"} and ws.pricing_tier == p.PricingTier.PREMIUM
    assert a.workspaces.get(ws.workspace_id).deployment_name == ws.deployment_name
    assert ws.workspace_id in [w.workspace_id for w in a.workspaces.list()]
    # The new workspace serves at /w/<deployment> and at <deployment>.localhost.
    client = WorkspaceClient(host=f"{kiln.url}/w/{ws.deployment_name}", username=login.username, password=login.password,
                             auth_type="basic")
    assert str(client.config.workspace_id) == str(ws.workspace_id)
    assert client.current_user.me().user_name == login.username
    assert {"/Shared", "/Users"} <= {o.path for o in client.workspace.list("/")}
    response = requests.get(f"{kiln.url}/api/2.0/workspace/get-status", params={"path": "/Shared"},
                            headers={"Host": f"{ws.deployment_name}.localhost"}, auth=(login.username, login.password))
    assert response.status_code == 200


def test_workspaces_are_isolated(a, kiln, login, w):
    ws = workspace(a)
    client = WorkspaceClient(host=f"{kiln.url}/w/{ws.deployment_name}", username=login.username, password=login.password,
                             auth_type="basic")
    client.workspace.mkdirs("/Shared/only-here")
    with pytest.raises(ResourceDoesNotExist):
        w.workspace.get_status("/Shared/only-here")
    token = client.tokens.create(comment="ws token").token_value
    scoped = WorkspaceClient(host=f"{kiln.url}/w/{ws.deployment_name}", token=token, auth_type="pat")
    assert scoped.workspace.get_status("/Shared/only-here")
    response = requests.get(f"{kiln.url}/api/2.0/workspace/list", params={"path": "/"}, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401, "a token of one workspace must not open another"
    response = requests.get(f"{kiln.url}/w/{ws.deployment_name}/api/2.0/workspace/list", params={"path": "/"},
                            headers={"Authorization": f"Bearer {kiln.token}"})
    assert response.status_code == 401


def test_deployment_name_rules(a):
    dep = unique("dep")
    workspace(a, deployment_name=dep)
    for bad in ["Upper", "-lead", "trail-", "under_score", "x" * 64]:
        with pytest.raises(DatabricksError) as error:
            workspace(a, deployment_name=bad)
        assert error.value.error_code == "MALFORMED_REQUEST", bad
    with pytest.raises(ResourceAlreadyExists):
        workspace(a, deployment_name=dep)


def test_generated_deployment_name(a):
    cred, stor = credential(a), storage(a)
    ws = a.workspaces.create_and_wait(workspace_name=unique("ws"), aws_region="us-east-1",
                                      credentials_id=cred.credentials_id, storage_configuration_id=stor.storage_configuration_id)
    assert ws.deployment_name.startswith("dbc-")


def test_missing_references_and_region(a):
    with pytest.raises(ResourceDoesNotExist):
        workspace(a, credentials_id=str(uuid.uuid4()))
    with pytest.raises(ResourceDoesNotExist):
        workspace(a, network_id=str(uuid.uuid4()))
    cred, stor = credential(a), storage(a)
    with pytest.raises(DatabricksError) as error:
        a.workspaces.create(workspace_name="x", aws_region="moon-1", credentials_id=cred.credentials_id,
                            storage_configuration_id=stor.storage_configuration_id)
    assert error.value.error_code == "MALFORMED_REQUEST"


def test_configuration_in_use_cannot_be_deleted(a):
    cred = credential(a)
    ws = workspace(a, credentials_id=cred.credentials_id)
    with pytest.raises(InvalidState):
        a.credentials.delete(cred.credentials_id)
    a.workspaces.delete(ws.workspace_id)
    a.credentials.delete(cred.credentials_id)


def test_failed_workspace_is_repaired_by_patch(a, kiln):
    blocked = unique("blocked")
    (kiln.data_dir / "storage").mkdir(exist_ok=True)
    (kiln.data_dir / "storage" / blocked).write_text("a file where the bucket folder should be")
    bad = storage(a, bucket=blocked)
    with pytest.raises(OperationFailed, match="cannot be written"):
        workspace(a, storage_configuration_id=bad.storage_configuration_id)
    failed = [w for w in a.workspaces.list() if w.storage_configuration_id == bad.storage_configuration_id][0]
    assert failed.workspace_status == p.WorkspaceStatus.FAILED and "cannot be written" in failed.workspace_status_message
    good = storage(a)
    repaired = a.workspaces.update(failed.workspace_id, p.Workspace(storage_configuration_id=good.storage_configuration_id),
                                   update_mask="storage_configuration_id").result(timeout=__import__("datetime").timedelta(seconds=30))
    assert repaired.workspace_status == p.WorkspaceStatus.RUNNING


def test_running_workspace_changes_credentials_not_its_region_or_name(a):
    ws = workspace(a)
    new_cred = credential(a)
    updated = a.workspaces.update(ws.workspace_id, p.Workspace(credentials_id=new_cred.credentials_id),
                                  update_mask="credentials_id").result()
    assert updated.credentials_id == new_cred.credentials_id
    with pytest.raises(InvalidState):
        a.workspaces.update(ws.workspace_id, p.Workspace(aws_region="us-west-2"), update_mask="aws_region")
    with pytest.raises(InvalidState):
        a.workspaces.update(ws.workspace_id, p.Workspace(workspace_name="renamed"), update_mask="workspace_name")


def test_delete_removes_the_workspace_and_its_data(a, kiln, login):
    ws = workspace(a)
    area = kiln.data_dir / "storage"
    assert any(str(ws.workspace_id) == d.name for bucket in area.iterdir() if bucket.is_dir() for d in bucket.iterdir())
    a.workspaces.delete(ws.workspace_id)
    with pytest.raises(ResourceDoesNotExist):
        a.workspaces.get(ws.workspace_id)
    assert not any(str(ws.workspace_id) == d.name for bucket in area.iterdir() if bucket.is_dir() for d in bucket.iterdir())
    response = requests.get(f"{kiln.url}/w/{ws.deployment_name}/api/2.0/workspace/list", params={"path": "/"},
                            auth=(login.username, login.password))
    assert response.status_code == 404


def test_deleting_a_workspace_stops_its_lakebase_computes(a, kiln, login):
    import psycopg
    from databricks.sdk.service.postgres import Project, Role, RoleMembershipRole, RoleRoleSpec
    ws = workspace(a)
    client = WorkspaceClient(host=f"{kiln.url}/w/{ws.deployment_name}", username=login.username,
                             password=login.password, auth_type="basic")
    client.postgres.create_project(project=Project(), project_id="doomed").wait()
    branch = "projects/doomed/branches/production"
    client.postgres.create_role(parent=branch, role_id="app-user", role=Role(spec=RoleRoleSpec(
        postgres_role="app", membership_roles=[RoleMembershipRole.DATABRICKS_SUPERUSER]))).wait()
    password = client.postgres.reveal_role_password(f"{branch}/roles/app-user").password
    port = client.api_client.do("GET", f"/api/2.0/postgres/{branch}/endpoints/primary")["status"]["hosts"]["port"]
    psycopg.connect(host="127.0.0.1", port=port, user="app", password=password, dbname="databricks_postgres").close()

    def running():
        out = subprocess.run(["pgrep", "-f", f"/{ws.workspace_id}/lakebase/"], capture_output=True, text=True).stdout
        return len(out.split())
    assert running() > 0
    a.workspaces.delete(ws.workspace_id)
    assert running() == 0
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(host="127.0.0.1", port=port, user="app", password=password, dbname="databricks_postgres",
                        connect_timeout=3)


def test_concurrent_creates_with_one_deployment_name(a):
    import concurrent.futures
    dep = unique("race")
    cred, stor = credential(a), storage(a)

    def attempt(_):
        try:
            a.workspaces.create(workspace_name="race", deployment_name=dep, aws_region="us-east-1",
                                credentials_id=cred.credentials_id, storage_configuration_id=stor.storage_configuration_id)
            return "ok"
        except ResourceAlreadyExists:
            return "exists"

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(attempt, range(8)))
    assert results.count("ok") == 1


def test_scim_users_on_a_workspace(a, kiln, login):
    ws = workspace(a)
    client = WorkspaceClient(host=f"{kiln.url}/w/{ws.deployment_name}", username=login.username, password=login.password,
                             auth_type="basic")
    created = client.users.create(user_name=f"{unique('user')}@example.com", display_name="New User")
    assert created.user_name in [u.user_name for u in client.users.list()]
    assert client.users.get(created.id).display_name == "New User"
    client.users.delete(created.id)
    with pytest.raises(ResourceDoesNotExist):
        client.users.get(created.id)


def test_scim_users_on_the_account(a, login):
    created = a.users.create(user_name=f"{unique('member')}@example.com", display_name="Account Member")
    assert created.id and created.active and created.display_name == "Account Member"
    assert a.users.get(created.id).user_name == created.user_name
    names = [u.user_name for u in a.users.list()]
    assert login.username in names and created.user_name in names
    found = list(a.users.list(filter=f'userName eq "{created.user_name}"'))
    assert [u.id for u in found] == [created.id]
    descending = [u.user_name for u in a.users.list(sort_by="userName", sort_order=iam.ListSortOrder.DESCENDING)]
    assert descending == sorted(descending, key=str.lower, reverse=True)
    with pytest.raises(BadRequest, match="invalidFilter"):
        list(a.users.list(filter="userName eq"))
    with pytest.raises(DatabricksError, match="uniqueness") as taken:
        a.users.create(user_name=created.user_name)
    assert taken.value.error_code == "SCIM_409"
    a.users.delete(created.id)
    with pytest.raises(ResourceDoesNotExist):
        a.users.get(created.id)


def test_scim_service_principals_on_the_account_and_its_workspaces(a, kiln, login):
    """`a.service_principals` manages an account's service principals; each workspace of the account lists
    them (`w.service_principals`), with SCIM's filter and attribute projection as a workspace installer asks."""
    ws = workspace(a)
    client = WorkspaceClient(host=f"{kiln.url}/w/{ws.deployment_name}", username=login.username, password=login.password,
                             auth_type="basic")
    made = a.service_principals.create(display_name="etl bot")
    assert made.id and made.application_id and made.active and made.display_name == "etl bot"
    assert a.service_principals.get(made.id).application_id == made.application_id
    # A workspace shows the principals assigned to it.
    assert made.application_id not in [s.application_id for s in client.service_principals.list()]
    a.workspace_assignment.update(ws.workspace_id, int(made.id), permissions=[iam.WorkspacePermission.USER])
    assert made.application_id in [s.application_id for s in client.service_principals.list()]
    assert client.service_principals.get(made.id).display_name == "etl bot"
    raw = client.api_client.do("GET", "/api/2.0/preview/scim/v2/ServicePrincipals",
                               query={"attributes": "applicationId", "startIndex": 1, "count": 10000})
    entry = next(r for r in raw["Resources"] if r["id"] == made.id)
    assert set(entry) == {"id", "applicationId", "schemas"} and entry["applicationId"] == made.application_id
    found = list(a.service_principals.list(filter=f'applicationId eq "{made.application_id}"'))
    assert [s.id for s in found] == [made.id]
    # One made on the workspace, with the application id a caller chose (as on Azure), is the account's too.
    chosen = str(uuid.uuid4())
    second = client.service_principals.create(display_name="deploy bot", application_id=chosen)
    assert second.application_id == chosen and second.id in [s.id for s in a.service_principals.list()]
    with pytest.raises(DatabricksError, match="uniqueness") as taken:
        a.service_principals.create(display_name="again", application_id=chosen)
    assert taken.value.error_code == "SCIM_409"
    with pytest.raises(BadRequest, match="invalidValue"):
        a.service_principals.create(display_name=" ")
    # A service principal is not a user, nor a user a service principal.
    assert made.application_id not in [u.user_name for u in a.users.list()]
    with pytest.raises(ResourceDoesNotExist):
        client.users.get(made.id)
    me = client.current_user.me()
    with pytest.raises(ResourceDoesNotExist):
        a.service_principals.get(me.id)
    # A workspace's delete unassigns the principal there; the account's deletes it.
    client.service_principals.delete(made.id)
    assert made.id not in {s.id for s in client.service_principals.list()}
    assert a.service_principals.get(made.id).application_id == made.application_id
    a.service_principals.delete(made.id)
    a.service_principals.delete(second.id)
    for gone in (made.id, second.id):
        with pytest.raises(ResourceDoesNotExist):
            a.service_principals.get(gone)
    assert not {made.id, second.id} & {s.id for s in client.service_principals.list()}


def test_service_principal_secrets_log_in_at_once_and_no_more_once_deleted(a, kiln, login):
    """A service principal made over SCIM logs in with none of its secrets until one is made; each secret made
    with `a.service_principal_secrets` is shown once and logs in (OAuth M2M) at once; a deleted one no more."""
    robot = a.service_principals.create(display_name="m2m robot")
    default = next(ws for ws in a.workspaces.list() if ws.deployment_name == "default")
    a.workspace_assignment.update(default.workspace_id, int(robot.id), permissions=[iam.WorkspacePermission.USER])
    assert list(a.service_principal_secrets.list(robot.id)) == []
    first = a.service_principal_secrets.create(robot.id)
    second = a.service_principal_secrets.create(robot.id, lifetime="3600s")
    assert first.secret and second.secret and first.id != second.id and first.status == "ACTIVE"
    listed = {s.id: s for s in a.service_principal_secrets.list(robot.id)}
    assert set(listed) == {first.id, second.id}
    assert all(not getattr(s, "secret", None) for s in listed.values())   # shown once
    assert listed[first.id].expire_time > listed[second.id].expire_time   # 730 days against an hour

    def me(secret):
        client = WorkspaceClient(host=kiln.url, client_id=robot.application_id, client_secret=secret, auth_type="oauth-m2m")
        return client.current_user.me().user_name

    assert me(first.secret) == robot.application_id
    assert me(second.secret) == robot.application_id
    a.service_principal_secrets.delete(robot.id, first.id)
    with pytest.raises(Exception):
        me(first.secret)
    assert me(second.secret) == robot.application_id
    assert [s.id for s in a.service_principal_secrets.list(robot.id)] == [second.id]
    with pytest.raises(ResourceDoesNotExist):
        a.service_principal_secrets.delete(robot.id, first.id)
    with pytest.raises(BadRequest, match="lifetime"):
        a.service_principal_secrets.create(robot.id, lifetime="an hour")
    with pytest.raises(ResourceDoesNotExist):
        a.service_principal_secrets.create("123")
    a.service_principals.delete(robot.id)
    with pytest.raises(Exception):
        me(second.secret)


def test_documented_curl_flow_with_netrc(kiln, login, tmp_path):
    """Databricks' documented sequence, with curl and a .netrc file, only the host changed."""
    netrc = tmp_path / ".netrc"
    netrc.write_text(f"machine 127.0.0.2\nlogin {login.username}\npassword {login.password}\n")
    netrc.chmod(0o600)
    base = f"{kiln.url}/api/2.0/accounts/{login.account_id}"

    def curl(*args):
        out = subprocess.run(["curl", "-sS", "-n", *args], capture_output=True, text=True, check=True,
                             env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
        return json.loads(out.stdout)

    cred = curl("-X", "POST", f"{base}/credentials", "-d", json.dumps(
        {"credentials_name": unique("curl-cred"), "aws_credentials": {"sts_role": {"role_arn": ROLE}}}))
    stor = curl("-X", "POST", f"{base}/storage-configurations", "-d", json.dumps(
        {"storage_configuration_name": unique("curl-storage"), "root_bucket_info": {"bucket_name": unique("curl-bucket")}}))
    dep = unique("curl")
    ws = curl("-X", "POST", f"{base}/workspaces", "-d", json.dumps(
        {"workspace_name": dep, "deployment_name": dep, "aws_region": "us-west-2",
         "credentials_id": cred["credentials_id"], "storage_configuration_id": stor["storage_configuration_id"]}))
    for _ in range(50):
        status = curl(f"{base}/workspaces/{ws['workspace_id']}")["workspace_status"]
        if status == "RUNNING":
            break
        time.sleep(0.1)
    assert status == "RUNNING"
    users = curl(f"{kiln.url}/w/{dep}/api/2.0/preview/scim/v2/Users")
    assert login.username in [u["userName"] for u in users["Resources"]]
