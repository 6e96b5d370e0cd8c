"""PDF reports of lab runs and initializer comparisons, on the same machinery as the simulation's report.

:func:`run_figures` gives the figures of one run (also saved as PNGs in the run directory);
:func:`write_run_report` and :func:`write_compare_report` assemble them behind the typeset title page of
:func:`initlab.report.pages.title_page` (the settings of every run side by side — one column per compared
initializer — the version, the date and the contents) and write them with the one PDF writer,
:func:`initlab.report.pdf.write_pdf`: every page on :data:`~initlab.report.pages.PAGE`, atomically, dated
``SOURCE_DATE_EPOCH`` when set, else the time recorded with the run (so a run gives the same bytes twice).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..labs import mistakes as mk
from ..labs.config import LabConfig
from ..plots import training as lp
from ..plots.table import Section, table_pages
from ..plots import watch
from .pages import PAGE, title_page
from .pdf import report_date, write_pdf

if TYPE_CHECKING:  # pragma: no cover
    from ..labs.compare import Comparison
    from ..labs.result import RunResult

__all__ = ["run_figures", "watch_figures", "write_run_report", "write_compare_report"]


@dataclass(frozen=True)
class _Settings:
    """What the title page reads of a run: its configuration (the notes' text left out)."""

    config: dict


def _settings(cfg: LabConfig) -> _Settings:
    d = cfg.to_dict()
    for key in ("notes", "notes_text", "title"):
        d.pop(key)
    return _Settings(d)


def watch_figures(result: "RunResult") -> dict[str, Figure]:
    """The figures of a watched run (``extras["stats"]``): ``training_stats`` (update/weight ratio, dead and
    saturated fractions, output std per layer against step), ``colorful_dimension`` (activations) and
    ``weight_histograms``; empty when the run was not watched."""
    stats = result.extras.get("stats")
    if stats is None or not stats.rows:
        return {}
    name = result.config.name
    figs = {"training_stats": watch.training_stats(stats.layers, title=name)}
    hist = stats.histograms
    if not hist.empty:
        figs["colorful_dimension"] = watch.colorful_dimension(hist, title=name)
        figs["weight_histograms"] = watch.weight_histograms(hist, title=name)
    return figs


def run_figures(result: "RunResult") -> dict[str, Figure]:
    """The figures of one run, in report order (keys are PNG names).

    Training labs: ``learning_curves``, then the :func:`watch_figures` of a watched run; image classifiers
    add ``sample_predictions``; every classifier adds the mistake analysis ``mistake_table``,
    ``wrong_histogram``, ``confusion_matrix`` and, for image classifiers, ``misclassified`` (the class with
    the most errors); regression adds ``predicted_vs_true``. Study labs: the figures the study made
    (``result.extras["figures"]``) and their tables.
    """
    cfg = result.config
    figs: dict[str, Figure] = {}
    if not result.history.empty:
        group = "variant" if "variant" in result.history.columns else None
        figs["learning_curves"] = lp.learning_curves(result.history, group=group, title=cfg.name)
    if cfg.kind == "study":
        figs.update(result.extras.get("figures", {}))
        for name, table in result.tables.items():
            figs[f"table_{name}"] = lp.table_figure(table, name.replace("_", " "))
        return figs
    figs.update(watch_figures(result))
    if result.proba is None:
        return figs
    if cfg.task == "regression":
        figs["predicted_vs_true"] = lp.regression_scatter(result.y_true, result.proba, title=cfg.name)
        return figs
    proba = np.asarray(result.proba)
    pred = mk.predicted_labels(proba)
    labels = np.asarray(result.labels)
    k = max(len(result.class_names), proba.shape[1] if proba.ndim == 2 and proba.shape[1] > 1 else 2)
    names = result.class_names or [str(i) for i in range(k)]
    if cfg.is_image and result.images is not None:
        figs["sample_predictions"] = lp.sample_predictions(result.images, labels, proba, class_names=names,
                                                                n=10)
    figs["mistake_table"] = lp.mistake_table_figure(mk.mistake_pairs(labels, pred), class_names=names)
    figs["wrong_histogram"] = lp.wrong_histogram(mk.wrong_prediction_counts(labels, pred, k), class_names=names)
    figs["confusion_matrix"] = lp.confusion_matrix_figure(mk.confusion_matrix(labels, pred, k), class_names=names)
    if cfg.is_image and result.images is not None:
        worst = int(np.argmax(np.bincount(labels[labels != pred], minlength=k))) if (labels != pred).any() else 0
        figs["misclassified"] = lp.misclassified_grid(result.images, labels, pred, worst, class_names=names)
    return figs


def _contents(captions: list[str]) -> list[tuple[str, int]]:
    return [(c, i + 2) for i, c in enumerate(captions)]


#: Footnote of a notes table: when a difference is given.
_NOTES_NOTE = "difference: ours − the notes', only where the run used the notes' settings (else —, and why)"


def _table_pages(sections: list[Section]) -> list[tuple[str, Figure]]:
    """The tables typeset and packed onto pages, each page captioned by the tables it holds."""
    return [("; ".join(captions), fig) for captions, fig in table_pages(sections)]


def write_run_report(result: "RunResult", path: str | os.PathLike, figures: dict[str, Figure] | None = None) -> Path:
    """PDF of one run: title page (settings, data, seed, time, contents), the notes' numbers beside ours and
    the final metrics (typeset, on one page where they fit), then :func:`run_figures`."""
    figures = run_figures(result) if figures is None else figures
    cfg = result.config
    sections: list[Section] = []
    notes = result.notes_table()
    if not notes.empty:
        sections.append(("the notes' numbers and ours", notes[["metric", "notes", "ours", "difference", "settings"]],
                         {}, (_NOTES_NOTE,)))
    if result.metrics:
        sections.append(("final metrics", pd.DataFrame([result.metrics]), {}, ()))
    for name, table in result.tables.items():
        if cfg.kind == "train":
            sections.append((name.replace("_", " "), table.head(40), {}, ()))
    pages = _table_pages(sections) + [(name.replace("_", " "), fig) for name, fig in figures.items()]
    when = report_date(result.started)
    title = f"initlab lab '{cfg.name}'"
    extra = {"data": result.source, "seconds": round(result.seconds, 1), "as in the notes": cfg.notes_text}
    runs = [_Settings({**_settings(cfg).config, **extra})]
    first = title_page(runs, title, when, [f"seed {result.seed}"], _contents([c for c, _ in pages]))
    return write_pdf(path, [first] + [f for _, f in pages], title=title, date=when, page_size=PAGE)


#: Units and the footnote of the comparison's init columns (:meth:`~initlab.labs.compare.Comparison.init_stats`).
_INIT_UNITS = {"xi_c": "layers"}
_INIT_NOTE = ("std_first/std_last: std of the first and last hidden layer's output at init; sigma_w2, chi1, xi_c, "
              "phase: the mean-field fixed point of the hidden layers (xi_c = ∞ at chi1 = 1)")


def write_compare_report(comp: "Comparison", path: str | os.PathLike) -> Path:
    """PDF of an initializer comparison: title page with the settings of every compared initializer side by
    side, the final-metric table beside the init-time statistics, the notes' numbers, mean ± spread learning
    curves per initializer, and the per-layer std / gradient ratio at init."""
    cfg = comp.config
    sections: list[Section] = [(
        "final metrics per initializer (mean ± std over seeds) and statistics at init", comp.table(),
        _INIT_UNITS, (_INIT_NOTE,))]
    notes = comp.notes_table()
    if not notes.empty:
        sections.append(("the notes' numbers and ours", notes[["init", "metric", "notes", "ours", "spread", "settings"]],
                         {}, ("spread: sample standard deviation over the seeds",)))
    pages = _table_pages(sections)
    pages.append(("learning curves", lp.learning_curves(comp.history, group="init",
                                                              title=f"{cfg.name}: initializers")))
    if comp.init_layers is not None and not comp.init_layers.empty:
        pages.append(("at init: std and gradient ratio", lp.init_profile(comp.init_layers, group="init")))
        pages += _table_pages([("per-layer std and gradient-norm ratio at init", comp.init_layer_table(), {},
                                ("act_std: std of the layer's output; grad_pre_ratio: ‖∂L/∂z‖ of the layer over the "
                                 "last layer's (means over the simulated trials)",))])
    when = report_date(comp.started)
    title = f"initlab compare '{cfg.name}'"
    seeds = ", ".join(str(s) for s in comp.seeds)
    runs = [_Settings({**_settings(cfg.replace(init=init)).config, "seeds": seeds, "data": comp.source})
            for init in comp.inits]
    first = title_page(runs, title, when, list(comp.inits), _contents([c for c, _ in pages]))
    return write_pdf(path, [first] + [f for _, f in pages], title=title, date=when, page_size=PAGE)
