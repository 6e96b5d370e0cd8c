"""The outcome of one lab run (:class:`RunResult`) and the notes' numbers beside ours (:func:`notes_table`).

A number of the notes is compared with ours only when the run used the notes' settings. When a setting
that changes the trained model differs (``--epochs 1``, a subset, another dataset, an initializer that
no note describes), the table still lists the notes' number but marks the row ``comparable = False``,
leaves ``difference`` empty and says which settings differ (:func:`setting_differences`).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._repr import ShowsItself
from .config import LabConfig, Note
from .registry import LABS

__all__ = ["RunResult", "notes_table", "setting_differences", "NOTES_COLUMNS", "IGNORED_SETTINGS"]

#: Settings that do not change what is trained or measured (or that a note's condition covers).
IGNORED_SETTINGS = frozenset({"name", "title", "kind", "seed", "redraw_dead", "notes", "notes_text"})
#: Columns of :func:`notes_table`.
NOTES_COLUMNS = ["metric", "notes", "ours", "spread", "min", "max", "runs", "difference", "comparable", "settings"]


@dataclass(repr=False)
class RunResult(ShowsItself):
    """The outcome of one lab run.

    Attributes
    ----------
    config : LabConfig
        The settings used (``config.seed`` is the seed of this run).
    history : DataFrame
        One row per epoch: ``epoch``, ``loss``, metrics, and ``val_`` columns when monitored.
        Study labs that train several variants add a ``variant`` column.
    metrics : dict of str to float
        Final numbers: ``train_loss``, ``train_accuracy``, ``test_loss``, ``test_accuracy`` (or ``test_mse``,
        ``test_mae``) — the keys the notes' numbers use; ``loss@10`` is the training loss of epoch 10.
    proba, labels, images, y_true : ndarray or None
        Predictions (probabilities, or values for regression) on the evaluated set, the true integer labels
        (classifiers), the evaluated inputs as images (image classifiers) and the encoded targets.
    class_names : list of str
    source : str
        Which data was used (said in output and report).
    seconds : float
        Wall time of the run.
    tables : dict of str to DataFrame
        Extra tables (studies: the activation problems, the generalization gap, ...; training labs: the
        draws tried at init, ``init_draws``, when a dead output was redrawn).
    extras : dict
        Non-tabular results (the trained ``model``, the ``stats`` callback, a study's ``figures``).
    started : datetime
        When the run started (UTC, to the second): the date of its report unless ``SOURCE_DATE_EPOCH`` is set.
    """

    config: LabConfig
    history: pd.DataFrame
    metrics: dict[str, float]
    proba: np.ndarray | None = None
    labels: np.ndarray | None = None
    images: np.ndarray | None = None
    y_true: np.ndarray | None = None
    class_names: list[str] = field(default_factory=list)
    source: str = ""
    seconds: float = 0.0
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)
    started: _dt.datetime = field(default_factory=lambda: _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0))

    @property
    def seed(self) -> int:
        return int(self.config.seed)

    def _repr_facts(self) -> str:
        return f"{self.config.name}, seed {self.seed}, {len(self.history)} epochs, {self.seconds:.1f} s"

    def _repr_table(self) -> pd.DataFrame:
        return pd.DataFrame({"metric": list(self.metrics), "value": [float(v) for v in self.metrics.values()]})

    def _repr_figure(self):
        if self.history is None or not len(self.history) or "epoch" not in self.history.columns:
            return None
        from ..plots.training import learning_curves

        return learning_curves(self.history, group="variant" if "variant" in self.history.columns else None,
                               title=self.config.name)

    def notes_table(self) -> pd.DataFrame:
        """The notes' numbers with ours beside them (see :func:`notes_table`)."""
        return notes_table(self.config, [self.metrics])


def setting_differences(cfg: LabConfig, note: Note | None = None) -> list[str]:
    """The settings of ``cfg`` that differ from the notes' (its registry entry), as ``"epochs 1 (notes: 20)"``.

    The seed and the number of redraws never count; the initializer does not count when ``note`` has a
    condition on it that ``cfg`` meets (``mnist-mlp``'s He run), nor the epochs for a point of the learning
    curve (``loss@10``) that the run reached. Empty for a lab that is not registered.
    """
    base = LABS.get(cfg.name)
    if base is None:
        return []
    covered = set()
    if note is not None and note.when and note.applies(cfg):
        covered.add(note.when.partition("=")[0].strip())
    if note is not None and "@" in note.metric:  # a point of the curve: reached whatever the final epoch
        at = note.metric.partition("@")[2]
        if at.isdigit() and int(cfg.epochs) >= int(at):
            covered.add("epochs")
    out = []
    for key, ours in cfg.to_dict().items():
        if key in IGNORED_SETTINGS or key in covered:
            continue
        theirs = base.to_dict()[key]
        if ours != theirs:
            out.append(f"{key} {_show(ours)} (notes: {_show(theirs)})")
    return out


def _show(v: Any) -> str:
    if isinstance(v, (list, tuple)):
        return ",".join(str(x) for x in v) or "()"
    return str(v)


def notes_table(cfg: LabConfig, metrics: list[dict[str, float]]) -> pd.DataFrame:
    """Notes' number vs ours, as mean and sample std over the given runs (one dict of metrics each).

    Columns :data:`NOTES_COLUMNS`: ``ours`` (mean), ``spread`` (sample std; 0 for one run), ``min``, ``max``,
    ``runs``, ``difference`` (ours − notes; NaN when not comparable), ``comparable`` (the run used the notes'
    settings) and ``settings`` (``"as the notes"`` or the settings that differ).
    """
    rows = []
    for note in cfg.applicable_notes():
        vals = np.array([m[note.metric] for m in metrics if note.metric in m], dtype=np.float64)
        if vals.size == 0:
            continue
        mean = float(np.mean(vals))
        diffs = setting_differences(cfg, note)
        rows.append({
            "metric": note.metric, "notes": note.value, "ours": mean,
            "spread": float(np.std(vals, ddof=1)) if vals.size > 1 else 0.0,
            "min": float(np.min(vals)), "max": float(np.max(vals)), "runs": int(vals.size),
            "difference": np.nan if diffs else mean - note.value, "comparable": not diffs,
            "settings": "; ".join(diffs) if diffs else "as the notes",
        })
    return pd.DataFrame(rows, columns=NOTES_COLUMNS)
