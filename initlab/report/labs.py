"""PDF reports of lab runs and initializer comparisons (matplotlib ``PdfPages``, written atomically).

:func:`run_figures` gives the figures of one run (also saved as PNGs in the run directory);
:func:`write_run_report` and :func:`write_compare_report` assemble them, with a title page and the
notes-vs-ours tables, into one PDF written to a temporary name and renamed.
"""

from __future__ import annotations

import datetime as _dt
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from ..plots import training as lp
from .._io import atomic_write
from ..labs import mistakes as mk
from ..labs.registry import LabConfig, describe_lab

if TYPE_CHECKING:  # pragma: no cover
    from ..labs.compare import Comparison
    from ..labs.runs import RunResult

__all__ = ["run_figures", "title_page", "write_pdf", "write_run_report", "write_compare_report"]


def _version() -> str:
    from .._version import __version__

    return __version__


def title_page(cfg: LabConfig, lines: list[str]) -> Figure:
    """A text page: the lab, its settings, the data used, and free lines (seeds, timing)."""
    fig = Figure(figsize=(8.27, 11.69))
    ax = fig.add_axes([0.06, 0.04, 0.88, 0.92])
    ax.axis("off")
    settings = cfg.to_dict()
    settings.pop("notes")
    settings.pop("notes_text")
    body = [f"initlab {_version()} — lab '{cfg.name}'", cfg.title, "",
            f"{_dt.datetime.now().strftime('%Y-%m-%d %H:%M')}", "", *lines, "", "Settings (notes' defaults + overrides):"]
    body += [f"  {k}: {v}" for k, v in settings.items() if v not in ((), [], None, "")]
    body += ["", "As in the notes:", f"  {cfg.notes_text}"]
    ax.text(0, 1, "\n".join(body), va="top", ha="left", family="monospace", fontsize=8, wrap=True)
    return fig


def run_figures(result: "RunResult") -> dict[str, Figure]:
    """The figures of one run, in report order (keys are PNG names).

    Training labs: ``learning_curves``; image classifiers add ``sample_predictions``; every classifier adds
    the mistake analysis ``mistake_table``, ``wrong_histogram``, ``confusion_matrix`` and, for image
    classifiers, ``misclassified`` (the class with the most errors); regression adds ``predicted_vs_true``.
    Study labs: the figures the study made (``result.extras["figures"]``) and their tables.
    """
    cfg = result.config
    figs: dict[str, Figure] = {}
    if not result.history.empty:
        group = "variant" if "variant" in result.history.columns else None
        figs["learning_curves"] = lp.plot_learning_curves(result.history, group=group, title=cfg.name)
    if cfg.kind == "study":
        figs.update(result.extras.get("figures", {}))
        for name, table in result.tables.items():
            figs[f"table_{name}"] = lp.plot_table(table, name.replace("_", " "))
        return figs
    if result.proba is None:
        return figs
    if cfg.task == "regression":
        figs["predicted_vs_true"] = lp.plot_regression(result.y_true, result.proba, title=cfg.name)
        return figs
    proba = np.asarray(result.proba)
    pred = mk.predicted_labels(proba)
    labels = np.asarray(result.labels)
    k = max(len(result.class_names), proba.shape[1] if proba.ndim == 2 and proba.shape[1] > 1 else 2)
    names = result.class_names or [str(i) for i in range(k)]
    if cfg.is_image and result.images is not None:
        figs["sample_predictions"] = lp.plot_sample_predictions(result.images, labels, proba, class_names=names,
                                                                n=10)
    figs["mistake_table"] = lp.plot_mistake_table(mk.mistake_pairs(labels, pred), class_names=names)
    figs["wrong_histogram"] = lp.plot_wrong_histogram(mk.wrong_prediction_counts(labels, pred, k), class_names=names)
    figs["confusion_matrix"] = lp.plot_confusion_matrix(mk.confusion_matrix(labels, pred, k), class_names=names)
    if cfg.is_image and result.images is not None:
        worst = int(np.argmax(np.bincount(labels[labels != pred], minlength=k))) if (labels != pred).any() else 0
        figs["misclassified"] = lp.plot_misclassified(result.images, labels, pred, worst, class_names=names)
    return figs


def write_pdf(path: str | os.PathLike, figures: list[Figure]) -> Path:
    """Write ``figures`` as the pages of one PDF, atomically (temporary name, then rename)."""
    path = Path(path)
    with atomic_write(path, "wb") as fh:
        with PdfPages(fh, metadata={"Creator": f"initlab {_version()}"}) as pdf:
            for fig in figures:
                pdf.savefig(fig)
    return path


def write_run_report(path: str | os.PathLike, result: "RunResult", figures: dict[str, Figure] | None = None) -> Path:
    """PDF of one run: title page, notes vs ours, then :func:`run_figures`."""
    figures = run_figures(result) if figures is None else figures
    cfg = result.config
    lines = [f"data: {result.source}" if result.source else "", f"seed {result.seed}, {result.seconds:.1f} s"]
    pages = [title_page(cfg, [ln for ln in lines if ln])]
    notes = result.notes_table()
    if not notes.empty:
        pages.append(lp.plot_table(notes[["metric", "notes", "ours", "difference"]], "the notes' numbers and ours"))
    metrics = pd.DataFrame([{"metric": k, "value": v} for k, v in result.metrics.items()])
    if not metrics.empty:
        pages.append(lp.plot_table(metrics, "final metrics"))
    pages += list(figures.values())
    return write_pdf(path, pages)


def write_compare_report(path: str | os.PathLike, comp: "Comparison") -> Path:
    """PDF of an initializer comparison: title page, final-metric table beside the init-time statistics,
    mean ± spread learning curves per initializer, and the per-layer std / gradient ratio at init."""
    cfg = comp.config
    lines = [f"data: {comp.source}" if comp.source else "",
             f"initializers: {', '.join(comp.inits)}; seeds: {', '.join(str(s) for s in comp.seeds)}",
             f"{comp.seconds:.1f} s in all", "", describe_lab(cfg)]
    pages = [title_page(cfg, [ln for ln in lines if ln is not None])]
    pages.append(lp.plot_table(comp.table(), "final metrics per initializer (mean ± std over seeds) "
                                             "and statistics at init"))
    pages.append(lp.plot_learning_curves(comp.history, group="init", title=f"{cfg.name}: initializers"))
    if comp.init_layers is not None and not comp.init_layers.empty:
        pages.append(lp.plot_init_profile(comp.init_layers, group="init"))
        pages.append(lp.plot_table(comp.init_layer_table(), "per-layer std and gradient-norm ratio at init"))
    return write_pdf(path, pages)
