"""The tidy per-layer schema shared by the engine, the theory, the trainer's ActivationStats and the plots.

One row per config × trial × layer (× epoch for training-time statistics). Columns, in order:

Identity
    ``config`` (int, index into the cross product of configs), ``label`` (str, e.g. ``"xavier_normal / relu"``),
    ``init`` (canonical initializer spec), ``act`` (canonical activation spec), ``trial`` (int),
    ``layer`` (int, 1 … depth), ``width`` (units in the layer).
Forward, pre-activation :math:`z^l = h^{l-1} W^l + b^l` (after batch normalisation when it is on)
    ``pre_mean``, ``pre_std``, ``pre_q`` (second moment :math:`\\mathbb{E}[z^2]`), ``pre_min``, ``pre_max``,
    ``pre_corr`` (mean correlation :math:`\\langle z_a, z_b\\rangle / (\\|z_a\\|\\|z_b\\|)` over disjoint pairs
    of inputs (samples 0&1, 2&3, …) — the quantity the correlation map predicts).
Forward, layer output :math:`h^l` (activation, then dropout, then the residual add; what the next layer reads)
    ``act_mean``, ``act_std``, ``act_q``, ``act_min``, ``act_max``,
    ``saturated`` (fraction of sample × unit entries with :math:`|\\phi'(z)| < 0.05 \\max|\\phi'|`),
    ``dead`` (fraction of units whose activation is zero for every sample in the batch).
Backward
    ``grad_pre_norm`` (:math:`\\|\\partial L/\\partial z^l\\|_F`),
    ``grad_w_norm`` (:math:`\\|\\partial L/\\partial W^l\\|_F`),
    ``grad_pre_ratio`` and ``grad_w_ratio`` (each divided by the last layer's value),
    ``grad_diverged`` (bool: a gradient norm of this layer is inf or NaN: the backward pass overflowed
    here, or it did not run because the forward pass diverged in this trial; only the overflows of a
    backward pass that ran are counted in the summary). Every NaN gradient carries this flag.
Status
    ``diverged`` (bool: this layer or an earlier one overflowed or produced NaN; its statistics are NaN),
    ``lsuv_passes`` (int: rescaling passes LSUV used on this layer; 0 for other initializers).
Theory (issue 3; NaN where the theory has no prediction, e.g. with batch normalisation)
    ``theory_pre_q``, ``theory_pre_std``, ``theory_pre_corr``, ``theory_grad_ratio``.

Training-time frames (``initlab.nn.ActivationStats``) add ``epoch`` and ``step`` after ``trial``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._io import atomic_write

__all__ = [
    "ID_COLUMNS",
    "FORWARD_COLUMNS",
    "BACKWARD_COLUMNS",
    "THEORY_COLUMNS",
    "STATUS_COLUMNS",
    "LAYER_COLUMNS",
    "SUMMARY_COLUMNS",
    "THEORY_TABLE_COLUMNS",
    "FRAME_DTYPES",
    "Histograms",
]

ID_COLUMNS = ("config", "label", "init", "act", "trial", "layer", "width")
FORWARD_COLUMNS = (
    "pre_mean", "pre_std", "pre_q", "pre_min", "pre_max", "pre_corr",
    "act_mean", "act_std", "act_q", "act_min", "act_max", "saturated", "dead",
)
BACKWARD_COLUMNS = ("grad_pre_norm", "grad_w_norm", "grad_pre_ratio", "grad_w_ratio", "grad_diverged")
STATUS_COLUMNS = ("diverged", "lsuv_passes")
THEORY_COLUMNS = ("theory_pre_q", "theory_pre_std", "theory_pre_corr", "theory_grad_ratio")
#: The fixed-point summary of each config (:func:`initlab.sim.predict.config_summary`).
SUMMARY_COLUMNS = ("config", "label", "init", "act", "sigma_w2", "sigma_b2", "q_star", "chi1", "c_star", "xi_q",
                   "xi_c", "phase", "note")
LAYER_COLUMNS = ID_COLUMNS + FORWARD_COLUMNS + BACKWARD_COLUMNS + STATUS_COLUMNS + THEORY_COLUMNS
#: The columns of the report's theory table (a config's fixed point, one row per config).
THEORY_TABLE_COLUMNS = ("label", "sigma_w2", "sigma_b2", "q_star", "chi1", "c_star", "xi_q", "xi_c", "phase")

_INT = ("config", "trial", "layer", "width", "lsuv_passes")
_STR = ("label", "init", "act")
_BOOL = ("diverged", "grad_diverged")
#: The dtype of every column of :attr:`initlab.SimResult.layers`.
FRAME_DTYPES: dict[str, str] = {
    c: "int64" if c in _INT else "str" if c in _STR else "bool" if c in _BOOL else "float64" for c in LAYER_COLUMNS
}


@dataclass(frozen=True)
class Histograms:
    """Per-layer histograms on one shared signed range per config and kind.

    Attributes
    ----------
    labels : tuple of str, length C
        Config labels, in ``config`` order.
    pre_edges, act_edges : ndarray of shape (C, bins + 1), float64
        Bin edges for pre-activations and layer outputs; symmetric about 0 and shared by all layers
        (and trials) of a config, so layers are comparable.
    pre_counts, act_counts : ndarray of shape (C, trials, depth, bins), int64
        Counts per config, trial and layer. Values outside the range are counted in the edge bins;
        a diverged layer has all-zero counts.
    """

    labels: tuple[str, ...]
    pre_edges: np.ndarray
    pre_counts: np.ndarray
    act_edges: np.ndarray
    act_counts: np.ndarray

    def save(self, path: str | Path) -> None:
        """Write an ``.npz`` file atomically (no pickled objects)."""
        with atomic_write(path, "wb") as fh:
            np.savez_compressed(
                fh, labels=np.array(self.labels, dtype=str), pre_edges=self.pre_edges,
                pre_counts=self.pre_counts, act_edges=self.act_edges, act_counts=self.act_counts,
            )

    @classmethod
    def load(cls, path: str | Path) -> "Histograms":
        with np.load(path, allow_pickle=False) as z:
            return cls(
                tuple(str(s) for s in z["labels"]), z["pre_edges"], z["pre_counts"], z["act_edges"], z["act_counts"]
            )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Histograms):
            return NotImplemented
        return self.labels == other.labels and all(
            np.array_equal(getattr(self, k), getattr(other, k))
            for k in ("pre_edges", "pre_counts", "act_edges", "act_counts")
        )

    __hash__ = None  # type: ignore[assignment]


# -- the points table of a sweep (initlab.sweep; issue 11) ----------------------------------------------------
#: Measured at a point (mean over trials, ``*_sd`` their standard deviation), then the theory at the same point;
#: see :mod:`initlab.sweep.measure`.
POINT_SUMMARY_COLUMNS = (
    "q_last",
    "q_last_sd",
    "q_tail",
    "q_tail_sd",
    "c_last",
    "c_last_sd",
    "chi1",
    "chi1_sd",
    "xi_c",
    "xi_c_sd",
    "phase",
    "diverged",
    "diverged_layer",
    "sigma_w2",
    "sigma_b2",
    "theory_q_star",
    "theory_chi1",
    "theory_c_star",
    "theory_xi_q",
    "theory_xi_c",
    "theory_phase",
    "note",
)
#: Text and flag columns of the points table (the others are numbers; ``diverged_layer`` an integer or missing).
POINT_TEXT_COLUMNS = ("phase", "theory_phase", "note")
#: The points table of a sweep: the point's key and status, its axes' values (one column per axis of the
#: sweep, between ``status`` and the summary), the summary, and the compute time in seconds.
POINT_ID_COLUMNS = ("key", "status")
__all__ += ["POINT_SUMMARY_COLUMNS", "POINT_TEXT_COLUMNS", "POINT_ID_COLUMNS"]
