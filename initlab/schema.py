"""The tidy per-layer schema shared by the engine, the theory, the trainer's ActivationStats and the plots.

One row per config × trial × layer (× epoch for training-time statistics). Columns, in order:

Identity
    ``config`` (int, index into the cross product of configs), ``label`` (str, e.g. ``"xavier_normal / relu"``),
    ``init_spec`` (the initializer as the user spelled it, ``"xavier"``), ``init`` (its canonical spec,
    ``"xavier_normal"``), ``act_spec`` and ``act`` (the same for the activation), ``trial`` (int),
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
    "LAYER_TEXT_COLUMNS",
    "Histograms",
]

ID_COLUMNS = ("config", "label", "init_spec", "init", "act_spec", "act", "trial", "layer", "width")
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
_STR = ("label", "init_spec", "init", "act_spec", "act")
#: The text columns of the per-layer frame.
LAYER_TEXT_COLUMNS = _STR
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
    "c_star",
    "c_star_sd",
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

# -- the finite-width study (initlab.study.finite_width; issue 21) ---------------------------------------------
#: One row per network and layer from :func:`initlab.study.finite_width.measure`: the point (activation,
#: variances, input :math:`q_{in}`, width, depth), the seed, the layer, :math:`\hat q^l = \|z^l\|^2/n` and
#: :math:`\|\partial L/\partial z^l\|^2`.
FINITE_WIDTH_COLUMNS = ("act", "sigma_w2", "sigma_b2", "q_in", "width", "depth", "seed", "layer", "q_hat", "grad_sq")
#: One row per activation × width × layer from :func:`initlab.study.finite_width.summarise`: measured variances of
#: the logs with standard errors, the 1/n prediction, the exact ReLU value (NaN where it does not apply) and the
#: mean-field prediction (0).
FINITE_WIDTH_POINT_COLUMNS = ("act", "sigma_w2", "sigma_b2", "width", "layer", "l_over_n", "trials", "var_log_q",
                              "var_log_q_se", "pred_q", "exact_q", "var_log_grad", "var_log_grad_se", "pred_grad",
                              "mean_field")
__all__ += ["FINITE_WIDTH_COLUMNS", "FINITE_WIDTH_POINT_COLUMNS"]
#: The measured-vs-predicted table of :func:`initlab.sim.predict.theory_deviation` (one row per config × layer):
#: the trials' mean ``q`` against the mean-field ``theory_q``, ``dev``, the t statistic ``z``, the trials' standard
#: deviation of ln q (``log_sd``) beside the finite-width prediction (``sd_pred``, NaN where it does not apply),
#: the predicted 1/n shift of the mean (``shift_pred``), ``z_pred`` (the deviation in predicted standard errors),
#: ``trials`` and the summary's ``!`` flag.
DEVIATION_COLUMNS = ("config", "label", "layer", "q", "theory_q", "dev", "z", "log_sd", "sd_pred", "shift_pred",
                     "z_pred", "trials", "flag")
__all__ += ["DEVIATION_COLUMNS"]

# -- the tasks of the experiment engine (initlab.sweep.task; issue 18) ---------------------------------------
#: The dtype of every column of a sweep's points table (``Int64``: an integer that may be missing).
POINT_SUMMARY_DTYPES: dict[str, str] = {
    c: "str" if c in POINT_TEXT_COLUMNS else "bool" if c == "diverged" else "Int64" if c == "diverged_layer"
    else "float64" for c in POINT_SUMMARY_COLUMNS
}
#: One row per checkpoint of a training point (:func:`initlab.study.trainability.train_point`): the point's
#: fields (:class:`~initlab.study.trainability.TrainPoint`; ``steps`` is the checkpoint), then what was measured.
TRAIN_ROW_DTYPES: dict[str, str] = {
    "sigma_w2": "float64", "depth": "int64", "seed": "int64", "act": "str", "sigma_b2": "float64",
    "width": "int64", "optimizer": "str", "lr": "float64", "steps": "int64", "batch_size": "int64",
    "dropout": "float64", "steps_done": "int64", "train_loss": "float64", "train_acc": "float64",
    "test_loss": "float64", "test_acc": "float64", "diverged": "bool", "seconds": "float64",
}
#: One row per singular value of one spectrum sample (:func:`initlab.study.jacobian.measure_jacobian`):
#: the depth of the Jacobian and the singular value (descending within a depth).
SPECTRUM_ROW_DTYPES: dict[str, str] = {"depth": "int64", "sv": "float64"}


#: One row per layer of one network of the finite-width study (:class:`~initlab.study.finite_width.FWTask`):
#: the columns of :data:`FINITE_WIDTH_COLUMNS`.
FINITE_WIDTH_ROW_DTYPES: dict[str, str] = {
    c: "str" if c == "act" else "int64" if c in ("width", "depth", "seed", "layer") else "float64"
    for c in FINITE_WIDTH_COLUMNS
}


@dataclass(frozen=True)
class TaskSchema:
    """What one task of the experiment engine stores: its name, the columns (name → dtype) of the one summary
    row of a point, and those of a point's rows (``rows_table``: several per point, in order)."""

    name: str
    summary: tuple[tuple[str, str], ...]
    rows: tuple[tuple[str, str], ...]
    rows_table: str = "rows"

    @property
    def summary_columns(self) -> tuple[str, ...]:
        return tuple(c for c, _ in self.summary)

    @property
    def row_columns(self) -> tuple[str, ...]:
        return tuple(c for c, _ in self.rows)


#: Every task, by the name a store records (a store without one holds ``simulate`` points).
TASK_SCHEMAS: dict[str, TaskSchema] = {
    "simulate": TaskSchema("simulate", tuple(POINT_SUMMARY_DTYPES.items()), tuple(FRAME_DTYPES.items()), "layers"),
    "train": TaskSchema("train", (), tuple(TRAIN_ROW_DTYPES.items())),
    "spectrum": TaskSchema("spectrum", (), tuple(SPECTRUM_ROW_DTYPES.items())),
    "finite_width": TaskSchema("finite_width", (), tuple(FINITE_WIDTH_ROW_DTYPES.items())),
}
__all__ += ["POINT_SUMMARY_DTYPES", "TRAIN_ROW_DTYPES", "SPECTRUM_ROW_DTYPES", "FINITE_WIDTH_ROW_DTYPES", "TaskSchema",
            "TASK_SCHEMAS"]
