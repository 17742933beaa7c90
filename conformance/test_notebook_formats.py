"""Notebook formats through the Workspace API: every fixture in its own format, the conversion matrix,
folders as DBC and zip, and bad input. Judged with the official SDK, the legacy CLI and the spec's
reference implementation (shared/docs/notebook_formats_reference.py)."""
from __future__ import annotations

import base64
import io
import json
import re
import zipfile
from pathlib import Path

import pytest
from databricks.sdk.errors import DatabricksError, InvalidParameterValue, ResourceAlreadyExists, ResourceDoesNotExist
from databricks.sdk.service.workspace import ExportFormat, ImportFormat, Language, ObjectType

from conftest import FIXTURES
from test_source_fixtures import LANGUAGES, reference

JUPYTER = sorted((FIXTURES / "jupyter").iterdir())
HTML = sorted((FIXTURES / "html").iterdir())
DBC = sorted((FIXTURES / "dbc").iterdir())
SOURCE = sorted((FIXTURES / "source").iterdir())
DATABRICKS_WRITTEN_IPYNB = [p for p in JUPYTER if p.name.startswith("jaceklaskowski__")]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def export_bytes(w, path: str, fmt: ExportFormat) -> bytes:
    return base64.b64decode(w.workspace.export(path, format=fmt).content)


def normalise(command: str) -> str:
    """Differences the spec allows across formats (§8): the inline `%md x` form, blank lines before a
    magic, trailing newlines of magic cells."""
    stripped = command.lstrip(" \n\t")
    if stripped.startswith("%"):
        command = re.sub(r"^(%md(?:-sandbox)?)[ \t]+(?=\n|$)", r"\1", stripped.rstrip("\n"))
        match = re.match(r"^(%md(?:-sandbox)?)[ \t]+(\S.*)", command, re.S)
        if match:
            command = match.group(1) + "\n" + match.group(2)
    return command


def cells_of_source(text: bytes, language: Language) -> list[tuple]:
    nb = reference.parse_source(text.decode(), language.value)
    return [(normalise(c["command"]), c["title"], c["showTitle"]) for c in nb["cells"]]


def dbc_entries(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {i.filename: z.read(i) for i in z.infolist() if i.filename != "manifest.mf" and not i.filename.endswith("/")}


# --- every fixture in its own format --------------------------------------------------------------

@pytest.mark.parametrize("fixture", DATABRICKS_WRITTEN_IPYNB, ids=lambda p: p.name)
def test_databricks_ipynb_exports_byte_for_byte(w, home, fixture):
    data = fixture.read_bytes()
    name = json.loads(data)["metadata"]["application/vnd.databricks.v1+notebook"]["notebookName"]
    w.workspace.upload(f"{home}/{name}", data, format=ImportFormat.JUPYTER)
    assert w.workspace.get_status(f"{home}/{name}").object_type == ObjectType.NOTEBOOK
    document = json.loads(data)
    if "language_info" in document["metadata"]:
        assert export_bytes(w, f"{home}/{name}", ExportFormat.JUPYTER) == data
        assert w.workspace.download(f"{home}/{name}", format=ExportFormat.JUPYTER).read() == data
    else:
        # An export from before 2024 lacks language_info, which today's exports always carry.
        language = document["metadata"]["application/vnd.databricks.v1+notebook"]["language"]
        document["metadata"]["language_info"] = {"name": language}
        assert json.loads(export_bytes(w, f"{home}/{name}", ExportFormat.JUPYTER)) == document


@pytest.mark.parametrize("fixture", JUPYTER, ids=lambda p: p.name)
def test_every_ipynb_imports_cell_for_cell(w, home, fixture):
    data = json.loads(fixture.read_bytes())
    w.workspace.import_(f"{home}/nb", content=b64(fixture.read_bytes()), format=ImportFormat.JUPYTER)
    expected = [(c["command"], c["title"], c["showTitle"]) for c in reference.jupyter_to_commands(data)]
    exported = json.loads(export_bytes(w, f"{home}/nb", ExportFormat.JUPYTER))
    assert [(c["command"], c["title"], c["showTitle"]) for c in reference.jupyter_to_commands(exported)] == expected


def test_auto_import_of_ipynb_strips_the_extension(w, home):
    fixture = FIXTURES / "jupyter" / "jaceklaskowski__RAG__sql-language.ipynb"
    name = json.loads(fixture.read_bytes())["metadata"]["application/vnd.databricks.v1+notebook"]["notebookName"]
    w.workspace.upload(f"{home}/{name}.ipynb", fixture.read_bytes(), format=ImportFormat.AUTO)
    info = w.workspace.get_status(f"{home}/{name}")
    assert info.object_type == ObjectType.NOTEBOOK and info.language == Language.SQL
    # AUTO exports a JUPYTER-backed notebook in its native format.
    assert w.workspace.download(f"{home}/{name}", format=ExportFormat.AUTO).read() == fixture.read_bytes()


@pytest.mark.parametrize("fixture", HTML, ids=lambda p: p.name)
def test_html_fixture_round_trips_its_model(w, home, fixture):
    page = fixture.read_text(encoding="utf-8")
    model = reference.model_from_html(page)
    path = f"{home}/{model['name'].replace('/', '_')}"
    w.workspace.import_(path, content=b64(fixture.read_bytes()), format=ImportFormat.HTML)
    info = w.workspace.get_status(path)
    assert info.language == Language(model["language"].upper())
    exported = export_bytes(w, path, ExportFormat.HTML).decode()
    assert reference.model_from_html(exported) == model
    marker = "__DATABRICKS_NOTEBOOK_MODEL = '"
    if marker in page:
        encoded = page.split(marker, 1)[1].split("'", 1)[0]
        assert exported.split(marker, 1)[1].split("'", 1)[0] == encoded, "model bytes differ from Databricks'"


@pytest.mark.parametrize("fixture", DBC, ids=lambda p: p.name)
def test_dbc_fixture_round_trips_entry_for_entry(w, home, fixture):
    original = dbc_entries(fixture.read_bytes())
    roots = {name.split("/")[0] for name in original}
    single = len(original) == 1 and "/" not in next(iter(original))
    if single:
        name = json.loads(next(iter(original.values())))["name"]
        target = f"{home}/{name}"
    else:
        assert len(roots) == 1
        target = f"{home}/{roots.pop()}"
    w.workspace.import_(target, content=b64(fixture.read_bytes()), format=ImportFormat.DBC)
    exported = dbc_entries(export_bytes(w, target, ExportFormat.DBC))
    assert exported == original


def test_folder_dbc_creates_the_tree_and_refuses_overwrite(w, home):
    fixture = FIXTURES / "dbc" / "databricks-LearningSparkV2__LearningSparkv2__2021-nested.dbc"
    w.workspace.import_(f"{home}/course", content=b64(fixture.read_bytes()), format=ImportFormat.DBC)
    notebooks = [o for o in w.workspace.list(f"{home}/course", recursive=True)]
    assert len(notebooks) == 65 and all(o.object_type == ObjectType.NOTEBOOK for o in notebooks)
    with pytest.raises(ResourceAlreadyExists):
        w.workspace.import_(f"{home}/course", content=b64(fixture.read_bytes()), format=ImportFormat.DBC)
    with pytest.raises(InvalidParameterValue, match="overwrite"):
        w.workspace.import_(f"{home}/course", content=b64(fixture.read_bytes()), format=ImportFormat.DBC, overwrite=True)


# --- the conversion matrix ------------------------------------------------------------------------

MATRIX_FIXTURES = (
    [(p, "SOURCE") for p in SOURCE]
    + [(p, "JUPYTER") for p in JUPYTER]
    + [(p, "HTML") for p in HTML]
    + [(FIXTURES / "dbc" / "lamastex__IntroToSparkRforGLM__2018-single-r-notebook.dbc", "DBC"),
       (FIXTURES / "dbc" / "mslearn-databricks__sample_sales_notebook__2024-single-notebook.dbc", "DBC")]
)


@pytest.mark.parametrize("fixture,fmt", MATRIX_FIXTURES, ids=lambda v: v.name if isinstance(v, Path) else v)
@pytest.mark.parametrize("via", ["SOURCE", "JUPYTER", "HTML", "DBC", "R_MARKDOWN"])
def test_conversion_matrix(w, home, fixture, fmt, via):
    language = LANGUAGES.get(fixture.suffix) if fmt == "SOURCE" else None
    w.workspace.import_(f"{home}/a", content=b64(fixture.read_bytes()), format=ImportFormat(fmt), language=language)
    info = w.workspace.get_status(f"{home}/a")
    if via == "R_MARKDOWN" and info.language != Language.R:
        with pytest.raises(InvalidParameterValue):
            w.workspace.export(f"{home}/a", format=ExportFormat.R_MARKDOWN)
        return
    direct = export_bytes(w, f"{home}/a", ExportFormat.SOURCE)
    converted = export_bytes(w, f"{home}/a", ExportFormat(via))
    w.workspace.import_(f"{home}/b", content=b64(converted), format=ImportFormat(via),
                        language=info.language if via == "SOURCE" else None)
    assert w.workspace.get_status(f"{home}/b").language == info.language
    back = export_bytes(w, f"{home}/b", ExportFormat.SOURCE)
    assert cells_of_source(back, info.language) == cells_of_source(direct, info.language)


# --- folders --------------------------------------------------------------------------------------

def make_tree(w, root):
    w.workspace.mkdirs(f"{root}/sub/deeper")
    w.workspace.mkdirs(f"{root}/empty")
    w.workspace.import_(f"{root}/a", content=b64(b"# Databricks notebook source\nprint('a')"),
                        format=ImportFormat.SOURCE, language=Language.PYTHON)
    w.workspace.import_(f"{root}/sub/b", content=b64(b"-- Databricks notebook source\nSELECT 1"),
                        format=ImportFormat.SOURCE, language=Language.SQL)
    w.workspace.import_(f"{root}/sub/deeper/c", content=b64(b"// Databricks notebook source\nval c = 1"),
                        format=ImportFormat.SOURCE, language=Language.SCALA)
    w.workspace.upload(f"{root}/sub/data.csv", b"x,y\n1,2\n", format=ImportFormat.AUTO)


def test_folder_exports_as_dbc_and_imports_back(w, home):
    make_tree(w, f"{home}/tree")
    archive = export_bytes(w, f"{home}/tree", ExportFormat.DBC)
    with zipfile.ZipFile(io.BytesIO(archive)) as z:
        names = z.namelist()
    assert names[0] == "manifest.mf"
    assert {"tree/", "tree/sub/", "tree/sub/deeper/", "tree/empty/", "tree/a.python", "tree/sub/b.sql",
            "tree/sub/deeper/c.scala"} == set(names[1:])
    w.workspace.import_(f"{home}/copy", content=b64(archive), format=ImportFormat.DBC)
    assert export_bytes(w, f"{home}/copy/sub/deeper/c", ExportFormat.SOURCE) == b"// Databricks notebook source\nval c = 1"
    assert w.workspace.get_status(f"{home}/copy/empty").object_type == ObjectType.DIRECTORY
    with pytest.raises(ResourceDoesNotExist):
        w.workspace.get_status(f"{home}/copy/sub/data.csv")


def test_folder_exports_as_source_zip_and_auto_zip(w, home):
    make_tree(w, f"{home}/tree")
    with zipfile.ZipFile(io.BytesIO(export_bytes(w, f"{home}/tree", ExportFormat.SOURCE))) as z:
        files = {n: z.read(n) for n in z.namelist() if not n.endswith("/")}
    assert files == {"a.py": b"# Databricks notebook source\nprint('a')", "sub/b.sql": b"-- Databricks notebook source\nSELECT 1",
                     "sub/deeper/c.scala": b"// Databricks notebook source\nval c = 1"}
    auto = export_bytes(w, f"{home}/tree", ExportFormat.AUTO)
    with zipfile.ZipFile(io.BytesIO(auto)) as z:
        assert z.read("sub/data.csv") == b"x,y\n1,2\n"
    w.workspace.upload(f"{home}/restored.zip", auto, format=ImportFormat.AUTO)
    assert w.workspace.get_status(f"{home}/restored/sub/deeper/c").language == Language.SCALA
    assert w.workspace.download(f"{home}/restored/sub/data.csv").read() == b"x,y\n1,2\n"


def test_source_zip_import_without_language(w, home):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("x/one.py", "# Databricks notebook source\n1")
        z.writestr("two.sql", "-- Databricks notebook source\n2")
    w.workspace.import_(f"{home}/zipped", content=b64(buffer.getvalue()), format=ImportFormat.SOURCE)
    assert w.workspace.get_status(f"{home}/zipped/x/one").language == Language.PYTHON
    assert w.workspace.get_status(f"{home}/zipped/two").language == Language.SQL


def test_other_formats_of_a_folder_are_refused(w, home):
    make_tree(w, f"{home}/tree")
    for fmt in (ExportFormat.HTML, ExportFormat.JUPYTER, ExportFormat.R_MARKDOWN):
        with pytest.raises(InvalidParameterValue):
            w.workspace.export(f"{home}/tree", format=fmt)


# --- R Markdown -----------------------------------------------------------------------------------

def test_r_markdown_round_trip(w, home):
    text = b"# Databricks notebook source\n# MAGIC %md\n# MAGIC # Title\n\n# COMMAND ----------\n\n# DBTITLE 1,Fit\nfit <- lm(y ~ x)\n\n# COMMAND ----------\n\n# MAGIC %sql\n# MAGIC SELECT 1"
    w.workspace.import_(f"{home}/r", content=b64(text), format=ImportFormat.SOURCE, language=Language.R)
    rmd = export_bytes(w, f"{home}/r", ExportFormat.R_MARKDOWN).decode()
    assert "```{r, title=\"Fit\"}\nfit <- lm(y ~ x)\n```" in rmd and "```{sql}\nSELECT 1\n```" in rmd
    w.workspace.import_(f"{home}/r2", content=b64(rmd.encode()), format=ImportFormat.R_MARKDOWN)
    assert export_bytes(w, f"{home}/r2", ExportFormat.SOURCE) == text


# --- bad input ------------------------------------------------------------------------------------

def zip_of(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return buffer.getvalue()


NOTEBOOK_MODEL = json.dumps({"version": "NotebookV1", "name": "n", "language": "python",
                             "commands": [{"command": "1", "position": 1.0}]}).encode()
BAD_INPUT = {
    "truncated DBC": ("DBC", zip_of({"f/n.python": NOTEBOOK_MODEL})[:40]),
    "corrupt zip": ("DBC", b"PK\x03\x04" + b"\x00" * 100),
    "not a zip": ("DBC", b"hello"),
    "zip slip": ("DBC", zip_of({"../evil.python": NOTEBOOK_MODEL})),
    "absolute name": ("DBC", zip_of({"/abs/n.python": NOTEBOOK_MODEL})),
    "zip bomb": ("DBC", zip_of({"f/bomb.python": b" " * (120 * 1024 * 1024)})),
    "invalid JSON in DBC": ("DBC", zip_of({"f/n.python": b"{not json"})),
    "invalid ipynb JSON": ("JUPYTER", b"{\"cells\": ["),
    "ipynb without cells": ("JUPYTER", b"{\"metadata\": {}}"),
    "ipynb with unknown cell type": ("JUPYTER", json.dumps({"cells": [{"cell_type": "widget", "source": "x"}],
                                                             "metadata": {}, "nbformat": 4}).encode()),
    "nbformat 3": ("JUPYTER", json.dumps({"cells": [], "metadata": {}, "nbformat": 3}).encode()),
    "HTML without a model": ("HTML", b"<html><body>hello</body></html>"),
    "HTML with a broken model": ("HTML", b"<script>var __DATABRICKS_NOTEBOOK_MODEL = '!!!';</script>"),
    "SOURCE zip that is not a zip": ("SOURCE", b"just text"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_bad_input_is_refused_and_nothing_is_created(w, home, http, kiln, case):
    fmt, content = BAD_INPUT[case]
    response = http.post(f"{kiln.url}/api/2.0/workspace/import",
                         json={"path": f"{home}/target", "format": fmt, "content": b64(content)})
    assert response.status_code == 400, response.text
    assert response.json()["error_code"] in ("INVALID_PARAMETER_VALUE", "MAX_NOTEBOOK_SIZE_EXCEEDED")
    assert list(w.workspace.list(home)) == []


def test_dbc_with_a_conflicting_tree_creates_nothing(w, home):
    named_x = NOTEBOOK_MODEL.replace(b'"name": "n"', b'"name": "x"')
    archive = zip_of({"root/x.python": named_x, "root/x/": b"{}", "root/x/y.python": NOTEBOOK_MODEL})
    with pytest.raises(DatabricksError):
        w.workspace.import_(f"{home}/t", content=b64(archive), format=ImportFormat.DBC)
    assert list(w.workspace.list(home)) == []


# --- clients --------------------------------------------------------------------------------------

def test_legacy_cli_import_and_export_in_every_format(cli, w, home, tmp_path):
    ipynb = FIXTURES / "jupyter" / "jaceklaskowski__Demo_Create_agent_tools_using_UC_functions__titles-sql-pip.ipynb"
    cli("workspace", "import", "-l", "PYTHON", "-f", "JUPYTER", str(ipynb), f"{home}/from_ipynb")
    html = FIXTURES / "html" / "lamastex__007g_PivotInSQL__2021-base64.html"
    cli("workspace", "import", "-l", "SQL", "-f", "HTML", str(html), f"{home}/from_html")
    dbc = FIXTURES / "dbc" / "lamastex__IntroToSparkRforGLM__2018-single-r-notebook.dbc"
    cli("workspace", "import", "-l", "R", "-f", "DBC", str(dbc), f"{home}/from_dbc")
    assert w.workspace.get_status(f"{home}/from_html").language == Language.SQL
    assert w.workspace.get_status(f"{home}/from_dbc").language == Language.R
    for fmt, suffix in [("JUPYTER", "ipynb"), ("HTML", "html"), ("DBC", "dbc"), ("SOURCE", "py")]:
        out = tmp_path / f"out.{suffix}"
        cli("workspace", "export", "-f", fmt, f"{home}/from_ipynb", str(out))
        assert out.stat().st_size > 0
    assert (tmp_path / "out.ipynb").read_bytes() == export_bytes(w, f"{home}/from_ipynb", ExportFormat.JUPYTER)


def test_legacy_cli_import_dir_handles_ipynb_html_dbc(cli, w, home, tmp_path):
    src = tmp_path / "src"
    (src / "nested").mkdir(parents=True)
    (src / "nested" / "nb.ipynb").write_bytes((FIXTURES / "jupyter" / "jaceklaskowski__RAG__sql-language.ipynb").read_bytes())
    (src / "page.html").write_bytes((FIXTURES / "html" / "lamastex__01b_show_data__2021-base64-run-script-subcommands.html").read_bytes())
    (src / "single.dbc").write_bytes((FIXTURES / "dbc" / "lamastex__IntroToSparkRforGLM__2018-single-r-notebook.dbc").read_bytes())
    cli("workspace", "import_dir", str(src), f"{home}/imported")
    assert w.workspace.get_status(f"{home}/imported/nested/nb").language == Language.SQL
    assert w.workspace.get_status(f"{home}/imported/page").language == Language.SCALA
    assert w.workspace.get_status(f"{home}/imported/single").language == Language.R
    cli("workspace", "export_dir", f"{home}/imported", str(tmp_path / "out"))
    assert (tmp_path / "out" / "nested" / "nb.sql").read_text().startswith("-- Databricks notebook source")
