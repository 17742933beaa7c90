"""An exported HTML notebook, opened in a real browser (headless Chromium, Debian's `chromium`) with no
network: every cell's text is on the rendered page, and a screenshot shows the notebook."""
from __future__ import annotations

import base64
import html
import re
import shutil
import struct
import subprocess

from databricks.sdk.service.workspace import ExportFormat, ImportFormat, Language

NOTEBOOK = """# Databricks notebook source
# MAGIC %md
# MAGIC # Sales report
# MAGIC
# MAGIC Quarterly figures with *emphasis* and a list:
# MAGIC - north
# MAGIC - south

# COMMAND ----------

# DBTITLE 1,Load the data
df = spark.read.table("sales")  # zażółć 🔥
html_snippet = "<script>alert('not run')</script>"
display(df)

# COMMAND ----------

# MAGIC %sql
# MAGIC SELECT region, SUM(amount) AS total FROM sales GROUP BY region"""


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    assert path, "scripts/test installs Debian's chromium"
    return path


def run_chromium(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>", *args],
        capture_output=True, text=True, timeout=120)


def test_exported_html_renders_every_cell_offline(w, home, tmp_path):
    w.workspace.import_(f"{home}/report", content=base64.b64encode(NOTEBOOK.encode()).decode(),
                        format=ImportFormat.SOURCE, language=Language.PYTHON)
    page = w.workspace.download(f"{home}/report", format=ExportFormat.HTML).read()
    assert not re.search(rb"<(script|link|img)[^>]+(src|href)=", page), "the page must not load anything"
    file = tmp_path / "report.html"
    file.write_bytes(page)

    dom = run_chromium("--dump-dom", file.as_uri()).stdout
    body = dom.split("<body>", 1)[1]
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())
    for expected in ["Sales report", "Quarterly figures with emphasis and a list:", "north", "south",
                     "Load the data", 'df = spark.read.table("sales") # zażółć 🔥',
                     "html_snippet = \"<script>alert('not run')</script>\"", "display(df)",
                     "%sql SELECT region, SUM(amount) AS total FROM sales GROUP BY region"]:
        assert expected in text, expected
    assert "<em>emphasis</em>" in dom and "<h1>Sales report</h1>" in dom

    shot = tmp_path / "report.png"
    run_chromium("--screenshot=" + str(shot), "--window-size=1000,900", "--hide-scrollbars", file.as_uri())
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1000, 900)
    assert len(data) > 20_000, "a blank screenshot compresses to almost nothing"
    shutil.copy(shot, "/tmp/kiln-html-export.png")
