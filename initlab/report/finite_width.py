"""PDF report of the finite-width study (:mod:`initlab.study.finite_width`): a page of settings and the
agreement table, then the collapse figure; written by the one study PDF writer, atomically."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from .study import settings_page, write_study_pdf

__all__ = ["finite_width_pages", "write_finite_width_report"]

_COLUMNS = ("act", "within3_q", "within3_grad", "within3_q_small", "within3_grad_small", "ratio_q", "ratio_grad",
            "slope_q", "slope_q_se", "slope_pred_q", "slope_grad", "slope_grad_se", "slope_pred_grad")
_HEADERS = ("activation", "q within 3 s.e.", "grad within 3 s.e.", "q (pred. <= 0.5)", "grad (pred. <= 0.5)",
            "q meas./pred.", "grad meas./pred.", "q slope", "± s.e.", "pred.", "grad slope", "± s.e.", "pred.")


def finite_width_pages(result: Any) -> list[Figure]:
    """Settings and the agreement per activation, then :meth:`FiniteWidthResult.figures`."""
    notes = ["Measured: variance over networks of log q̂ˡ and of log ‖∂L/∂zˡ‖², with standard errors from the fourth "
             "moment; predicted: the 1/n theory (Roberts, Yaida & Hanin);",
             "mean field predicts 0. Slopes: weighted least squares against l/n over the same points "
             "(s.e.: bootstrap over networks). "
             f"Run time {result.seconds:.1f} s."]
    page = settings_page("Finite-width fluctuations: measured vs the 1/n theory", result.settings,
                         result.agreement, _COLUMNS, _HEADERS, notes)
    figs = result.figures()
    return [page, *(figs[name] for name in figs)]


def write_finite_width_report(path: str | os.PathLike, result: Any) -> Path:
    """PDF of a finite-width study (:func:`finite_width_pages`)."""
    return write_study_pdf(path, finite_width_pages(result))
