"""The fidelity round (issue 13): what real clients, field reports and a new user hit, each with the value
Databricks itself answers."""
from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
import uuid

import pytest
import requests
from databricks.sdk import AccountClient, WorkspaceClient
from databricks.sdk.errors import BadRequest, InvalidParameterValue, InvalidState
from databricks.sdk.service import provisioning as p
from databricks.sdk.service.workspace import ExportFormat, ImportFormat, Language, ObjectType

from conftest import CLI, KILN, clean_env, free_port, read_account_login, start_kiln, traversable
from test_account_api import credential, storage, unique, workspace
from test_lakebase import app_role, connect


# --- 1. Lakebase update masks, for every resource kind --------------------------------------------------

@pytest.fixture(scope="module")
def masked(w):
    from databricks.sdk.service.postgres import Project, ProjectSpec
    w.postgres.create_project(project=Project(spec=ProjectSpec(display_name="Masks")), project_id="masks").wait()
    yield "projects/masks"
    w.postgres.delete_project("projects/masks", purge=True).wait()


def patch(w, name, mask, spec):
    return w.api_client.do("PATCH", f"/api/2.0/postgres/{name}", query={"update_mask": mask}, body={"spec": spec})


def test_a_named_message_needs_its_oneof_and_spec_merges(w, masked):
    limits = {"default_endpoint_settings": {"autoscaling_limit_min_cu": 0.5, "autoscaling_limit_max_cu": 2}}
    with pytest.raises(InvalidParameterValue, match=r"^Field 'spec\.default_endpoint_settings\.suspension' is in "
                                                    r"update_mask but not provided in request$"):
        patch(w, masked, "spec.default_endpoint_settings", limits)
    before = w.postgres.get_project(masked).status.default_endpoint_settings.suspend_timeout_duration
    patch(w, masked, "spec.default_endpoint_settings.autoscaling_limit_max_cu", limits)
    patch(w, masked, "spec", limits)
    settings = w.postgres.get_project(masked).status.default_endpoint_settings
    assert settings.autoscaling_limit_max_cu == 2 and settings.autoscaling_limit_min_cu == 0.5
    assert settings.suspend_timeout_duration == before


@pytest.mark.parametrize("kind, mask", [
    ("project", "spec.default_endpoint_settings.suspend_timeout_duration"), ("project", "initial_endpoint_spec"),
    ("project", "spec.pg_version"), ("branch", "spec.ttl"), ("branch", "spec.no_expiry"),
    ("endpoint", "spec.suspend_timeout_duration"), ("endpoint", "spec.endpoint_type"), ("role", "spec.postgres_role"),
    ("database", "spec.owner"),
])
def test_members_and_fixed_fields_are_unknown_paths(w, masked, kind, mask):
    branch = f"{masked}/branches/production"
    name = {"project": lambda: masked, "branch": lambda: branch, "endpoint": lambda: f"{branch}/endpoints/primary",
            "role": lambda: next(w.postgres.list_roles(branch)).name,
            "database": lambda: next(w.postgres.list_databases(branch)).name}[kind]()
    with pytest.raises(InvalidParameterValue, match=f"^Unknown field path in update_mask: '{mask}'$"):
        patch(w, name, mask, {})


def test_a_null_oneof_member_is_missing_for_endpoints_and_branches(w, masked):
    endpoint = f"{masked}/branches/production/endpoints/primary"
    before = w.postgres.get_endpoint(endpoint).status
    with pytest.raises(InvalidParameterValue, match="'spec.suspension' is in update_mask but not provided"):
        patch(w, endpoint, "spec.suspension", {"suspend_timeout_duration": None})
    after = w.postgres.get_endpoint(endpoint).status
    assert after.suspend_timeout_duration == before.suspend_timeout_duration
    patch(w, endpoint, "spec.suspension", {"suspend_timeout_duration": "600s"})
    assert w.postgres.get_endpoint(endpoint).status.suspend_timeout_duration.seconds == 600
    branch = f"{masked}/branches/production"
    with pytest.raises(InvalidParameterValue, match="'spec.expiration' is in update_mask but not provided"):
        patch(w, branch, "spec.expiration", {"ttl": None})
    with pytest.raises(InvalidParameterValue, match="'spec.expiration' is in update_mask but not provided"):
        patch(w, branch, "*", {"is_protected": False})


def test_role_and_database_masks(w, masked):
    role = next(w.postgres.list_roles(f"{masked}/branches/production")).name
    with pytest.raises(InvalidParameterValue, match="'spec.attributes.bypassrls' is in update_mask but not provided"):
        patch(w, role, "spec.attributes", {"attributes": {"createdb": True, "createrole": True}})
    database = next(w.postgres.list_databases(f"{masked}/branches/production")).name
    with pytest.raises(InvalidParameterValue, match="'spec.role' is in update_mask but not provided"):
        patch(w, database, "spec.role", {})


# --- 2. Updating a RUNNING workspace -----------------------------------------------------------------------

def key(a, *use_cases):
    return a.encryption_keys.create(use_cases=[p.KeyUseCase(u) for u in use_cases], aws_key_info=p.CreateAwsKeyInfo(
        key_arn=f"arn:aws:kms:us-east-1:123456789012:key/{uuid.uuid4()}")).customer_managed_key_id


def network(a):
    return a.networks.create(network_name=unique("net"), vpc_id="vpc-0a1b2c3d4e5f",
                             subnet_ids=["subnet-0a1b2c3d", "subnet-1a2b3c4d"], security_group_ids=["sg-0a1b2c3d"]).network_id


def pas(a):
    return a.private_access.create(private_access_settings_name=unique("pas"), region="us-east-1").private_access_settings_id


def test_running_workspace_takes_tags_keys_and_access_settings(a):
    ws = workspace(a, custom_tags={"old": "x"})
    updated = a.workspaces.update(ws.workspace_id, p.Workspace(custom_tags={"team": "a"}), update_mask="custom_tags").result()
    assert updated.custom_tags == {"team": "a"} and updated.workspace_status == p.WorkspaceStatus.RUNNING
    assert a.workspaces.update(ws.workspace_id, p.Workspace(custom_tags={}), update_mask="custom_tags").result().custom_tags == {"team": "a"}
    managed, rotated, stored = key(a, "MANAGED_SERVICES"), key(a, "MANAGED_SERVICES"), key(a, "STORAGE")
    for field, value in [("managed_services_customer_managed_key_id", managed), ("managed_services_customer_managed_key_id", rotated),
                         ("storage_customer_managed_key_id", stored), ("private_access_settings_id", pas(a)),
                         ("private_access_settings_id", pas(a)), ("network_connectivity_config_id", "ncc-1"),
                         ("credentials_id", credential(a).credentials_id)]:
        result = a.workspaces.update(ws.workspace_id, p.Workspace(**{field: value}), update_mask=field).result()
        assert getattr(result, field) == value and a.workspaces.get(ws.workspace_id).workspace_status == p.WorkspaceStatus.RUNNING
    # Databricks' rules: a storage key only when there is none; nothing is removed; the rest is fixed.
    with pytest.raises(InvalidParameterValue, match="storage key"):
        a.workspaces.update(ws.workspace_id, p.Workspace(storage_customer_managed_key_id=key(a, "STORAGE")),
                            update_mask="storage_customer_managed_key_id")
    for field in ["private_access_settings_id", "managed_services_customer_managed_key_id", "network_connectivity_config_id"]:
        with pytest.raises(InvalidParameterValue, match="cannot be removed"):
            a.api_client.do("PATCH", f"/api/2.0/accounts/{a.config.account_id}/workspaces/{ws.workspace_id}",
                            query={"update_mask": field}, body={field: None})
    with pytest.raises(InvalidParameterValue, match="customer-managed VPC"):
        a.workspaces.update(ws.workspace_id, p.Workspace(network_id=network(a)), update_mask="network_id")
    with pytest.raises(InvalidState):
        a.workspaces.update(ws.workspace_id, p.Workspace(aws_region="us-west-2"), update_mask="aws_region")
    final = a.workspaces.get(ws.workspace_id)
    assert final.managed_services_customer_managed_key_id == rotated and final.storage_customer_managed_key_id == stored
    assert final.aws_region == "us-east-1"


def test_running_workspace_switches_network_when_it_has_one(a):
    ws = workspace(a, network_id=network(a))
    other = network(a)
    assert a.workspaces.update(ws.workspace_id, p.Workspace(network_id=other), update_mask="network_id").result().network_id == other


# --- 3. Export details -------------------------------------------------------------------------------------

PLAIN_R_IPYNB = json.dumps({"cells": [{"cell_type": "code", "source": "1 + 1", "metadata": {}, "outputs": [],
                                       "execution_count": None}],
                            "metadata": {"kernelspec": {"name": "ir", "language": "R"}, "language_info": {"name": "R"}},
                            "nbformat": 4, "nbformat_minor": 5}).encode()
BARE_IPYNB = json.dumps({"cells": [{"cell_type": "markdown", "source": "# hi", "metadata": {}}],
                         "nbformat": 4, "nbformat_minor": 5}).encode()


def status(http, kiln, path):
    response = http.get(f"{kiln.url}/api/2.0/workspace/get-status", params={"path": path, "return_export_info": "true"})
    assert response.status_code == 200, response.text
    return response.json()


def test_repos_export_format_follows_the_origin(w, http, kiln, home):
    w.workspace.upload(f"{home}/src", b"# Databricks notebook source\nprint(1)\n", format=ImportFormat.SOURCE, language=Language.PYTHON)
    w.workspace.upload(f"{home}/nb", PLAIN_R_IPYNB, format=ImportFormat.JUPYTER)
    w.workspace.upload(f"{home}/auto.ipynb", BARE_IPYNB, format=ImportFormat.AUTO)
    w.workspace.upload(f"{home}/file.txt", b"x", format=ImportFormat.AUTO)
    assert status(http, kiln, f"{home}/src")["repos_export_format"] == "SOURCE"
    assert status(http, kiln, f"{home}/nb")["repos_export_format"] == "JUPYTER"
    assert status(http, kiln, f"{home}/auto")["repos_export_format"] == "JUPYTER"
    assert "repos_export_format" not in status(http, kiln, f"{home}/file.txt")
    assert "repos_export_format" not in http.get(f"{kiln.url}/api/2.0/workspace/get-status", params={"path": f"{home}/nb"}).json()


def test_jupyter_exports_name_the_language_in_lower_case(w, home):
    w.workspace.upload(f"{home}/r", PLAIN_R_IPYNB, format=ImportFormat.JUPYTER)
    w.workspace.upload(f"{home}/bare", BARE_IPYNB, format=ImportFormat.JUPYTER)
    w.workspace.upload(f"{home}/scala", b"// Databricks notebook source\n1", format=ImportFormat.SOURCE, language=Language.SCALA)
    for name, language in [("r", "r"), ("bare", "python"), ("scala", "scala")]:
        exported = json.loads(w.workspace.download(f"{home}/{name}", format=ExportFormat.JUPYTER).read())
        assert exported["metadata"]["language_info"]["name"] == language


@pytest.mark.parametrize("fmt", [ExportFormat.SOURCE, ExportFormat.JUPYTER, ExportFormat.HTML, ExportFormat.DBC,
                                 ExportFormat.R_MARKDOWN])
def test_exporting_twice_gives_the_same_bytes(w, home, fmt):
    w.workspace.upload(f"{home}/nb", b"# Databricks notebook source\n1\n\n# COMMAND ----------\n\n# MAGIC %md x\n",
                       format=ImportFormat.SOURCE, language=Language.R if fmt == ExportFormat.R_MARKDOWN else Language.PYTHON)
    w.workspace.mkdirs(f"{home}/folder")
    w.workspace.upload(f"{home}/folder/inner", b"# Databricks notebook source\n2\n", format=ImportFormat.SOURCE,
                       language=Language.PYTHON)
    first = w.workspace.export(f"{home}/nb", format=fmt).content
    assert w.workspace.export(f"{home}/nb", format=fmt).content == first
    if fmt == ExportFormat.DBC:
        assert w.workspace.export(f"{home}/folder", format=fmt).content == w.workspace.export(f"{home}/folder", format=fmt).content
    if fmt == ExportFormat.JUPYTER:
        nuids = [c["metadata"]["application/vnd.databricks.v1+cell"]["nuid"] for c in json.loads(base64.b64decode(first))["cells"]]
        assert len(set(nuids)) == len(nuids) == 2


def test_every_format_names_a_cell_by_the_nuid_it_was_imported_with(w, home):
    import io
    import zipfile
    from conftest import FIXTURES
    data = (FIXTURES / "jupyter" / "jaceklaskowski__RAG__sql-language.ipynb").read_bytes()
    nuids = [c["metadata"]["application/vnd.databricks.v1+cell"]["nuid"] for c in json.loads(data)["cells"]]
    w.workspace.upload(f"{home}/rag", data, format=ImportFormat.JUPYTER)
    archive = zipfile.ZipFile(io.BytesIO(base64.b64decode(w.workspace.export(f"{home}/rag", format=ExportFormat.DBC).content)))
    model = json.loads(archive.read([n for n in archive.namelist() if n != "manifest.mf"][0]))
    assert [c["nuid"] for c in sorted(model["commands"], key=lambda c: c["position"])] == nuids


# --- 4. The workspace-files API ----------------------------------------------------------------------------

def import_file(http, kiln, path, body, overwrite=None, encode=True):
    from urllib.parse import quote
    target = quote(path.lstrip("/"), safe="@:&=+$") if encode else path.lstrip("/")
    query = {} if overwrite is None else {"overwrite": "true" if overwrite else "false"}
    return http.post(f"{kiln.url}/api/2.0/workspace-files/import-file/{target}", params=query, data=body)


def test_import_file_answers(w, http, kiln, home):
    created = import_file(http, kiln, f"{home}/dir x/a.txt", b"one", overwrite=False)
    assert created.status_code == 404 and created.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    w.workspace.mkdirs(f"{home}/dir x")
    created = import_file(http, kiln, f"{home}/dir x/a.txt", b"one", overwrite=False)
    assert created.status_code == 200 and created.json() == {}
    info = w.workspace.get_status(f"{home}/dir x/a.txt")
    assert info.object_type == ObjectType.FILE and w.workspace.download(f"{home}/dir x/a.txt").read() == b"one"
    conflict = import_file(http, kiln, f"{home}/dir x/a.txt", b"two", overwrite=False)
    assert conflict.status_code == 409
    assert import_file(http, kiln, f"{home}/dir x/a.txt", b"two", overwrite=True, encode=False).status_code == 200
    assert w.workspace.download(f"{home}/dir x/a.txt").read() == b"two"
    notebook = b"# Databricks notebook source\nprint(1)\n"
    assert import_file(http, kiln, f"{home}/nb.py", notebook, overwrite=False).status_code == 200
    assert w.workspace.get_status(f"{home}/nb").object_type == ObjectType.NOTEBOOK
    again = import_file(http, kiln, f"{home}/nb.py", notebook, overwrite=False)
    assert again.status_code == 400 and again.json()["message"] == f"Path ({home}/nb) already exists."
    assert http.get(f"{kiln.url}/api/2.0/workspace-files{home}/dir x/a.txt").content == b"two"


# --- 5. HTTPS ------------------------------------------------------------------------------------------------

@pytest.fixture
def https_kiln(tmp_path, database_url):
    from conftest import fresh_database
    url = fresh_database(database_url, "kiln_https")
    server = start_kiln(traversable(tmp_path), "127.0.0.3", 443, url, extra_env={"KILN_TLS": "true"})
    yield server
    server.stop()


@pytest.mark.skipif(os.geteuid() != 0, reason="the legacy CLI drops the port, so this serves on 443, which needs root")
def test_sdk_and_legacy_cli_over_https(https_kiln, tmp_path):
    kiln = https_kiln
    ca = str(kiln.data_dir / "postgres-tls" / "ca.pem")
    assert any("Kiln is ready on https://127.0.0.3" in line for line in kiln.output)
    assert "host = https://127.0.0.3\n" in (kiln.data_dir / "databrickscfg").read_text()
    with pytest.raises(requests.exceptions.SSLError):
        requests.get("https://127.0.0.3/healthz")
    assert requests.get("https://127.0.0.3/healthz", verify=ca).json() == {"status": "ok"}
    os.environ["REQUESTS_CA_BUNDLE"] = ca
    try:
        w = WorkspaceClient(host="https://127.0.0.3", token=kiln.token, auth_type="pat")
        w.workspace.mkdirs("/Shared/over-tls")
        assert w.current_user.me().user_name == "admin@kiln.local"
    finally:
        del os.environ["REQUESTS_CA_BUNDLE"]
    env = clean_env(DATABRICKS_HOST="https://127.0.0.3", DATABRICKS_TOKEN=kiln.token, HOME=str(tmp_path),
                    REQUESTS_CA_BUNDLE=ca)
    listed = subprocess.run([CLI, "workspace", "ls", "/Shared"], env=env, capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0 and "over-tls" in listed.stdout, listed.stderr


def test_a_restart_with_tls_points_the_profiles_at_https(tmp_path, database_url):
    from conftest import fresh_database
    url = fresh_database(database_url, "kiln_tls_restart")
    data = traversable(tmp_path) / "kiln"
    port = free_port()
    start_kiln(data, "127.0.0.1", port, url).stop()
    assert f"host = http://127.0.0.1:{port}\n" in (data / "databrickscfg").read_text()
    server = start_kiln(data, "127.0.0.1", port, url, extra_env={"KILN_TLS": "1"})
    try:
        profile = (data / "databrickscfg").read_text()
        assert profile.count(f"host = https://127.0.0.1:{port}\n") == 2 and "http://" not in profile
        ca = str(data / "postgres-tls" / "ca.pem")
        assert requests.get(f"https://127.0.0.1:{port}/healthz", verify=ca).status_code == 200
    finally:
        server.stop()


# --- 6. Root with the data directory under a closed folder --------------------------------------------------

@pytest.mark.skipif(os.geteuid() != 0, reason="Kiln runs PostgreSQL as another account only when it is root")
def test_root_under_a_0700_folder_serves_lakebase(tmp_path, database_url):
    from conftest import fresh_database
    from databricks.sdk.service.postgres import Project, ProjectSpec
    closed, elsewhere = traversable(tmp_path) / "closed", tmp_path / "elsewhere"
    for folder in (closed, elsewhere):
        folder.mkdir(mode=0o700)
        folder.chmod(0o700)
    # Branch data lives under the storage root, which may be outside the data directory.
    server = start_kiln(closed / "kiln", "127.0.0.1", free_port(), fresh_database(database_url, "kiln_closed"),
                        extra_env={"KILN_STORAGE_ROOT": str(elsewhere / "storage")})
    try:
        w = WorkspaceClient(host=server.url, token=server.token, auth_type="pat")
        project = w.postgres.create_project(project=Project(spec=ProjectSpec(display_name="Closed")), project_id="closed").wait()
        assert project.status.display_name == "Closed"
        for folder in (closed, elsewhere):
            acl = subprocess.run(["getfacl", "-p", str(folder)], capture_output=True, text=True).stdout
            assert "user:postgres:--x" in acl
    finally:
        server.stop()


# --- 7. The unified host, token scopes and SCIM filters -------------------------------------------------------

def test_host_metadata_names_the_account(kiln, login, a):
    bare = requests.get(f"{kiln.url}/.well-known/databricks-config").json()
    assert bare["account_id"] == login.account_id and bare["workspace_id"]
    assert bare["oidc_endpoint"] == f"{kiln.url}/oidc/accounts/{{account_id}}"
    ws = workspace(a)
    scoped = requests.get(f"{kiln.url}/w/{ws.deployment_name}/.well-known/databricks-config").json()
    assert scoped == {"account_id": login.account_id, "workspace_id": str(ws.workspace_id),
                      "oidc_endpoint": f"{kiln.url}/w/{ws.deployment_name}/oidc"}


def test_scim_filter_as_the_sdk_encodes_it(w, http, kiln):
    w.users.create(user_name="filtered@example.com")
    found = list(w.users.list(filter='userName eq "filtered@example.com"'))
    assert [u.user_name for u in found] == ["filtered@example.com"]
    assert [u.user_name for u in w.users.list(filter='userName sw "FILTERED@" and active eq true')] == ["filtered@example.com"]
    assert list(w.users.list(filter='userName eq "nobody@example.com"')) == []
    with pytest.raises(BadRequest, match="invalidFilter"):
        list(w.users.list(filter="userName bogus"))
    bad = http.get(f"{kiln.url}/api/2.0/preview/scim/v2/Users", params={"filter": "userName zz \"x\""})
    assert bad.status_code == 400 and bad.json()["scimType"] == "invalidFilter" and bad.json()["status"] == "400"


# --- 8. Planned restarts are not crashes ---------------------------------------------------------------------

def test_a_settings_change_is_not_logged_as_a_crash(w, kiln, masked):
    from databricks.sdk.common.types.fieldmask import FieldMask
    from databricks.sdk.service.postgres import Endpoint, EndpointSettings, EndpointSpec, EndpointType
    from databricks.sdk.service.postgres import EndpointStatusState
    endpoint = f"{masked}/branches/production/endpoints/primary"
    assert w.postgres.get_endpoint(endpoint).status.current_state == EndpointStatusState.ACTIVE
    user, password = app_role(w, f"{masked}/branches/production", "restart-check", "restart_check")
    with connect(w, endpoint, user, password) as conn:
        started = conn.execute("select pg_postmaster_start_time()").fetchone()[0]
    seen = len(kiln.output)
    w.postgres.update_endpoint(endpoint, Endpoint(spec=EndpointSpec(
        endpoint_type=EndpointType.ENDPOINT_TYPE_READ_WRITE, settings=EndpointSettings(pg_settings={"work_mem": "16MB"}))),
        FieldMask(["spec.settings.pg_settings"])).wait()
    w.postgres.update_endpoint(endpoint, Endpoint(spec=EndpointSpec(
        endpoint_type=EndpointType.ENDPOINT_TYPE_READ_WRITE, autoscaling_limit_min_cu=1, autoscaling_limit_max_cu=2)),
        FieldMask(["spec.autoscaling_limit_min_cu", "spec.autoscaling_limit_max_cu"])).wait()
    with connect(w, endpoint, user, password) as conn:
        assert conn.execute("select pg_postmaster_start_time()").fetchone()[0] > started   # it did restart
        assert conn.execute("show work_mem").fetchone()[0] == "16MB"
        assert conn.execute("show max_connections").fetchone()[0] == "419"
    time.sleep(0.5)
    assert not [line for line in kiln.output[seen:] if "exited" in line or "warning" in line], kiln.output[seen:]
