"""HTTP conventions, authentication, tokens, identity, first start and restart."""
from __future__ import annotations

import json
import time

import pytest
import requests
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import ResourceDoesNotExist, Unauthenticated
from databricks.sdk.service.workspace import ImportFormat

from conftest import clean_env, free_port, fresh_database, start_kiln


def test_healthz(kiln):
    response = requests.get(f"{kiln.url}/healthz", timeout=5)
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_well_known_config_answers_at_once_without_auth(kiln, w):
    started = time.monotonic()
    response = requests.get(f"{kiln.url}/.well-known/databricks-config", timeout=5)
    assert time.monotonic() - started < 1
    assert response.status_code == 200
    workspace_id = response.json()["workspace_id"]
    assert workspace_id.isdigit()
    # The SDK read it and now sends X-Databricks-Workspace-Id; calls keep working.
    assert str(w.config.workspace_id) == workspace_id
    assert w.current_user.me().user_name == "admin@kiln.local"


def test_unknown_route_is_endpoint_not_found(http, kiln):
    response = http.get(f"{kiln.url}/api/2.0/no/such/thing")
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["error_code"] == "ENDPOINT_NOT_FOUND"


def test_wrong_method_is_a_json_error(http, kiln):
    response = http.get(f"{kiln.url}/api/2.0/workspace/mkdirs", params={"path": "/x"})
    assert response.status_code == 404 and response.json()["error_code"] == "ENDPOINT_NOT_FOUND"
    response = http.delete(f"{kiln.url}/api/2.0/workspace/list")
    assert response.json()["error_code"] == "ENDPOINT_NOT_FOUND"


@pytest.mark.parametrize("body", [b"{", b"[1,2]", b"not json", b'"string"'])
def test_malformed_json_is_malformed_request(http, kiln, body):
    response = http.post(f"{kiln.url}/api/2.0/workspace/mkdirs", data=body)
    assert response.status_code == 400
    assert response.json()["error_code"] == "MALFORMED_REQUEST"


def test_missing_field_is_invalid_parameter_value(http, kiln):
    response = http.post(f"{kiln.url}/api/2.0/workspace/mkdirs", json={})
    assert response.status_code == 400
    assert response.json() == {"error_code": "INVALID_PARAMETER_VALUE", "message": "Missing required field: path"}


def test_wrong_field_type_is_invalid_parameter_value(http, kiln):
    response = http.post(f"{kiln.url}/api/2.0/workspace/delete", json={"path": "/Shared", "recursive": "maybe"})
    assert response.status_code == 400 and response.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    response = http.post(f"{kiln.url}/api/2.0/workspace/mkdirs", json={"path": 12})
    assert response.status_code == 400 and response.json()["error_code"] == "INVALID_PARAMETER_VALUE"


def test_oversized_body_is_refused_with_json(http, kiln):
    response = http.post(f"{kiln.url}/api/2.0/workspace/mkdirs", data=b"{" + b" " * (2 << 20) + b"}")
    assert response.status_code == 413
    assert response.json()["error_code"] == "REQUEST_ENTITY_TOO_LARGE"


def test_get_parameters_from_json_body_with_text_json(http, kiln):
    response = http.get(f"{kiln.url}/api/2.0/workspace/get-status", data=json.dumps({"path": "/Shared"}),
                        headers={"Content-Type": "text/json"})
    assert response.status_code == 200 and response.json()["path"] == "/Shared"


def test_post_body_with_any_content_type(http, kiln):
    for content_type in ("text/json", "text/plain", None):
        headers = {"Content-Type": content_type} if content_type else {}
        response = http.post(f"{kiln.url}/api/2.0/workspace/mkdirs", data=json.dumps({"path": "/Shared/ct"}),
                             headers=headers)
        assert response.status_code == 200 and response.json() == {}


def test_query_plus_decodes_to_space(http, kiln, w):
    w.workspace.mkdirs("/Shared/with space&x=1")
    response = http.get(f"{kiln.url}/api/2.0/workspace/get-status?path=%2FShared%2Fwith+space%26x%3D1")
    assert response.status_code == 200 and response.json()["path"] == "/Shared/with space&x=1"


def test_every_2xx_has_a_json_body(http, kiln):
    for method, path, body in [("POST", "workspace/mkdirs", {"path": "/Shared/j"}),
                               ("POST", "workspace/delete", {"path": "/Shared/j"}),
                               ("GET", "workspace/list", None)]:
        response = http.request(method, f"{kiln.url}/api/2.0/{path}", json=body,
                                params=None if body else {"path": "/Shared"})
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "application/json"
        response.json()


def test_no_credentials_is_401(kiln):
    response = requests.get(f"{kiln.url}/api/2.0/workspace/list", params={"path": "/"}, timeout=5)
    assert response.status_code == 401 and response.json()["error_code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize("header", ["Bearer dapi00000000000000000000000000000000", "Bearer ", "Token abc",
                                    "Basic dXNlcjpwYXNz", "garbage"])
def test_bad_credentials_are_401(kiln, header):
    response = requests.get(f"{kiln.url}/api/2.0/workspace/list", params={"path": "/"},
                            headers={"Authorization": header}, timeout=5)
    assert response.status_code == 401
    assert response.json()["error_code"] == "UNAUTHENTICATED"


def test_sdk_with_bad_token_raises_unauthenticated(kiln):
    client = WorkspaceClient(host=kiln.url, token="dapi-wrong", auth_type="pat")
    with pytest.raises(Unauthenticated):
        client.current_user.me()


def test_bearer_scheme_is_case_insensitive(kiln):
    response = requests.get(f"{kiln.url}/api/2.0/preview/scim/v2/Me", headers={"Authorization": f"bearer {kiln.token}"})
    assert response.status_code == 200


def test_current_user_me(kiln, w):
    me = w.current_user.me()
    assert me.user_name == "admin@kiln.local" and me.active
    assert me.emails[0].value == "admin@kiln.local"
    response = requests.get(f"{kiln.url}/api/2.0/preview/scim/v2/Me", headers={"Authorization": f"Bearer {kiln.token}"})
    assert response.headers["X-Databricks-Org-Id"] == str(w.config.workspace_id)
    assert w.get_workspace_id() == int(w.config.workspace_id)


def test_token_create_use_list_delete(kiln, w):
    created = w.tokens.create(comment="ci token", lifetime_seconds=3600)
    assert created.token_value.startswith("dapi")
    info = created.token_info
    assert info.comment == "ci token" and info.expiry_time - info.creation_time == 3600 * 1000
    other = WorkspaceClient(host=kiln.url, token=created.token_value, auth_type="pat")
    assert other.current_user.me().user_name == "admin@kiln.local"
    assert info.token_id in [t.token_id for t in w.tokens.list()]
    w.tokens.delete(info.token_id)
    assert info.token_id not in [t.token_id for t in w.tokens.list()]
    with pytest.raises(Unauthenticated):
        other.current_user.me()
    with pytest.raises(ResourceDoesNotExist):
        w.tokens.delete(info.token_id)


def test_token_without_lifetime_never_expires(w):
    created = w.tokens.create(comment="forever")
    assert created.token_info.expiry_time == -1
    w.tokens.delete(created.token_info.token_id)


def test_expired_token_is_refused(kiln, w):
    created = w.tokens.create(comment="short", lifetime_seconds=1)
    time.sleep(1.5)
    response = requests.get(f"{kiln.url}/api/2.0/preview/scim/v2/Me",
                            headers={"Authorization": f"Bearer {created.token_value}"})
    assert response.status_code == 401


def test_tokens_are_stored_hashed(kiln, w, database_url):
    created = w.tokens.create(comment="hash check", lifetime_seconds=600)
    if database_url:
        import psycopg
        with psycopg.connect(database_url) as conn:
            rows = conn.execute("SELECT token_hash FROM tokens").fetchall()
    else:
        import sqlite3
        with sqlite3.connect(kiln.data_dir / "kiln.sqlite") as conn:
            rows = conn.execute("SELECT token_hash FROM tokens").fetchall()
    hashes = [r[0] for r in rows]
    assert created.token_value not in hashes and all(len(h) == 64 for h in hashes)


def test_first_start_prints_token_and_writes_profile(kiln):
    text = "".join(kiln.output)
    assert f"export DATABRICKS_HOST={kiln.url}:80 DATABRICKS_TOKEN={kiln.token}" in text or \
        f"export DATABRICKS_HOST={kiln.url} DATABRICKS_TOKEN={kiln.token}" in text
    client = WorkspaceClient(profile="kiln", config_file=str(kiln.data_dir / "databrickscfg"))
    assert client.current_user.me().user_name == "admin@kiln.local"


def test_restart_keeps_everything(tmp_path, database_url):
    url = fresh_database(database_url, "kiln_restart")
    port = free_port()
    first = start_kiln(tmp_path, "127.0.0.1", port, url)
    try:
        client = WorkspaceClient(host=first.url, token=first.token, auth_type="pat")
        client.workspace.mkdirs("/Shared/kept")
        client.workspace.upload("/Shared/kept/f.txt", b"persisted", format=ImportFormat.AUTO)
        extra = client.tokens.create(comment="kept").token_value
        object_id = client.workspace.get_status("/Shared/kept/f.txt").object_id
    finally:
        first.stop()
    assert first.process.returncode == 0, "kiln did not shut down cleanly on SIGTERM"
    second = start_kiln(tmp_path, "127.0.0.1", port, url)
    try:
        assert "DATABRICKS_TOKEN=" not in "".join(second.output)
        client = WorkspaceClient(host=second.url, token=first.token, auth_type="pat")
        assert client.workspace.download("/Shared/kept/f.txt").read() == b"persisted"
        assert client.workspace.get_status("/Shared/kept/f.txt").object_id == object_id
        assert WorkspaceClient(host=second.url, token=extra, auth_type="pat").current_user.me().active
    finally:
        second.stop()
