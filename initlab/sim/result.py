"""The result of a simulation: a tidy per-layer frame, histograms and the config that made them."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from .._format import fmt_number
from .._io import atomic_write_text
from .config import SimConfig
from ..schema import (
    BACKWARD_COLUMNS, FORWARD_COLUMNS, FRAME_DTYPES, LAYER_COLUMNS, STATUS_COLUMNS, THEORY_COLUMNS, Histograms,
)

__all__ = ["SimResult", "build_frame", "build_histograms"]

# pandas < 3 parses floats approximately unless told otherwise; pandas 3 is exact and deprecates the flag
_EXACT_FLOATS = {"float_precision": "round_trip"} if int(pd.__version__.split(".")[0]) < 3 else {}



def build_frame(config: SimConfig, outputs: Sequence[Sequence], theory: pd.DataFrame | None = None) -> pd.DataFrame:
    """The tidy frame from ``outputs[run][trial]`` (:class:`initlab.sim.trial.TrialOutput`), schema order.

    ``theory`` (from :func:`initlab.sim.predict.predict_layers`: columns ``config``, ``layer`` and
    :data:`~initlab.schema.THEORY_COLUMNS`) fills the theory columns; every trial of a config shares its
    prediction. Without it, or where the theory has no prediction, they are NaN.
    """
    L = config.depth
    cols: dict[str, list[np.ndarray]] = {c: [] for c in LAYER_COLUMNS}
    for run, outs in zip(config.runs(), outputs):
        init, act = run.config.inits[0], run.config.acts[0]
        for t, out in enumerate(outs):
            cols["config"].append(np.full(L, run.index, dtype=np.int64))
            cols["label"].append(np.full(L, run.label, dtype=object))
            cols["init"].append(np.full(L, init, dtype=object))
            cols["act"].append(np.full(L, act, dtype=object))
            cols["trial"].append(np.full(L, t, dtype=np.int64))
            cols["layer"].append(np.arange(1, L + 1, dtype=np.int64))
            cols["width"].append(np.asarray(config.widths, dtype=np.int64))
            for c in FORWARD_COLUMNS + BACKWARD_COLUMNS + STATUS_COLUMNS:
                cols[c].append(np.asarray(out.columns[c]))
            pred = None if theory is None else theory[theory["config"] == run.index].sort_values("layer")
            for c in THEORY_COLUMNS:
                cols[c].append(np.full(L, np.nan) if pred is None else pred[c].to_numpy(dtype=np.float64))
    data = {c: pd.Series(np.concatenate(v), dtype=FRAME_DTYPES[c]) for c, v in cols.items()}
    return pd.DataFrame(data, columns=list(LAYER_COLUMNS))


def build_histograms(config: SimConfig, outputs: Sequence[Sequence]) -> Histograms:
    """The :class:`Histograms` from ``outputs[run][trial]``: each run's ranges are its trial 0's."""
    B = config.bins
    pre_edges = np.stack([np.linspace(-o[0].pre_range, o[0].pre_range, B + 1) for o in outputs])
    act_edges = np.stack([np.linspace(-o[0].act_range, o[0].act_range, B + 1) for o in outputs])
    pre = np.stack([np.stack([t.pre_counts for t in o]) for o in outputs]).astype(np.int64)
    act = np.stack([np.stack([t.act_counts for t in o]) for o in outputs]).astype(np.int64)
    return Histograms(tuple(config.labels()), pre_edges, pre, act_edges, act)


class SimResult:
    """What :func:`initlab.simulate` returns.

    Attributes
    ----------
    config : SimConfig
    layers : pandas.DataFrame
        One row per config × trial × layer, columns :data:`initlab.schema.LAYER_COLUMNS` in that
        order, dtypes :data:`FRAME_DTYPES`.
    histograms : Histograms
        Counts per config, trial and layer on one shared range per config (see
        :class:`initlab.schema.Histograms`).
    """

    def __init__(self, config: SimConfig, layers: pd.DataFrame, histograms: Histograms):
        self.config = config
        self.layers = layers
        self.histograms = histograms

    # -- views -------------------------------------------------------------------------------
    @property
    def labels(self) -> list[str]:
        return list(self.histograms.labels)

    @property
    def diverged_at_layer(self) -> dict[str, int | None]:
        """``{label: first diverged layer (over all trials) or None}``, one entry per config, in order."""
        out: dict[str, int | None] = {}
        df = self.layers
        for label in self.labels:
            rows = df[(df["label"] == label) & df["diverged"]]
            out[label] = int(rows["layer"].min()) if len(rows) else None
        return out

    def summary(self) -> str:
        """A text table per config and layer (means over trials): output mean and std, saturated and
        dead fractions, and the pre-activation gradient norm relative to the last layer."""
        df = self.layers
        cols = ["act_mean", "act_std", "saturated", "dead", "grad_pre_ratio"]
        head = f"{'layer':>5} {'width':>6} {'mean':>11} {'std':>11} {'saturated':>9} {'dead':>6} {'grad ratio':>11}"
        lines: list[str] = []
        T = self.config.trials
        for label, div in self.diverged_at_layer.items():
            sub = df[df["label"] == label]
            note = f"  (diverged at layer {div})" if div is not None else ""
            lines.append(f"{label}{note}" + (f"  [mean of {T} trials]" if T > 1 else ""))
            lines.append(head)
            g = sub.groupby("layer", sort=True)
            means = g[cols].mean()
            widths = g["width"].first()
            diverged = g["diverged"].any()
            for layer in means.index:
                w = int(widths[layer])
                if diverged[layer]:
                    lines.append(f"{layer:>5} {w:>6} {'diverged':>11}")
                    continue
                r = means.loc[layer]
                lines.append(
                    f"{layer:>5} {w:>6} {_num(r['act_mean']):>11} {_num(r['act_std']):>11} "
                    f"{r['saturated']:>9.1%} {r['dead']:>6.1%} {_num(r['grad_pre_ratio']):>11}"
                )
            lines.append("")
        return "\n".join(lines).rstrip("\n") + "\n"

    def __repr__(self) -> str:
        c = self.config
        return (f"SimResult({c.n_runs} config(s) × {c.trials} trial(s) × {c.depth} layers; "
                f"labels={self.labels!r})")

    # -- equality ----------------------------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SimResult):
            return NotImplemented
        return (self.config == other.config and self.histograms == other.histograms
                and self.layers.equals(other.layers))

    __hash__ = None  # type: ignore[assignment]

    # -- files -------------------------------------------------------------------------------
    def to_csv(self) -> str:
        """The frame as CSV text (exact float round trip, empty fields for NaN)."""
        buf = io.StringIO()
        self.layers.to_csv(buf, index=False, lineterminator="\n")
        return buf.getvalue()

    def to_dir(self, path: str | Path) -> Path:
        """Write ``layers.csv``, ``config.json`` and ``histograms.npz`` into ``path`` (created), each atomically.

        The same config and seed give byte-identical files.
        """
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path / "layers.csv", self.to_csv())
        atomic_write_text(path / "config.json", self.config.to_json())
        self.histograms.save(path / "histograms.npz")
        return path

    @classmethod
    def from_dir(cls, path: str | Path) -> "SimResult":
        """Read a run written by :meth:`to_dir`; equal to the original."""
        path = Path(path)
        config = SimConfig.from_json((path / "config.json").read_text(encoding="utf-8"))
        dtypes = {c: t for c, t in FRAME_DTYPES.items() if c != "diverged"}
        df = pd.read_csv(path / "layers.csv", dtype=dtypes, keep_default_na=False, na_values=[""], **_EXACT_FLOATS)
        df["diverged"] = df["diverged"].astype(bool)
        df = df[list(LAYER_COLUMNS)]
        hist = Histograms.load(path / "histograms.npz")
        return cls(config, df, hist)


def _num(v: float) -> str:
    """Compact number: fixed point for moderate magnitudes, scientific otherwise."""
    return fmt_number(v, nan="nan", inf=("inf", "-inf"), none="None")
