"""The simulation ↔ theory adapter: mean-field predictions for a :class:`~initlab.sim.config.SimConfig`.

:mod:`initlab.theory` takes plain numbers and activations; this module turns a config into them
(:func:`stack_variances`, :func:`input_moments`), says when a config is outside the theory
(:func:`out_of_theory`), and returns the theory columns of the layers frame (:func:`predict_layers`) and the
fixed-point summary of each config (:func:`config_summary`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from ..activations import Activation, get_activation
from ..initializers import Initializer, get_initializer
from ..schema import DEVIATION_COLUMNS, SUMMARY_COLUMNS, THEORY_COLUMNS
from ..theory.meanfield import fixed_point
from ..theory.propagation import Propagation, propagate
from .stats import Scratch, moments, pair_corr

if TYPE_CHECKING:
    import pandas as pd

    from .config import SimConfig

__all__ = ["input_moments", "stack_variances", "out_of_theory", "predict_layers", "config_theory", "config_summary",
           "theory_deviation", "FLAG_SIGMAS", "FLAG_MIN_REL", "FLAG_MAX_SHIFT"]

#: A layer is flagged when the trials' mean q differs from the prediction by more than this many standard errors
FLAG_SIGMAS = 3.0
#: … and by more than this fraction of the prediction (differences below it are not worth a flag).
FLAG_MIN_REL = 0.01


def input_moments(x: np.ndarray) -> tuple[float, float, float]:
    """``(q0, c0, mu0)`` of an input batch of shape (batch, dim): the mean squared entry, the mean cosine
    similarity over the disjoint pairs of rows (0&1, 2&3, …), as the engine's ``pre_corr`` measures it, and
    the mean entry."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"x must have shape (batch >= 2, dim), got {x.shape}")
    m = moments(x[None], Scratch())
    c = float(pair_corr(x[None], m.rownorm2)[0])
    q0, c0 = float(m.q[0]), (1.0 if math.isnan(c) else c)
    return q0, c0, float(m.mean[0])


def stack_variances(init: Initializer | str, act: Activation | str, fans: Sequence[int],
                    bias_init: Initializer | str = "zeros") -> tuple[np.ndarray, np.ndarray]:
    """Per-layer :math:`\\sigma_w^2 = n_{l-1} \\cdot \\mathrm{Var}[W^l_{ij}]` and :math:`\\sigma_b^2 = \\mathrm{Var}[b^l_i]`.

    ``fans`` is ``(input_dim, width_1, …, width_L)``; layer ``l``'s weight has shape
    ``(fans[l-1], fans[l] * pieces)`` (maxout has ``pieces = k``), exactly as the engine draws it.
    """
    init, act, bias = get_initializer(init), get_activation(act), get_initializer(bias_init)
    sw2 = np.array([fans[l - 1] * init.variance((fans[l - 1], fans[l] * act.pieces)) for l in range(1, len(fans))])
    sb2 = np.array([bias.variance((fans[l] * act.pieces,)) for l in range(1, len(fans))])
    return sw2, sb2


def out_of_theory(config: SimConfig) -> str:
    """Why a single-run config has no mean-field prediction ('' if it has one)."""
    init = config.initializers()[0]
    bias = get_initializer(config.bias_init)
    fans = (config.in_dim,) + config.widths
    if config.batchnorm:
        return "batch normalisation is outside the mean-field theory"
    if init.data_dependent:
        return f"{init.spec} is data-dependent (its variance is set on the batch)"
    if any(init.mean((fans[l - 1], fans[l])) != 0 for l in range(1, len(fans))):
        return f"{init.spec} has non-zero mean weights"
    if bias.mean((fans[1],)) != 0:
        return f"bias init {bias.spec} has a non-zero mean"
    return ""


def _input_moments(config: SimConfig, x: np.ndarray | None) -> tuple[float, float, float]:
    if x is not None:
        return input_moments(x)
    if config.input == "given":
        raise ValueError("config.input is 'given': pass the input batch as x")
    if config.input_c0 is not None:  # pairs: unit mean square, pair correlation c0, zero mean (in expectation)
        return 1.0, config.input_c0, 0.0
    return 1.0, 0.0, 0.0  # gaussian N(0, 1) and uniform on ±√3: unit variance, zero mean, independent samples


def predict_layers(config: SimConfig, x: np.ndarray | None = None, **kw: Any) -> pd.DataFrame:
    """Theory columns for every config of the cross product × layer, to merge into ``SimResult.layers``.

    Parameters
    ----------
    config : SimConfig
    x : ndarray, optional
        The input batch when ``config.input == 'given'`` (its :func:`input_moments` give :math:`q^0, c^0, \\mu^0`);
        Gaussian and uniform inputs have :math:`q^0 = 1`, :math:`c^0 = 0`, :math:`\\mu^0 = 0`.
    **kw
        Passed to :func:`propagate` (``degree``, ``degree_2d``).

    Returns
    -------
    pandas.DataFrame
        Columns ``config``, ``label``, ``layer`` and :data:`THEORY_COLUMNS` (NaN for a config outside the
        theory), one row per config × layer, in the engine's config order and labels.
    """
    import pandas as pd

    q0, c0, mu0 = _input_moments(config, x)
    frames = []
    for run in config.runs():
        cfg = run.config
        L = cfg.depth
        cols = {k: np.full(L, np.nan) for k in THEORY_COLUMNS}
        if not out_of_theory(cfg):
            p = _propagate_config(cfg, q0, c0, mu0, **kw)
            cols = {
                "theory_pre_q": p.q,
                "theory_pre_std": p.std,
                "theory_pre_corr": p.c,
                "theory_grad_ratio": p.grad_ratio,
            }
        frames.append(pd.DataFrame({"config": run.index, "label": run.label, "layer": np.arange(1, L + 1), **cols}))
    return pd.concat(frames, ignore_index=True)


def _propagate_config(cfg: SimConfig, q0: float, c0: float, mu0: float, **kw: Any) -> Propagation:
    init, act = cfg.initializers()[0], cfg.activations()[0]
    fans = (cfg.in_dim,) + cfg.widths
    sw2, sb2 = stack_variances(init, act, fans, cfg.bias_init)
    res = [l in set(cfg.residual_layers()) for l in range(1, cfg.depth + 1)]
    return propagate(act, cfg.depth, sw2, sb2, q0=q0, c0=c0, mu0=mu0, dropout=cfg.dropout, residual=res, **kw)


def config_theory(cfg: SimConfig, x: np.ndarray | None = None) -> dict[str, Any]:
    """The mean-field fixed point of one single-run config: what simulate, the sweep and ``initlab theory`` say.

    ``sigma_w2`` and ``sigma_b2`` are those of the hidden layers (layer 2 on, whose fan-in is a width; layer 1
    when depth is 1; the mean over layers, noted, where they vary). The q-map starts where the engine's does,
    at the first layer's :math:`q^1 = \\sigma_{w,1}^2 q_0 + \\sigma_{b,1}^2` with :math:`q_0` the input's second
    moment (1 for the generated inputs; :func:`input_moments` of ``x`` for a given batch), and dropout is in the
    maps (:func:`initlab.theory.solve`). Returns ``sigma_w2``, ``sigma_b2``, ``q0``, ``q1``, ``q_star``,
    ``chi1``, ``c_star``, ``xi_q``, ``xi_c``, ``phase``, ``basin`` (which attractor :math:`q^1` is drawn to
    where the q-map has several) and ``note`` (NaN/'' and the reason for a config outside the theory).
    """
    init, act = cfg.initializers()[0], cfg.activations()[0]
    sw2, sb2 = stack_variances(init, act, (cfg.in_dim,) + cfg.widths, cfg.bias_init)
    hidden = slice(1, None) if cfg.depth > 1 else slice(0, 1)
    s_w, s_b = float(np.mean(sw2[hidden])), float(np.mean(sb2[hidden]))
    out: dict[str, Any] = {"sigma_w2": s_w, "sigma_b2": s_b}
    why = out_of_theory(cfg)
    nan = dict.fromkeys(("q0", "q1", "q_star", "chi1", "c_star", "xi_q", "xi_c"), math.nan)
    if why:
        return {**out, **nan, "phase": "", "basin": "", "note": why}
    notes = []
    if cfg.input == "given" and x is None:
        q0 = 1.0
        notes.append("input given: q0 = 1 assumed")
    else:
        q0 = _input_moments(cfg, x)[0]
    if np.ptp(sw2[hidden]) > 1e-12 * max(1.0, abs(sw2[hidden]).max()):
        notes.append("sigma_w2 varies by layer (mean shown)")
    if cfg.residual_layers():
        notes.append("residual: no fixed point (q grows); finite-depth prediction only")
    fp = fixed_point(act, s_w, s_b, q0=q0, q1=float(sw2[0] * q0 + sb2[0]), dropout=cfg.dropout)
    notes += [t for t in (fp.reason, fp.basin) if t]
    return {**out, "q0": q0, "q1": fp.q1, "q_star": fp.q_star, "chi1": fp.chi1, "c_star": fp.c_star,
            "xi_q": fp.xi_q, "xi_c": fp.xi_c, "phase": fp.phase, "basin": fp.basin, "note": "; ".join(notes)}


def config_summary(config: SimConfig, x: np.ndarray | None = None) -> pd.DataFrame:
    """One row per config: the fixed-point summary of its stack (:data:`SUMMARY_COLUMNS`), :func:`config_theory`.

    ``q_star`` … ``phase`` are those of the infinitely deep plain stack with the hidden layers' variances,
    iterated from the engine's first-layer :math:`q^1`; NaN/'' for a config outside the theory, with the reason
    in ``note`` (which also names the basin where the q-map has several attractors). Residual connections
    change the finite-depth predictions (:func:`predict_layers`) but not this summary (noted).
    """
    import pandas as pd

    rows = []
    for run in config.runs():
        cfg = run.config
        init, act = cfg.initializers()[0], cfg.activations()[0]
        row = {"config": run.index, "label": run.label, "init": init.spec, "act": act.spec}
        rows.append({**row, **config_theory(cfg, x)})
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))


#: The predicted 1/n shift of the mean is applied to the comparison only up to this size (beyond, the
#: expansion has left its range; the predicted spread still enters the flag).
FLAG_MAX_SHIFT = 0.5


def _t_threshold(trials: Any) -> np.ndarray:
    """Student's t quantile at the two-sided level of :data:`FLAG_SIGMAS` normal sigmas, ``trials - 1`` dof
    (with few trials the standard error is itself uncertain: 6 trials need z > 6.1 for 3 sigmas)."""
    from scipy import special  # scipy.special, not scipy.stats: the latter costs ~2 s to import

    dof = np.maximum(np.asarray(trials, dtype=np.float64) - 1, 1)
    return special.stdtrit(dof, special.ndtr(FLAG_SIGMAS))


def theory_deviation(layers: pd.DataFrame, spread: pd.DataFrame | None = None) -> pd.DataFrame:
    """Measured against predicted pre-activation second moment, per config and layer.

    The trials' :math:`q_t` fluctuate multiplicatively (a layer's finite-width error multiplies into the
    next), so the comparison is made on :math:`\\ell_t = \\ln q_t`: with :math:`\\bar\\ell` their mean, :math:`s` their
    standard deviation over the :math:`T` trials and :math:`q_{th}` = ``theory_pre_q``,
    ``z`` :math:`= |\\bar\\ell - \\ln q_{th}| / (s/\\sqrt T)`, and a layer is flagged where :math:`T \\ge 2`,
    ``z`` exceeds Student's t quantile with :math:`T - 1` degrees of freedom at the two-sided level of
    :data:`FLAG_SIGMAS` normal sigmas (99.73%) and :math:`|e^{\\bar\\ell}/q_{th} - 1|` > :data:`FLAG_MIN_REL`: the trials' spread
    cannot explain the difference (finite-width effects that compound with depth near criticality, or a
    prediction outside its assumptions). ``q`` and ``dev`` :math:`= \\bar q/q_{th} - 1` use the arithmetic mean,
    as the figures do. Columns :data:`initlab.schema.DEVIATION_COLUMNS`; layers without a prediction (or a
    diverged trial) have NaN and no flag.

    ``spread`` (:func:`initlab.sim.finite_width.predicted_spread`) adds the finite-width prediction: the expected
    standard deviation ``sd_pred`` of :math:`\\ln q_t` across trials (beside the measured ``log_sd``) and the
    :math:`1/n` shift of the mean, ``shift_pred``. Where it is finite, the comparison of the mean of
    :math:`\\ln q_t` is made with :math:`\\ln[q_{th}(1 + \\text{shift\\_pred})] - \\text{sd\\_pred}^2/2` (while
    :math:`|\\text{shift\\_pred}| \\le` :data:`FLAG_MAX_SHIFT`, where the :math:`1/n` expansion is still an
    expansion) and a layer is flagged only if, in addition, the deviation exceeds
    :data:`FLAG_SIGMAS` predicted standard errors :math:`\\text{sd\\_pred}/\\sqrt T` (``z_pred``; with one
    trial this test alone decides).
    """
    import pandas as pd

    ok = layers[~layers["diverged"].astype(bool)]
    with np.errstate(divide="ignore", invalid="ignore"):
        ok = ok.assign(_log=np.log(ok["pre_q"].where(ok["pre_q"] > 0)))
    g = ok.groupby(["config", "label", "layer"], sort=True)
    out = pd.DataFrame(
        {
            "q": g["pre_q"].mean(),
            "trials": g["pre_q"].count(),
            "theory_q": g["theory_pre_q"].first(),
            "log_mean": g["_log"].mean(),
            "log_sd": g["_log"].std(ddof=1),
        }
    ).reset_index()
    if spread is not None:
        out = out.merge(spread[["config", "layer", "sd_pred", "shift_pred"]], on=["config", "layer"], how="left")
    else:
        out["sd_pred"], out["shift_pred"] = np.nan, np.nan
    fw = np.isfinite(out["sd_pred"]) & np.isfinite(out["shift_pred"]) & (out["sd_pred"] > 0)
    shifted = fw & (out["shift_pred"].abs() <= FLAG_MAX_SHIFT)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_th = np.log(out["theory_q"].where(out["theory_q"] > 0))
        # E ln q = ln E q - Var(ln q)/2 + O(1/n^2): the mean of the logs sits below the log of the mean
        log_th = log_th + np.where(shifted, np.log1p(out["shift_pred"].where(shifted, 0.0))
                                   - 0.5 * out["sd_pred"].where(shifted, 0.0) ** 2, 0.0)
        out["dev"] = out["q"] / out["theory_q"] - 1
        out["z"] = (out["log_mean"] - log_th).abs() / (out["log_sd"] / np.sqrt(out["trials"]))
        out["z_pred"] = (out["log_mean"] - log_th).abs() / (out["sd_pred"] / np.sqrt(out["trials"]))
        geo = np.exp(out["log_mean"] - log_th) - 1
    several = out["trials"] >= 2  # one trial has no spread: nothing to flag (and no t quantile to compute)
    threshold = np.full(len(out), np.inf)
    if several.any():
        threshold[several.to_numpy()] = _t_threshold(out.loc[several, "trials"])
    t_test = several & (out["z"] > threshold)
    flag = np.where(fw, (t_test | ~several) & (out["z_pred"] > FLAG_SIGMAS), t_test) & (geo.abs() > FLAG_MIN_REL)
    out["flag"] = pd.Series(flag, index=out.index).fillna(False).astype(bool)
    return out[list(DEVIATION_COLUMNS)]
