"""labelcli.render.html: the report document and its files, handed to labelcli.io to write; and the
rule that render reads and writes no files (the HTML report once had its own writer: issue #13)."""
from __future__ import annotations

import re
from pathlib import Path

import labelcli.render
from labelcli.render import html

RENDER = Path(labelcli.render.__file__).parent
# Calls that read or write files; render turns results into text, tables and PNG bytes only.
FILE_ACCESS = re.compile(r"\bopen\(|\btempfile\b|\bos\.(replace|rename|mkdir|makedirs|remove|unlink|fsync)\b"
                         r"|\bnp\.(load|save)\(|\bread_table\(|\bimread\(|\bwrite_(table|json|array|folder)\(")


def test_render_reads_and_writes_no_files():
    for path in sorted(RENDER.glob("*.py")):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            assert not FILE_ACCESS.search(code), f"{path.name}:{n}: {line.strip()}"


def test_report_files_are_the_figures_then_the_page():
    sections = [
        html.Section("a", "A", (html.Paragraph("x"), html.Figure("one.png", b"1", "one"))),
        html.Section("b", "B", (html.Figure("two.png", b"2", "two"), html.Table(("c",), (("v",),)))),
    ]
    doc = html.render("T <&>", [("fact", "1")], sections, footer="f")
    files = html.report_files(doc, sections)
    assert list(files) == ["one.png", "two.png", html.INDEX]
    assert files["one.png"] == b"1" and files[html.INDEX] == doc.encode("utf-8")
    assert "T &lt;&amp;&gt;" in doc and doc.count("data:image/png;base64,") == 2
    assert set(files) <= set(html.REPORT_FILES) | {"one.png", "two.png"}
