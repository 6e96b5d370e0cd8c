"""The finite-width spread a simulation should show across trials, beside the one it measured (issue 21 §4).

:func:`predicted_spread` gives, per config and layer, the standard deviation across networks of
:math:`\\ln` ``pre_q`` (the batch's mean pre-activation second moment) and its relative :math:`1/n` mean shift,
from :func:`initlab.theory.finite_width.batch_fluctuations` at the frame's own mean-field ``theory_pre_q`` and
``theory_pre_corr``. :func:`initlab.sim.predict.theory_deviation` uses them for the summary's ``!`` flag.

The theory assumes i.i.d. Gaussian weights (``init.iid_gaussian``) and a Gaussian or zero bias, an elementwise
activation, no batch normalisation, dropout or residual layers; other configs get NaN.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..initializers import get_initializer
from .config import SimConfig
from .predict import out_of_theory, stack_variances

__all__ = ["predicted_spread", "outside_finite_width"]


def outside_finite_width(cfg: SimConfig) -> str:
    """Why a single-run config has no finite-width prediction ('' if it has one)."""
    why = out_of_theory(cfg)
    if why:
        return why
    init, act, bias = cfg.initializers()[0], cfg.activations()[0], get_initializer(cfg.bias_init)
    if act.pieces != 1:
        return f"{act.spec} is not elementwise"
    if not init.iid_gaussian:
        return f"{init.spec} does not draw i.i.d. Gaussian weights"
    if not (bias.iid_gaussian or bias.variance((cfg.widths[0],)) == 0):
        return f"bias init {bias.spec} is neither Gaussian nor zero"
    if cfg.dropout > 0 or cfg.residual_layers():
        return "dropout and residual layers are outside the finite-width theory"
    return ""


def predicted_spread(config: SimConfig, layers: Any) -> Any:
    """Per config × layer: ``sd_pred`` (predicted sd of ln ``pre_q`` across trials) and ``shift_pred``
    (predicted :math:`\\mathbb{E}\\,\\mathrm{pre\\_q}/q^l - 1`), NaN where the theory does not apply.

    ``layers`` is the simulation's frame (its ``theory_pre_q`` and ``theory_pre_corr`` of trial 0 are used).
    """
    import pandas as pd

    from .._spec import ConfigError
    from ..theory.finite_width import batch_fluctuations

    frames = []
    for run in config.runs():
        cfg = run.config
        L = cfg.depth
        sd, shift = np.full(L, math.nan), np.full(L, math.nan)
        part = layers[(layers["config"] == run.index) & (layers["trial"] == layers["trial"].min())]
        part = part.sort_values("layer")
        q = part["theory_pre_q"].to_numpy(np.float64)
        if not outside_finite_width(cfg) and q.size == L and np.all(np.isfinite(q) & (q > 0)):
            fans = (cfg.in_dim,) + cfg.widths
            sw2, sb2 = stack_variances(cfg.initializers()[0], cfg.activations()[0], fans, cfg.bias_init)
            try:
                sd, shift = batch_fluctuations(cfg.activations()[0], sw2, sb2, fans, q,
                                               part["theory_pre_corr"].to_numpy(np.float64), cfg.batch)
            except ConfigError:  # the metric left the range where the expansion is computed
                pass
        frames.append(pd.DataFrame({"config": run.index, "layer": np.arange(1, L + 1), "sd_pred": sd,
                                    "shift_pred": shift}))
    return pd.concat(frames, ignore_index=True)
