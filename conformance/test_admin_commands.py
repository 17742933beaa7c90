"""`kiln admin` subcommands, on a server of their own: create a user, reset a password, set the account's
deployment-name prefix."""
from __future__ import annotations

import re
import subprocess

import psycopg
import pytest
import requests
from databricks.sdk import AccountClient
from databricks.sdk.service import provisioning as p

from conftest import KILN, clean_env, free_port, read_account_login, start_kiln


@pytest.fixture
def server(tmp_path, database_url):
    url = None
    if database_url:
        base, _ = database_url.rsplit("/", 1)
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS kiln_admin WITH (FORCE)")
            conn.execute("CREATE DATABASE kiln_admin")
        url = f"{base}/kiln_admin"
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
