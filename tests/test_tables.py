"""Typeset tables (numbers to a common precision, a dash and its footnote for what is missing) and one page
size for every page the PDF writer writes."""

from __future__ import annotations

import datetime as dt
import math
import re

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from initlab.plots.table import DASH, DASH_NOTE, column_format, format_cells, table_figure, table_pages
from initlab.report.pages import PAGE
from initlab.report.pdf import write_pdf


@pytest.mark.parametrize("values,expected", [
    ([0.9805, 0.9613], ["0.9805", "0.9613"]),
    ([32.2, 4.01], ["32.20", "4.01"]),  # one number of decimals for the column: four digits for the largest
    ([2.0, 1.0, 0.0032], ["2.0000", "1.0000", "0.0032"]),  # and two for the smallest nonzero
    ([1.0, 2.5e-7], ["1.000e+00", "2.500e-07"]),  # more than four decades: scientific
    ([3, 12, 400], ["3", "12", "400"]),
])
def test_a_column_has_one_format(values, expected):
    fmt = column_format(values)
    assert [fmt(v) for v in values] == expected


def test_missing_values_are_dashes_with_a_footnote_and_never_nan():
    df = pd.DataFrame({"metric": ["test_accuracy", "xi_c"], "ours": [0.9613, math.inf], "diff": [math.nan, None],
                       "ok": [True, False]})
    rows, numeric, dashed = format_cells(df)
    assert rows == [["test_accuracy", "0.9613", DASH, "yes"], ["xi_c", "∞", DASH, "no"]]
    assert numeric == [False, True, False, False] and dashed
    fig = table_figure(df, "t", notes=("a note",))
    texts = [t.get_text() for t in fig.texts]
    assert "NaN" not in " ".join(texts) and "nan" not in " ".join(texts)
    assert texts[-2:] == ["a note", DASH_NOTE]
    assert DASH_NOTE not in [t.get_text() for t in table_figure(df.drop(columns="diff"), "t").texts]


def test_numbers_are_right_aligned_and_text_left_aligned():
    fig = table_figure(pd.DataFrame({"name": ["a", "bbbb"], "value": [1.5, 10.25]}), "t")
    value_cells = [t for t in fig.texts if t.get_text() in ("1.50", "10.25")]
    name_cells = [t for t in fig.texts if t.get_text() in ("a", "bbbb")]
    assert {t.get_ha() for t in value_cells} == {"right"} and {t.get_ha() for t in name_cells} == {"left"}
    assert len({t.get_position()[0] for t in value_cells}) == 1  # one right edge: the decimal points line up


def test_small_tables_share_a_page_and_a_long_one_gets_its_own():
    small = pd.DataFrame({"a": [1.0, 2.0]})
    pages = table_pages([("one", small, {}, ()), ("two", small, {}, ()), ("long", pd.DataFrame({"a": range(60)}), {},
                                                                          ())])
    assert [caps for caps, _ in pages] == [["one", "two"], ["long"]]


def test_every_page_has_the_report_size(tmp_path):
    figs = [Figure(figsize=size) for size in [(16, 12), (11, 4.75), (5.1, 3.1), (11, 8.5), (4, 9)]]
    for f in figs:
        f.subplots().plot([0, 1])
    path = write_pdf(tmp_path / "r.pdf", figs, title="t", date=dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc))
    boxes = re.findall(rb"/MediaBox \[\s*([\d.\s]+)\]", path.read_bytes())
    sizes = {tuple(round(float(v)) for v in b.split()) for b in boxes}
    assert len(boxes) == len(figs) and sizes == {(0, 0, round(PAGE[0] * 72), round(PAGE[1] * 72))}
    assert [tuple(f.get_size_inches()) for f in figs][0] == (16, 12)  # each figure is back at its own size
    assert np.allclose(figs[2].get_size_inches(), (5.1, 3.1))
