"""The meeting packet (issue 11 item 6): `main.py export ... --pdf OUT.pdf` writes one PDF of the Summary, the
CompStat grid, the district and target-area tables with their maps, the hot-spot map, the trends and the shoot
review, made from the workbook's own reports. Read back with poppler: sections and page numbers, the Summary's and
the grid's figures (formatted from the same ReportTables), word heights, embedded fonts, map resolution."""
from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from workstation.core.errors import UserError
from workstation.exports.packet import PACKET_SECTIONS, export_outputs, split_columns
from workstation.exports.workbook import ExportCancelled, export_context, plan_workbook
from workstation.formatting import format_value
from workstation.reports.table import ReportTable

ROOT = Path(__file__).resolve().parents[2]
AS_OF = "2019-09-29"
POPPLER = all(shutil.which(t) for t in ("pdftotext", "pdfinfo", "pdffonts", "pdfimages"))
needs_poppler = pytest.mark.skipif(not POPPLER, reason="poppler-utils not installed (.ci/run installs them)")


def _run(*args) -> str:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=300, check=True).stdout


@pytest.fixture(scope="module")
def packet(demo_path, tmp_path_factory):
    """The CLI writes the workbook and the packet together."""
    out = tmp_path_factory.mktemp("packet")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, str(ROOT / "main.py"), "export", "--workspace", str(demo_path),
                           "--as-of", AS_OF, "--out", str(out / "book.xlsx"), "--pdf", str(out / "packet.pdf")],
                          capture_output=True, text=True, timeout=600, env=env, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [f"Wrote {out / 'book.xlsx'}.", f"Wrote {out / 'packet.pdf'}."]
    return out / "packet.pdf"


@pytest.fixture(scope="module")
def plans(demo_ws):
    ctx = export_context(demo_ws, AS_OF)
    return {p.name: p for p in plan_workbook(ctx)}


def _pages(pdf: Path) -> list[str]:
    n = int(re.search(r"Pages:\s+(\d+)", _run("pdfinfo", str(pdf)))[1])
    return [_run("pdftotext", "-layout", "-f", str(i), "-l", str(i), str(pdf), "-") for i in range(1, n + 1)]


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


@needs_poppler
def test_sections_in_order_with_page_numbers_area_and_as_of(packet):
    pages = _pages(packet)
    n = len(pages)
    assert 15 <= n <= 60
    footers = []
    for i, text in enumerate(pages, start=1):
        assert f"Page {i} of {n}" in text
        assert "As of 2019-09-29" in text                                   # the as-of date on every page
        assert "Areas: Citywide, Center Street Corridor, Capitol Drive East" in text  # and the areas
        footers.append(next(s for s in PACKET_SECTIONS if re.search(rf"^\s*{re.escape(s)}\s+Page {i} of", text, re.M)))
    # each section starts on a new page, in the packet's order, and every section is there
    assert [s for k, s in enumerate(footers) if k == 0 or footers[k - 1] != s] == list(PACKET_SECTIONS)
    assert "Lakeport (demo) CompStat — meeting packet" in pages[0]


@needs_poppler
def test_summary_and_grid_figures_are_the_reports_figures(packet, plans):
    pages = _pages(packet)
    text = {s: _flat(" ".join(p for p in pages if re.search(rf"^\s*{re.escape(s)}\s+Page", p, re.M)))
            for s in PACKET_SECTIONS}
    key = next(t for t in plans["Summary"].all_tables() if t.title.startswith("Key outcomes"))
    assert len(key.rows) >= 5
    for i, row in enumerate(key.rows):  # shown as the workbook shows them: blanks left out, marks (*, †) kept
        shown = [(format_value(v, k), key.cell_marks.get((i, j), "")) for j, (v, k) in enumerate(
            zip(row, key.column_kinds)) if j]
        cells = " ".join(v + m for v, m in shown if v)
        assert f"{row[0]} {cells}" in text["Summary"], row[0]
    grids = plans["CompStat"].all_tables()
    assert len(grids) == 12
    checked = 0
    for t in grids:
        for i, row in enumerate(t.rows):
            for label, c0, c1 in t.header_groups:   # each band's cells appear together, in order, after the label
                shown = [format_value(row[c], t.column_kinds[c]) for c in range(c0, c1 + 1)]
                cells = " ".join(v + t.cell_marks.get((i, c0 + k), "") for k, v in enumerate(shown) if v)  # blank
                # the row's label (its first word: a long label wraps in its cell), then at most the bands before
                # this one on the same printed row, then the band
                first = str(row[0]).split()[0]
                assert re.search(re.escape(first) + r"(?: \S+){0,20} " + re.escape(cells), text["CompStat"]), \
                    (t.title, row[0], label)
                checked += 1
            flag = row[t.columns.index("Flag")]
            if flag:  # a flag wraps inside its cell: its words are there
                assert all(w in text["CompStat"] for w in flag.replace(";", " ").split()), flag
    flags = [r[t.columns.index("Flag")] or "" for t in grids for r in t.rows]
    for word in ("notable", "significant"):
        assert text["CompStat"].count(word) >= sum(f.count(word) for f in flags) > 0
    assert checked == 4 * sum(len(t.rows) for t in grids) == 336
    # the figures the case study prints come through: 71 homicides YTD against 81
    assert "Homicides 71 81 -12%" in text["Summary"]
    assert any(key.cell_marks.values())  # the Summary's exact-test marks are there to be checked
    assert "Shoot review — 23 Sep – 29 Sep 2019" in text["Shoot Review"]


@needs_poppler
def test_words_are_readable_on_every_page(packet):
    """Median word height at least 9.5 pt on every page (8-pt text measures about 9.3 pt): pdftotext -bbox."""
    html = _run("pdftotext", "-bbox", str(packet), "-")
    pages = html.split("<page ")[1:]
    assert pages
    for k, page in enumerate(pages, start=1):
        heights = [float(b) - float(a) for a, b in re.findall(r'yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)"',
                                                             page)]
        assert heights, k
        assert statistics.median(heights) >= 9.5, (k, statistics.median(heights))


@needs_poppler
def test_fonts_embedded_and_maps_at_print_resolution(packet):
    fonts = _run("pdffonts", str(packet)).splitlines()[2:]
    assert fonts and all(" yes " in f and "DejaVu" in f for f in fonts)   # no font left to the printer
    images = [ln.split() for ln in _run("pdfimages", "-list", str(packet)).splitlines()[2:]]
    images = [i for i in images if i[2] == "image"]
    # 5 maps (citywide, the two areas together, each area, hot spots) and 4 trend charts per area
    assert len(images) == 5 + 4 * 3
    assert all(float(i[12]) >= 150 and float(i[13]) >= 150 for i in images)


def test_pdf_alone_cancel_and_bad_names(demo_ws, tmp_path):
    with pytest.raises(UserError, match="must end in .pdf"):
        export_outputs(demo_ws, pdf=tmp_path / "packet.xlsx", as_of=AS_OF)
    with pytest.raises(UserError, match="Name a workbook"):
        export_outputs(demo_ws, as_of=AS_OF)
    calls = []

    def stop():
        calls.append(1)
        return len(calls) > 3

    with pytest.raises(ExportCancelled):
        export_outputs(demo_ws, xlsx=tmp_path / "b.xlsx", pdf=tmp_path / "p.pdf", as_of=AS_OF, should_stop=stop)
    assert list(tmp_path.iterdir()) == []             # nothing written, no temporary file left
    seen = []
    written = export_outputs(demo_ws, pdf=tmp_path / "p.pdf", as_of=AS_OF, area_keys=["citywide"],
                             progress=seen.append)
    assert written == [tmp_path / "p.pdf"] and (tmp_path / "p.pdf").read_bytes()[:5] == b"%PDF-"
    assert [p.name for p in tmp_path.iterdir()] == ["p.pdf"]
    assert seen[-1] == 1.0 and all(0.0 <= f <= 1.0 for f in seen)


def test_wide_tables_split_into_whole_bands_that_fit():
    cols = ["Measure"] + [f"{b} {k}" for b in ("WTD", "28d", "YTD") for k in ("now", "prior", "diff")] + ["Flag"]
    t = ReportTable("t", cols, ["label"] + ["count"] * 9 + ["text"], [["x"] + [1] * 9 + ["f"]],
                    header_groups=[("WTD", 1, 3), ("28d", 4, 6), ("YTD", 7, 9)])
    widths = [100.0] + [40.0] * 9 + [90.0]
    assert split_columns(t, widths, 1000) == [list(range(11))]
    parts = split_columns(t, widths, 400)
    assert all(p[0] == 0 and sum(widths[c] for c in p) <= 400 for p in parts)
    assert sorted(c for p in parts for c in p[1:]) == list(range(1, 11))   # every column once
    for lo in (1, 4, 7):                                                     # bands never cut
        assert any(set(range(lo, lo + 3)) <= set(p) for p in parts)
    assert len(parts) == 2 and parts == [[0, 1, 2, 3, 4, 5, 6], [0, 7, 8, 9, 10]]
