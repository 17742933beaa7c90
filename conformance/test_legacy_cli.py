"""The legacy databricks-cli 0.18.0 `workspace` commands (it drops the port: Kiln serves on :80)."""
from __future__ import annotations

import base64
from pathlib import Path

from databricks.sdk.service.workspace import ImportFormat, Language, ObjectType

PY = "# Databricks notebook source\nprint('cli')"
SCALA = "// Databricks notebook source\nprintln(1)\n\n// COMMAND ----------\n\n// MAGIC %md\n// MAGIC hi"


def test_ls_mkdirs_rm(cli, w, home):
    cli("workspace", "mkdirs", f"{home}/made")
    w.workspace.upload(f"{home}/f.txt", b"x", format=ImportFormat.AUTO)
    w.workspace.import_(f"{home}/nb", content=base64.b64encode(PY.encode()).decode(),
                        format=ImportFormat.SOURCE, language=Language.PYTHON)
    listing = cli("workspace", "ls", home).stdout.split()
    assert sorted(listing) == ["f.txt", "made", "nb"]
    long_listing = cli("workspace", "ls", "-l", "--absolute", home).stdout
    assert f"NOTEBOOK   {home}/nb  PYTHON" in long_listing or f"{home}/nb" in long_listing
    cli("workspace", "rm", f"{home}/made")
    assert "made" not in cli("workspace", "ls", home).stdout.split()


def test_ls_of_empty_folder_prints_nothing(cli, home):
    assert cli("workspace", "ls", home).stdout.strip() == ""


def test_rm_recursive_and_errors(cli, w, home):
    w.workspace.mkdirs(f"{home}/tree/a/b")
    result = cli("workspace", "rm", f"{home}/tree", check=False)
    assert result.returncode == 1 and "DIRECTORY_NOT_EMPTY" in result.stdout + result.stderr
    cli("workspace", "rm", "-r", f"{home}/tree")
    result = cli("workspace", "ls", f"{home}/tree", check=False)
    assert result.returncode == 1 and "RESOURCE_DOES_NOT_EXIST" in result.stdout + result.stderr


def test_import_and_export(cli, w, home, tmp_path):
    source = tmp_path / "job.scala"
    source.write_text(SCALA)
    cli("workspace", "import", "-l", "SCALA", str(source), f"{home}/job")
    info = w.workspace.get_status(f"{home}/job")
    assert info.object_type == ObjectType.NOTEBOOK and info.language == Language.SCALA
    out = tmp_path / "out.scala"
    cli("workspace", "export", f"{home}/job", str(out))
    assert out.read_text() == SCALA
    result = cli("workspace", "import", "-l", "SCALA", str(source), f"{home}/job", check=False)
    assert result.returncode == 1 and "RESOURCE_ALREADY_EXISTS" in result.stdout + result.stderr
    source.write_text("// Databricks notebook source\nprintln(2)")
    cli("workspace", "import", "-o", "-l", "SCALA", str(source), f"{home}/job")
    cli("workspace", "export", "-o", f"{home}/job", str(out))
    assert out.read_text() == "// Databricks notebook source\nprintln(2)"


def test_export_into_a_directory_uses_language_extension(cli, w, home, tmp_path):
    w.workspace.import_(f"{home}/q", content=base64.b64encode(b"-- Databricks notebook source\nSELECT 1").decode(),
                        format=ImportFormat.SOURCE, language=Language.SQL)
    cli("workspace", "export", f"{home}/q", str(tmp_path))
    assert (tmp_path / "q.sql").read_text() == "-- Databricks notebook source\nSELECT 1"


def test_import_dir_and_export_dir_round_trip(cli, w, home, tmp_path):
    src = tmp_path / "src"
    (src / "sub" / "deeper").mkdir(parents=True)
    (src / "a.py").write_text(PY)
    (src / "sub" / "b.scala").write_text(SCALA)
    (src / "sub" / "deeper" / "c.sql").write_text("-- Databricks notebook source\nSELECT 2")
    (src / "sub" / "deeper" / "d.r").write_text("# Databricks notebook source\nx <- 1")
    (src / "notes.txt").write_text("skipped by the CLI")
    cli("workspace", "import_dir", str(src), f"{home}/tree")
    assert w.workspace.get_status(f"{home}/tree/sub/deeper/c").language == Language.SQL
    assert w.workspace.get_status(f"{home}/tree/sub/deeper/d").language == Language.R
    dst = tmp_path / "dst"
    cli("workspace", "export_dir", f"{home}/tree", str(dst))
    exported = {p.relative_to(dst).as_posix(): p.read_text() for p in dst.rglob("*") if p.is_file()}
    assert exported == {
        "a.py": PY,
        "sub/b.scala": SCALA,
        "sub/deeper/c.sql": "-- Databricks notebook source\nSELECT 2",
        "sub/deeper/d.r": "# Databricks notebook source\nx <- 1",
    }
    result = cli("workspace", "import_dir", str(src), f"{home}/tree", check=False)
    assert result.returncode != 0 or "already exists" in (result.stdout + result.stderr).lower()
    cli("workspace", "import_dir", "-o", str(src), f"{home}/tree")
