"""`kiln admin` subcommands, on a server of their own: create a user, reset a password, set the account's
deployment-name prefix."""
from __future__ import annotations

import re
import time
import subprocess

import psycopg
import pytest
import requests
from databricks.sdk import AccountClient
from databricks.sdk.service import provisioning as p

from conftest import KILN, clean_env, free_port, fresh_database, read_account_login, start_kiln


@pytest.fixture
def server(tmp_path, database_url):
    url = fresh_database(database_url, "kiln_admin")
    kiln = start_kiln(tmp_path, "127.0.0.1", free_port(), url)
    yield kiln, url
    kiln.stop()


def admin(kiln, url, *args) -> str:
    command = [KILN, "admin", *args, "--data-dir", str(kiln.data_dir)] + (["--database-url", url] if url else [])
    result = subprocess.run(command, capture_output=True, text=True, env=clean_env(), timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_create_user_and_reset_password(server):
    kiln, url = server
    out = admin(kiln, url, "create-user", "analyst@example.com")
    password = re.search(r"password: (\S+)", out).group(1)
    me = f"{kiln.url}/api/2.0/preview/scim/v2/Me"
    assert requests.get(me, auth=("analyst@example.com", password)).json()["userName"] == "analyst@example.com"
    new = re.search(r": (\S+)$", admin(kiln, url, "reset-password", "analyst@example.com").strip()).group(1)
    assert requests.get(me, auth=("analyst@example.com", password)).status_code == 401
    assert requests.get(me, auth=("analyst@example.com", new)).status_code == 200
    # Not an admin: the Account API is closed to this user.
    login = read_account_login(kiln.data_dir)
    response = requests.get(f"{kiln.url}/api/2.0/accounts/{login.account_id}/credentials", auth=("analyst@example.com", new))
    assert response.status_code == 403


def test_deployment_prefix(server):
    kiln, url = server
    admin(kiln, url, "set-deployment-prefix", "acme")
    login = read_account_login(kiln.data_dir)
    a = AccountClient(host=kiln.url, account_id=login.account_id, username=login.username, password=login.password,
                      auth_type="basic")
    cred = a.credentials.create(credentials_name="c", aws_credentials=p.CreateCredentialAwsCredentials(
        sts_role=p.CreateCredentialStsRole(role_arn="arn:aws:iam::123456789012:role/r")))
    stor = a.storage.create(storage_configuration_name="s", root_bucket_info=p.RootBucketInfo(bucket_name="acme-bucket"))
    ws = a.workspaces.create_and_wait(workspace_name="w", deployment_name="analytics", aws_region="us-east-1",
                                      credentials_id=cred.credentials_id, storage_configuration_id=stor.storage_configuration_id)
    assert ws.deployment_name == "acme-analytics"
    bare = a.workspaces.create_and_wait(workspace_name="w2", deployment_name="EMPTY", aws_region="us-east-1",
                                        credentials_id=cred.credentials_id, storage_configuration_id=stor.storage_configuration_id)
    assert bare.deployment_name == "acme"
    result = subprocess.run([KILN, "admin", "set-deployment-prefix", "Bad_Prefix", "--data-dir", str(kiln.data_dir)]
                            + (["--database-url", url] if url else []), capture_output=True, text=True, env=clean_env())
    assert result.returncode != 0


def test_private_access_settings_patch(a):
    pas = a.private_access.create(private_access_settings_name="patchable", region="us-east-1")
    response = requests.patch(
        f"{a.config.host}/api/2.0/accounts/{a.config.account_id}/private-access-settings/{pas.private_access_settings_id}",
        params={"update_mask": "public_access_enabled"}, json={"public_access_enabled": True},
        auth=(a.config.username, a.config.password))
    assert response.status_code == 200 and response.json()["public_access_enabled"] is True
    assert a.private_access.get(pas.private_access_settings_id).public_access_enabled is True


def service_principal(kiln, url, *flags) -> tuple[str, str]:
    out = admin(kiln, url, "create-service-principal", "robot", *flags)
    return re.search(r"client_id: (\S+)", out).group(1), re.search(r"client_secret: (\S+)", out).group(1)


def test_oauth_m2m_on_account_and_workspaces(server):
    """AccountClient and WorkspaceClient with client_id/client_secret, discovered through
    /.well-known/databricks-config → discovery document → token endpoint (sdk-contract.md §2.3)."""
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.errors import PermissionDenied, Unauthenticated
    kiln, url = server
    client_id, secret = service_principal(kiln, url, "--admin")
    login = read_account_login(kiln.data_dir)
    metadata = requests.get(f"{kiln.url}/.well-known/databricks-config").json()
    assert metadata["oidc_endpoint"] == f"{kiln.url}/oidc/accounts/{{account_id}}"
    w = WorkspaceClient(host=kiln.url, client_id=client_id, client_secret=secret, auth_type="oauth-m2m")
    assert w.current_user.me().user_name == client_id
    w.workspace.mkdirs("/Shared/from-m2m")
    # A service principal is no User: not listed, not readable through Users.
    admin_client = WorkspaceClient(host=kiln.url, token=kiln.token, auth_type="pat")
    assert client_id not in [u.user_name for u in admin_client.users.list()]
    assert not list(admin_client.users.list(filter=f'userName eq "{client_id}"'))
    from databricks.sdk.errors import NotFound
    with pytest.raises(NotFound):
        admin_client.users.get(w.current_user.me().id)
    a = AccountClient(host=kiln.url, account_id=login.account_id, client_id=client_id, client_secret=secret,
                      auth_type="oauth-m2m")
    cred = a.credentials.create(credentials_name="m2m", aws_credentials=p.CreateCredentialAwsCredentials(
        sts_role=p.CreateCredentialStsRole(role_arn="arn:aws:iam::123456789012:role/r")))
    stor = a.storage.create(storage_configuration_name="m2m", root_bucket_info=p.RootBucketInfo(bucket_name="m2m-bucket"))
    ws = a.workspaces.create_and_wait(workspace_name="m2m", deployment_name="robots", aws_region="us-east-1",
                                      credentials_id=cred.credentials_id, storage_configuration_id=stor.storage_configuration_id)
    scoped = WorkspaceClient(host=f"{kiln.url}/w/{ws.deployment_name}", client_id=client_id, client_secret=secret,
                             auth_type="oauth-m2m")
    assert scoped.current_user.me().user_name == client_id
    assert not [o for o in scoped.workspace.list("/Shared") if o.path == "/Shared/from-m2m"]
    # A workspace token is refused by another workspace; an account token works everywhere in the account.
    token = requests.post(f"{kiln.url}/w/{ws.deployment_name}/oidc/v1/token", data={"grant_type": "client_credentials"},
                          auth=(client_id, secret)).json()["access_token"]
    assert requests.get(f"{kiln.url}/api/2.0/preview/scim/v2/Me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    account_token = requests.post(f"{kiln.url}/oidc/accounts/{login.account_id}/v1/token",
                                  data={"grant_type": "client_credentials"}, auth=(client_id, secret)).json()
    assert account_token["token_type"] == "Bearer" and account_token["expires_in"] > 40
    assert requests.get(f"{kiln.url}/w/{ws.deployment_name}/api/2.0/preview/scim/v2/Me",
                        headers={"Authorization": f"Bearer {account_token['access_token']}"}).status_code == 200
    # The unified host: an M2M token from the OIDC endpoint the bare host names serves any workspace of the
    # account through X-Databricks-Workspace-Id; a workspace's own token never opens the Account API.
    unified = WorkspaceClient(host=kiln.url, workspace_id=str(ws.workspace_id), client_id=client_id, client_secret=secret,
                              auth_type="oauth-m2m")
    assert unified.current_user.me().user_name == client_id
    assert [o.path for o in unified.workspace.list("/Shared") if o.path == "/Shared/from-m2m"] == []
    refused = requests.get(f"{kiln.url}/api/2.0/accounts/{login.account_id}/workspaces", headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 401 and refused.json()["error_code"] == "UNAUTHENTICATED"
    assert requests.get(f"{kiln.url}/api/2.0/accounts/{login.account_id}/workspaces",
                        headers={"Authorization": f"Bearer {account_token['access_token']}"}).status_code == 200
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert requests.get(f"{kiln.url}/w/{ws.deployment_name}/api/2.0/preview/scim/v2/Me",
                        headers={"Authorization": f"Bearer {forged}"}).status_code == 401


def test_oauth_errors(server):
    from databricks.sdk import WorkspaceClient
    kiln, url = server
    client_id, secret = service_principal(kiln, url)
    bad = requests.post(f"{kiln.url}/oidc/v1/token", data={"grant_type": "client_credentials"}, auth=(client_id, "nope"))
    assert bad.status_code == 401 and bad.headers["Content-Type"] == "application/json"
    assert bad.json()["error"] == "invalid_client"
    with pytest.raises(Exception, match="invalid_client"):
        WorkspaceClient(host=kiln.url, client_id=client_id, client_secret="nope", auth_type="oauth-m2m").current_user.me()
    # Not an admin: the Account API refuses it.
    login = read_account_login(kiln.data_dir)
    a = AccountClient(host=kiln.url, account_id=login.account_id, client_id=client_id, client_secret=secret,
                      auth_type="oauth-m2m")
    from databricks.sdk.errors import PermissionDenied
    with pytest.raises(PermissionDenied):
        a.credentials.list()


def run_sql(kiln, url, statement: str, params: tuple = ()):
    if url:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(statement.replace("?", "%s"), params)
    else:
        import sqlite3
        with sqlite3.connect(kiln.data_dir / "kiln.sqlite") as conn:
            conn.execute(statement, params)


def test_restart_finishes_a_workspace_left_provisioning(tmp_path, database_url):
    """A Kiln killed mid-provisioning leaves the workspace PROVISIONING; the next start finishes it."""
    url = fresh_database(database_url, "kiln_restart2")
    port = free_port()
    kiln = start_kiln(tmp_path, "127.0.0.1", port, url)
    login = read_account_login(kiln.data_dir)
    a = AccountClient(host=kiln.url, account_id=login.account_id, username=login.username, password=login.password,
                      auth_type="basic")
    cred = a.credentials.create(credentials_name="c", aws_credentials=p.CreateCredentialAwsCredentials(
        sts_role=p.CreateCredentialStsRole(role_arn="arn:aws:iam::123456789012:role/r")))
    stor = a.storage.create(storage_configuration_name="s", root_bucket_info=p.RootBucketInfo(bucket_name="restart-bucket"))
    ws = a.workspaces.create_and_wait(workspace_name="w", deployment_name="survivor", aws_region="us-east-1",
                                      credentials_id=cred.credentials_id, storage_configuration_id=stor.storage_configuration_id)
    kiln.process.kill()
    kiln.process.wait()
    run_sql(kiln, url, "UPDATE workspaces SET workspace_status = 'PROVISIONING' WHERE workspace_id = ?", (ws.workspace_id,))
    # Also an id of another account, which must behave like a missing one.
    run_sql(kiln, url, "INSERT INTO accounts (account_id, account_name, created_at) VALUES ('other-account', 'Other', 0)")
    run_sql(kiln, url, "INSERT INTO account_resources (resource_id, account_id, kind, resource_name, body, created_at) "
                       "VALUES ('foreign-credential', 'other-account', 'credentials', 'x', '{}', 0)")
    restarted = start_kiln(tmp_path, "127.0.0.1", port, url)
    try:
        for _ in range(50):
            if a.workspaces.get(ws.workspace_id).workspace_status == p.WorkspaceStatus.RUNNING:
                break
            time.sleep(0.1)
        assert a.workspaces.get(ws.workspace_id).workspace_status == p.WorkspaceStatus.RUNNING
        from databricks.sdk.errors import ResourceDoesNotExist
        with pytest.raises(ResourceDoesNotExist):
            a.credentials.get("foreign-credential")
        with pytest.raises(ResourceDoesNotExist):
            a.workspaces.create(workspace_name="x", aws_region="us-east-1", credentials_id="foreign-credential",
                                storage_configuration_id=stor.storage_configuration_id)
    finally:
        restarted.stop()
