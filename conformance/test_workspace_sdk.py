"""The Workspace API through the official databricks-sdk 0.162.0: every operation and every error."""
from __future__ import annotations

import base64
import concurrent.futures
import io
import time

import pytest
from databricks.sdk.errors import (BadRequest, DatabricksError, InvalidParameterValue, NotFound,
                                   ResourceAlreadyExists, ResourceDoesNotExist)
from databricks.sdk.service.workspace import ExportFormat, ImportFormat, Language, ObjectType

NOTEBOOK = b"# Databricks notebook source\nprint(1)\n\n# COMMAND ----------\n\n# MAGIC %md\n# MAGIC # Title"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_mkdirs_creates_parents_and_is_idempotent(w, home):
    w.workspace.mkdirs(f"{home}/a/b/c")
    w.workspace.mkdirs(f"{home}/a/b/c")
    info = w.workspace.get_status(f"{home}/a/b")
    assert info.object_type == ObjectType.DIRECTORY
    assert info.path == f"{home}/a/b"
    assert isinstance(info.object_id, int) and info.object_id > 0
    assert info.resource_id == str(info.object_id)


def test_list_returns_children_with_all_fields(w, home):
    w.workspace.mkdirs(f"{home}/dir")
    w.workspace.import_(f"{home}/nb", content=b64(NOTEBOOK), format=ImportFormat.SOURCE, language=Language.PYTHON)
    w.workspace.upload(f"{home}/data.txt", b"hello", format=ImportFormat.AUTO)
    objects = {o.path: o for o in w.workspace.list(home)}
    assert set(objects) == {f"{home}/dir", f"{home}/nb", f"{home}/data.txt"}
    nb = objects[f"{home}/nb"]
    assert nb.object_type == ObjectType.NOTEBOOK and nb.language == Language.PYTHON
    assert nb.created_at > 0 and nb.modified_at >= nb.created_at
    f = objects[f"{home}/data.txt"]
    assert f.object_type == ObjectType.FILE and f.size == 5 and f.language is None
    assert len({o.object_id for o in objects.values()}) == 3


def test_list_of_empty_folder_is_empty(w, home):
    assert list(w.workspace.list(home)) == []


def test_list_of_a_notebook_returns_the_notebook(w, home):
    w.workspace.import_(f"{home}/nb", content=b64(NOTEBOOK), format=ImportFormat.SOURCE, language=Language.PYTHON)
    [only] = list(w.workspace.list(f"{home}/nb"))
    assert only.path == f"{home}/nb" and only.object_type == ObjectType.NOTEBOOK


def test_recursive_list_descends(w, home):
    w.workspace.mkdirs(f"{home}/x/y")
    w.workspace.upload(f"{home}/x/y/deep.txt", b"1", format=ImportFormat.AUTO)
    w.workspace.upload(f"{home}/top.txt", b"1", format=ImportFormat.AUTO)
    paths = sorted(o.path for o in w.workspace.list(home, recursive=True))
    assert paths == [f"{home}/top.txt", f"{home}/x/y/deep.txt"]


def test_notebooks_modified_after_filters_notebooks(w, home):
    w.workspace.import_(f"{home}/old", content=b64(NOTEBOOK), format=ImportFormat.SOURCE, language=Language.PYTHON)
    cutoff = w.workspace.get_status(f"{home}/old").modified_at
    time.sleep(0.01)
    w.workspace.import_(f"{home}/new", content=b64(NOTEBOOK), format=ImportFormat.SOURCE, language=Language.PYTHON)
    names = [o.path.rsplit("/", 1)[1] for o in w.workspace.list(home, notebooks_modified_after=cutoff)]
    assert names == ["new"]


def test_object_id_is_stable_across_overwrite(w, home):
    path = f"{home}/nb"
    w.workspace.import_(path, content=b64(NOTEBOOK), format=ImportFormat.SOURCE, language=Language.PYTHON)
    before = w.workspace.get_status(path)
    w.workspace.import_(path, content=b64(b"print(2)"), format=ImportFormat.SOURCE, language=Language.PYTHON,
                        overwrite=True)
    after = w.workspace.get_status(path)
    assert after.object_id == before.object_id and after.created_at == before.created_at
    assert w.workspace.download(path).read() == b"# Databricks notebook source\nprint(2)"


def test_import_existing_without_overwrite_fails(w, home):
    path = f"{home}/nb"
    w.workspace.import_(path, content=b64(NOTEBOOK), format=ImportFormat.SOURCE, language=Language.PYTHON)
    with pytest.raises(ResourceAlreadyExists, match=r"already exists"):
        w.workspace.import_(path, content=b64(NOTEBOOK), format=ImportFormat.SOURCE, language=Language.PYTHON)


def test_import_over_folder_fails_even_with_overwrite(w, home):
    w.workspace.mkdirs(f"{home}/d")
    with pytest.raises(ResourceAlreadyExists):
        w.workspace.import_(f"{home}/d", content=b64(NOTEBOOK), format=ImportFormat.SOURCE,
                            language=Language.PYTHON, overwrite=True)


def test_import_into_missing_parent_fails(w, home):
    with pytest.raises(ResourceDoesNotExist, match="parent folder"):
        w.workspace.import_(f"{home}/missing/nb", content=b64(NOTEBOOK), format=ImportFormat.SOURCE,
                            language=Language.PYTHON)


@pytest.mark.parametrize("language,ext,header", [
    (Language.PYTHON, "py", "# Databricks notebook source"),
    (Language.SCALA, "scala", "// Databricks notebook source"),
    (Language.SQL, "sql", "-- Databricks notebook source"),
    (Language.R, "r", "# Databricks notebook source"),
])
def test_source_import_export_each_language(w, home, language, ext, header):
    c = header.split(" ")[0]
    text = f"{header}\n1 + 1\n\n{c} COMMAND ----------\n\n{c} MAGIC %md\n{c} MAGIC hi".encode()
    w.workspace.import_(f"{home}/nb", content=b64(text), format=ImportFormat.SOURCE, language=language)
    exported = w.workspace.export(f"{home}/nb", format=ExportFormat.SOURCE)
    assert base64.b64decode(exported.content) == text
    assert exported.file_type == ext
    assert w.workspace.get_status(f"{home}/nb").language == language


def test_source_import_without_header_adds_one(w, home):
    w.workspace.import_(f"{home}/nb", content=b64(b"import time\ntime.sleep(0)"), format=ImportFormat.SOURCE,
                        language=Language.PYTHON)
    assert w.workspace.download(f"{home}/nb").read() == b"# Databricks notebook source\nimport time\ntime.sleep(0)"


def test_export_defaults_to_source(w, home):
    w.workspace.import_(f"{home}/nb", content=b64(NOTEBOOK), format=ImportFormat.SOURCE, language=Language.PYTHON)
    assert base64.b64decode(w.workspace.export(f"{home}/nb").content) == NOTEBOOK


def test_auto_import_makes_notebook_of_header_and_strips_extension(w, home):
    w.workspace.upload(f"{home}/job.py", NOTEBOOK, format=ImportFormat.AUTO)
    info = w.workspace.get_status(f"{home}/job")
    assert info.object_type == ObjectType.NOTEBOOK and info.language == Language.PYTHON
    with pytest.raises(ResourceDoesNotExist):
        w.workspace.get_status(f"{home}/job.py")


@pytest.mark.parametrize("name,lang", [("a.scala", Language.SCALA), ("b.sql", Language.SQL), ("c.r", Language.R),
                                       ("d.R", Language.R)])
def test_auto_import_language_from_extension(w, home, name, lang):
    header = {Language.SCALA: "//", Language.SQL: "--"}.get(lang, "#") + " Databricks notebook source\nx"
    w.workspace.import_(f"{home}/{name}", content=b64(header.encode()), format=ImportFormat.AUTO)
    assert w.workspace.get_status(f"{home}/{name.rsplit('.', 1)[0]}").language == lang


def test_auto_import_without_header_makes_file(w, home):
    w.workspace.upload(f"{home}/plain.py", b"print('no header')", format=ImportFormat.AUTO)
    info = w.workspace.get_status(f"{home}/plain.py")
    assert info.object_type == ObjectType.FILE and info.language is None
    assert w.workspace.download(f"{home}/plain.py").read() == b"print('no header')"


def test_raw_import_keeps_bytes_exactly(w, home):
    data = bytes(range(256)) * 3 + b"\x00\x01\xff"
    w.workspace.import_(f"{home}/blob.bin", content=b64(data), format=ImportFormat.RAW)
    assert w.workspace.download(f"{home}/blob.bin").read() == data
    exported = w.workspace.export(f"{home}/blob.bin", format=ExportFormat.SOURCE)
    assert base64.b64decode(exported.content) == data


def test_upload_defaults_to_source_with_language_from_suffix(w, home):
    w.workspace.upload(f"{home}/script.py", b"print(3)")
    info = w.workspace.get_status(f"{home}/script.py")
    assert info.object_type == ObjectType.NOTEBOOK and info.language == Language.PYTHON
    assert w.workspace.download(f"{home}/script.py").read() == b"# Databricks notebook source\nprint(3)"


def test_upload_without_language_or_format_is_refused(w, home):
    with pytest.raises(DatabricksError) as error:
        w.workspace.upload(f"{home}/readme.txt", b"hello")
    assert error.value.error_code == "INVALID_PARAMETER_VALUE"


def test_upload_with_overwrite(w, home):
    w.workspace.upload(f"{home}/f.txt", b"one", format=ImportFormat.AUTO)
    with pytest.raises(ResourceAlreadyExists):
        w.workspace.upload(f"{home}/f.txt", b"two", format=ImportFormat.AUTO)
    w.workspace.upload(f"{home}/f.txt", b"two", format=ImportFormat.AUTO, overwrite=True)
    assert w.workspace.download(f"{home}/f.txt").read() == b"two"


def test_download_with_format(w, home):
    w.workspace.upload(f"{home}/nb.py", NOTEBOOK, format=ImportFormat.AUTO)
    assert w.workspace.download(f"{home}/nb", format=ExportFormat.SOURCE).read() == NOTEBOOK
    assert w.workspace.download(f"{home}/nb", format=ExportFormat.AUTO).read() == NOTEBOOK


def test_unicode_paths_and_content(w, home):
    path = f"{home}/Łukasz notebook & ünïcode 🔥"
    text = "# Databricks notebook source\nprint('zażółć 🔥')".encode()
    w.workspace.import_(path, content=b64(text), format=ImportFormat.SOURCE, language=Language.PYTHON)
    assert w.workspace.get_status(path).path == path
    assert w.workspace.download(path).read() == text
    assert [o.path for o in w.workspace.list(home)] == [path]


def test_workspace_path_alias(w, home):
    w.workspace.mkdirs(f"/Workspace{home}/aliased")
    assert w.workspace.get_status(f"{home}/aliased").object_type == ObjectType.DIRECTORY
    assert w.workspace.get_status(f"/Workspace{home}/aliased").path == f"{home}/aliased"
    w.workspace.import_(f"/Workspace{home}/nb", content=b64(NOTEBOOK), format=ImportFormat.SOURCE,
                        language=Language.PYTHON)
    assert w.workspace.download(f"/Workspace{home}/nb").read() == NOTEBOOK
    w.workspace.delete(f"/Workspace{home}/nb")
    with pytest.raises(ResourceDoesNotExist):
        w.workspace.get_status(f"{home}/nb")


def test_root_is_a_directory(w):
    root = w.workspace.get_status("/")
    assert root.object_type == ObjectType.DIRECTORY and root.object_id == 0
    assert "/Users" in [o.path for o in w.workspace.list("/")]


def test_delete_file_and_empty_folder(w, home):
    w.workspace.upload(f"{home}/f.txt", b"x", format=ImportFormat.AUTO)
    w.workspace.mkdirs(f"{home}/empty")
    w.workspace.delete(f"{home}/f.txt")
    w.workspace.delete(f"{home}/empty")
    assert list(w.workspace.list(home)) == []


def test_delete_non_empty_folder_needs_recursive(w, home):
    w.workspace.mkdirs(f"{home}/full/sub")
    w.workspace.upload(f"{home}/full/sub/f.txt", b"x", format=ImportFormat.AUTO)
    with pytest.raises(BadRequest) as error:
        w.workspace.delete(f"{home}/full")
    assert error.value.error_code == "DIRECTORY_NOT_EMPTY"
    assert str(error.value) == f"Folder ({home}/full) is not empty"
    w.workspace.delete(f"{home}/full", recursive=True)
    with pytest.raises(ResourceDoesNotExist):
        w.workspace.get_status(f"{home}/full/sub/f.txt")


def test_recursive_delete_leaves_siblings_with_common_prefix(w, home):
    for name in ["a", "a b", "a-b", "a0", "ab"]:
        w.workspace.mkdirs(f"{home}/{name}/inner")
    w.workspace.delete(f"{home}/a", recursive=True)
    assert sorted(o.path.rsplit("/", 1)[1] for o in w.workspace.list(home)) == ["a b", "a-b", "a0", "ab"]
    assert w.workspace.get_status(f"{home}/a0/inner").object_type == ObjectType.DIRECTORY


def test_missing_paths_give_resource_does_not_exist(w, home):
    missing = f"{home}/nope"
    for call in (lambda: w.workspace.get_status(missing), lambda: list(w.workspace.list(missing)),
                 lambda: w.workspace.export(missing), lambda: w.workspace.delete(missing),
                 lambda: w.workspace.download(missing).read()):
        with pytest.raises(ResourceDoesNotExist, match=r"doesn't exist"):
            call()


def test_mkdirs_across_a_file_fails(w, home):
    w.workspace.upload(f"{home}/f.txt", b"x", format=ImportFormat.AUTO)
    with pytest.raises(ResourceAlreadyExists, match="not a folder"):
        w.workspace.mkdirs(f"{home}/f.txt/sub")
    with pytest.raises(ResourceAlreadyExists):
        w.workspace.mkdirs(f"{home}/f.txt")


@pytest.mark.parametrize("bad", ["", "relative/path", "/a/../b", "/a/./b", "/a//b", "/a\x00b",
                                 "/" + "x" * 5000, "/" + "n" * 300])
def test_invalid_paths(w, bad):
    with pytest.raises(InvalidParameterValue):
        w.workspace.get_status(bad)
    with pytest.raises(InvalidParameterValue):
        w.workspace.mkdirs(bad)


def test_bad_base64_is_refused(w, home, http, kiln):
    response = http.post(f"{kiln.url}/api/2.0/workspace/import",
                         json={"path": f"{home}/nb", "format": "SOURCE", "language": "PYTHON",
                               "content": "not base64!!"})
    assert response.status_code == 400
    assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"


@pytest.mark.parametrize("field,value", [("format", "source"), ("format", "PDF"), ("language", "JAVA"),
                                         ("language", "python")])
def test_unknown_format_or_language(w, home, field, value, http, kiln):
    body = {"path": f"{home}/nb", "format": "SOURCE", "language": "PYTHON", "content": b64(b"x"), field: value}
    response = http.post(f"{kiln.url}/api/2.0/workspace/import", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    with pytest.raises(ResourceDoesNotExist):
        w.workspace.get_status(f"{home}/nb")


def test_unknown_export_format(w, home, http, kiln):
    w.workspace.import_(f"{home}/nb", content=b64(NOTEBOOK), format=ImportFormat.SOURCE, language=Language.PYTHON)
    response = http.get(f"{kiln.url}/api/2.0/workspace/export", params={"path": f"{home}/nb", "format": "PNG"})
    assert response.status_code == 400 and response.json()["error_code"] == "INVALID_PARAMETER_VALUE"


def test_language_mismatch_with_header_is_refused(w, home):
    with pytest.raises(InvalidParameterValue, match="does not match"):
        w.workspace.import_(f"{home}/nb", content=b64(b"// Databricks notebook source\nval x = 1"),
                            format=ImportFormat.SOURCE, language=Language.PYTHON)


def test_content_over_10_mb_is_refused(w, home):
    big = b"x" * (10 * 1024 * 1024 + 1)
    with pytest.raises(BadRequest) as error:
        w.workspace.import_(f"{home}/big.txt", content=b64(big), format=ImportFormat.RAW)
    assert error.value.error_code == "MAX_NOTEBOOK_SIZE_EXCEEDED"
    with pytest.raises(DatabricksError) as error:
        w.workspace.upload(f"{home}/big2.txt", big, format=ImportFormat.RAW)
    assert error.value.error_code == "MAX_NOTEBOOK_SIZE_EXCEEDED"
    assert list(w.workspace.list(home)) == []


def test_content_of_exactly_10_mb_is_accepted(w, home):
    exact = b"y" * (10 * 1024 * 1024)
    w.workspace.upload(f"{home}/exact.bin", exact, format=ImportFormat.RAW)
    assert w.workspace.download(f"{home}/exact.bin").read() == exact


def test_very_large_request_body_is_answered_not_reset(w, home):
    huge = b"z" * (40 * 1024 * 1024)
    with pytest.raises(DatabricksError) as error:
        w.workspace.upload(f"{home}/huge.bin", huge, format=ImportFormat.RAW)
    assert error.value.error_code == "MAX_NOTEBOOK_SIZE_EXCEEDED"


def test_concurrent_imports_to_one_path_have_one_winner(w, home):
    path = f"{home}/race"

    def attempt(i: int):
        try:
            w.workspace.import_(path, content=b64(f"print({i})".encode()), format=ImportFormat.SOURCE,
                                language=Language.PYTHON)
            return "ok"
        except ResourceAlreadyExists:
            return "exists"

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        results = list(pool.map(attempt, range(16)))
    assert results.count("ok") == 1 and results.count("exists") == 15
    body = w.workspace.download(path).read()
    assert body.startswith(b"# Databricks notebook source\nprint(")


def test_concurrent_mkdirs_and_overwrites_lose_nothing(w, home):
    def work(i: int):
        w.workspace.mkdirs(f"{home}/shared/deep")
        w.workspace.upload(f"{home}/shared/deep/f{i}.txt", f"{i}".encode(), format=ImportFormat.AUTO)
        w.workspace.upload(f"{home}/shared/common.txt", f"{i}".encode(), format=ImportFormat.AUTO, overwrite=True)

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        list(pool.map(work, range(32)))
    names = sorted(o.path.rsplit("/", 1)[1] for o in w.workspace.list(f"{home}/shared/deep"))
    assert names == sorted(f"f{i}.txt" for i in range(32))
    assert int(w.workspace.download(f"{home}/shared/common.txt").read()) in range(32)
