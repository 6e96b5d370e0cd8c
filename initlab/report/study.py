"""PDF reports of the studies (:mod:`initlab.study`): a text page of settings and numbers, then the figures.

Written atomically (temporary name, then rename), without a creation date, so the same study gives the
same bytes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from .._io import atomic_write
from .._version import __version__
from .pages import _draw_table, _fmt_num, _fmt_value, _page

__all__ = ["write_study_pdf", "settings_page", "spectrum_pages", "write_spectrum_report"]


def write_study_pdf(path: str | os.PathLike, pages: Sequence[Figure]) -> Path:
    """Write ``pages`` as one PDF, atomically, with no creation date (same input → same bytes)."""
    path = Path(path)
    with atomic_write(path, "wb") as fh:
        with PdfPages(fh, metadata={"Creator": f"initlab {__version__}", "CreationDate": None}) as pdf:
            for fig in pages:
                pdf.savefig(fig)
    return path


def settings_page(title: str, settings: dict[str, Any], table: Any, columns: Sequence[str], headers: Sequence[str],
                  notes: Sequence[str] = ()) -> Figure:
    """A text page: the settings (left), a table of ``columns`` of the frame ``table`` (below), free notes."""
    fig = _page(title, f"initlab {__version__}")
    rows = [[k, _fmt_value(v)] for k, v in settings.items()]
    y = _draw_table(fig, (0.06, 0.62, 0.88, 0.23), ["setting", "value"], rows, [1.0, 4.0], fontsize=9, wrap=[1])
    body = [[_fmt_num(r[c]) if not isinstance(r[c], str) else r[c] for c in columns] for _, r in table.iterrows()]
    y = _draw_table(fig, (0.06, 0.12, 0.88, y - 0.16), list(headers), body, [2.4] + [1.0] * (len(columns) - 1),
                    fontsize=8.5, min_fontsize=5.0)
    for i, line in enumerate(notes):
        fig.text(0.06, 0.08 - 0.025 * i, line, fontsize=8, color="#444444")
    return fig


_SPECTRUM_COLUMNS = ("label", "depth", "mean", "mean_se", "mean_pred", "var", "var_se", "var_pred", "sv_max",
                     "sv_max_pred", "below", "below_pred", "tv", "tv_null")
_SPECTRUM_HEADERS = ("config", "L", "mean σ²", "± s.e.", "pred.", "var σ²", "± s.e.", "pred.", "max σ",
                     "pred.", "below", "pred.", "TV", "TV noise")


def spectrum_pages(result: Any) -> list[Figure]:
    """The pages of a spectrum study: settings and the moments table, the histograms, the moments figure."""
    from ..plots.spectrum import spectrum_histograms, spectrum_moments

    notes = ["TV: total-variation distance between the measured histogram of log10 σ² and the predicted density "
             "integrated over the same bins;",
             "TV noise: the same distance between the first and second half of the samples (the sampling floor). "
             f"Run time {result.seconds:.1f} s."]
    return [settings_page("Jacobian spectrum at init (dynamical isometry)", result.settings, result.moments,
                          _SPECTRUM_COLUMNS, _SPECTRUM_HEADERS, notes),
            spectrum_histograms(result.bins, result.density, result.moments),
            spectrum_moments(result.moments)]


def write_spectrum_report(path: str | os.PathLike, result: Any) -> Path:
    """PDF of a spectrum study (:func:`spectrum_pages`)."""
    return write_study_pdf(path, spectrum_pages(result))


def trainability_pages(result: Any) -> list[Figure]:
    """The pages of a trainability study: settings with the scores per steps and seed (the rule beside the
    baselines), then the heatmap."""
    from ..plots.trainability import trainability_heatmap

    table = result.scores.assign(label=[f"{int(r.steps)} steps, seed {int(r.seed)}"
                                        for r in result.scores.itertuples()])
    notes = [f"trainable: train_acc > {result.threshold:g}. Balanced accuracy of 'depth < 6 xi_c' against 'always "
             "trainable' and the best constant cutoff 'depth < D' (D fitted on the same data: optimistic);",
             "r, slope: log-log correlation and slope of the maximum trainable depth per sigma_w2 against 6 xi_c; "
             f"critical sigma_w2 {result.critical_sigma_w2:.4g}."]
    cols = ("label", "bacc_rule", "bacc_always", "bacc_cutoff", "cutoff", "max_depth_r", "max_depth_slope")
    heads = ("run", "6 ξ_c rule", "always", "best cutoff", "D", "r", "slope")
    return [settings_page("Trainability against the correlation depth ξ_c", result.settings, table, cols, heads,
                          notes),
            trainability_heatmap(result.points, result.curves, critical_sigma_w2=result.critical_sigma_w2,
                                 scores=result.scores, threshold=result.threshold)]


def write_trainability_report(path: str | os.PathLike, result: Any) -> Path:
    """PDF of a trainability study (:func:`trainability_pages`)."""
    return write_study_pdf(path, trainability_pages(result))


__all__ += ["trainability_pages", "write_trainability_report"]
