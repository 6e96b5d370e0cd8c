"""PDF reports of the studies (:mod:`initlab.study`): a text page of settings and numbers, then the figures.

Written by the one PDF writer (:func:`initlab.report.pdf.write_pdf`: atomically), dated ``SOURCE_DATE_EPOCH``
when it is set and otherwise not dated, and without the run time, so the same study gives the same bytes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

from matplotlib.figure import Figure

from .._version import __version__
from .pages import _fmt_value
from .pdf import epoch_date, write_pdf

__all__ = ["write_study_pdf", "settings_page", "spectrum_pages", "write_spectrum_report"]


def write_study_pdf(path: str | os.PathLike, pages: Sequence[Figure], title: str = "initlab study") -> Path:
    """Write ``pages`` as one PDF through :func:`~initlab.report.pdf.write_pdf` (dated only by
    ``SOURCE_DATE_EPOCH``: same input → same bytes)."""
    return write_pdf(path, pages, title=title, date=epoch_date())


def settings_page(title: str, settings: dict[str, Any], table: Any, columns: Sequence[str], headers: Sequence[str],
                  notes: Sequence[str] = ()) -> Figure:
    """A page of typeset tables (:mod:`initlab.plots.table`): the settings, two to a row, then ``columns`` of the
    frame ``table`` under ``headers``, with ``notes`` as its footnotes."""
    import pandas as pd

    from ..plots.table import tables_figure

    items = [(k, _fmt_value(v)) for k, v in settings.items()]
    half = (len(items) + 1) // 2
    left, right = items[:half], items[half:] + [(" ", " ")] * (2 * half - len(items))  # blank, not a dash
    pairs = pd.DataFrame({"setting": [k for k, _ in left], "value": [v for _, v in left],
                          " setting": [k for k, _ in right], " value": [v for _, v in right]})
    body = table[list(columns)].rename(columns=dict(zip(columns, headers)))
    return tables_figure([("settings", pairs, {}, ()), ("results", body, {}, tuple(notes))],
                         f"{title}   (initlab {__version__})")


_SPECTRUM_COLUMNS = ("label", "depth", "mean", "mean_se", "mean_pred", "var", "var_se", "var_pred", "sv_max",
                     "sv_max_pred", "below", "below_pred", "tv", "tv_null")
_SPECTRUM_HEADERS = ("config", "L", "mean σ²", "± s.e.", "predicted", "var σ²", "± s.e. ", "predicted ", "max σ",
                     "predicted  ", "below", "predicted   ", "TV", "TV noise")  # distinct names (trailing spaces)


def spectrum_pages(result: Any) -> list[Figure]:
    """The pages of a spectrum study: settings and the moments table, the histograms, the moments figure."""
    from ..plots.spectrum import spectrum_histograms, spectrum_moments

    notes = ["TV: total-variation distance between the measured histogram of log10 σ² and the predicted density "
             "integrated over the same bins;",
             "TV noise: the same distance between the first and second half of the samples (the sampling floor)."]
    return [settings_page("Jacobian spectrum at init (dynamical isometry)", result.settings, result.moments,
                          _SPECTRUM_COLUMNS, _SPECTRUM_HEADERS, notes),
            spectrum_histograms(result.bins, result.density, result.moments),
            spectrum_moments(result.moments)]


def write_spectrum_report(result: Any, path: str | os.PathLike) -> Path:
    """PDF of a spectrum study (:func:`spectrum_pages`)."""
    return write_study_pdf(path, spectrum_pages(result), "initlab spectrum report")


def trainability_pages(result: Any) -> list[Figure]:
    """The pages of a trainability study: settings with the scores per steps and seed (the rule beside the
    baselines), then the heatmap."""
    from ..plots.trainability import trainability_heatmap

    settings = dict(result.settings)
    if isinstance(settings.get("data"), str):  # the data's file names, not their absolute paths
        settings["data"] = _short_paths(settings["data"])
    table = result.scores.assign(label=[f"{int(r.steps)} steps, seed {int(r.seed)}"
                                        for r in result.scores.itertuples()])
    notes = [f"trainable: train_acc > {result.threshold:g}. Balanced accuracy of 'depth < 6 xi_c' against 'always "
             "trainable' and the best constant cutoff 'depth < D' (D fitted on the same data: optimistic);",
             "r, slope: log-log correlation and slope of the maximum trainable depth per sigma_w2 against 6 xi_c; "
             f"critical sigma_w2 {result.critical_sigma_w2:.4g}."]
    cols = ("label", "bacc_rule", "bacc_always", "bacc_cutoff", "cutoff", "max_depth_r", "max_depth_slope")
    heads = ("run", "6 ξ_c rule", "always", "best cutoff", "D", "r", "slope")
    return [settings_page("Trainability against the correlation depth ξ_c", settings, table, cols, heads,
                          notes),
            trainability_heatmap(result.points, result.curves, critical_sigma_w2=result.critical_sigma_w2,
                                 scores=result.scores, threshold=result.threshold)]


def _short_paths(text: str) -> str:
    """Every absolute path in ``text`` shortened to its file name (``/data/mnist/train.idx`` → ``train.idx``)."""
    import re

    return re.sub(r"(?:[A-Za-z]:)?[/\\][^\s,;()]*[/\\]([^/\\\s,;()]+)", r"\1", text)


def write_trainability_report(result: Any, path: str | os.PathLike) -> Path:
    """PDF of a trainability study (:func:`trainability_pages`)."""
    return write_study_pdf(path, trainability_pages(result), "initlab trainability report")


__all__ += ["trainability_pages", "write_trainability_report"]
