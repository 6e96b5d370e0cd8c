"""The simulation engine: forward and backward passes through a random network at initialization.

:func:`simulate` maps the pure per-(config, trial) function :func:`run_trial` over the cross
product of initializers × activations and the trials, and assembles a
:class:`~initlab.sim.result.SimResult` (one tidy row per config × trial × layer, schema
:data:`~initlab.schema.LAYER_COLUMNS`, plus histograms).

The network (layer :math:`l = 1 \\dots L`, input :math:`h^0 = x`)
    .. math::
        z^l = h^{l-1} W^l + b^l \\;\\to\\; \\mathrm{BN}(z^l) \\;\\to\\; a^l = \\phi(z^l)
        \\;\\to\\; a^l \\odot m^l / (1-p) \\;\\to\\; h^l = h^{l-1} + a^l \\text{ (residual layers)}

    Batch normalisation (optional) uses the batch's own per-column mean and variance
    (:math:`\\gamma = 1, \\beta = 0, \\epsilon = 10^{-5}`); the ``pre_*`` statistics are then those
    of the normalised :math:`z^l`. Dropout (optional) is inverted, with a seeded keep mask
    :math:`m^l`. A residual layer adds its input when its input and output widths agree
    (:meth:`SimConfig.residual_layers`: all layers when the widths are constant and ``input_dim``
    equals them; otherwise those whose width does not change). Maxout (``maxout:k``): :math:`W^l`
    has :math:`k \\cdot \\text{width}` columns and :math:`\\phi` takes the maximum of each unit's
    :math:`k` pieces. LSUV rescales :math:`W^l` on the actual batch just before the layer runs
    (``lsuv_passes``).

Statistics (see :mod:`initlab.schema` for the columns and :mod:`initlab.sim.stats` for the kernels)
    ``dead`` is measured on :math:`\\phi(z^l)` (before dropout and the residual add): units whose
    activation is zero for every sample. ``saturated`` uses the activation's own test
    (:math:`|\\phi'(z)| < 0.05 \\max|\\phi'|`).

Backward
    From the loss on :math:`h^L`: ``'projection'`` :math:`L = \\sum h^L \\odot R` with a fixed seeded
    :math:`R \\sim N(0, 1)`, or ``'mse'`` :math:`L = \\tfrac12 \\operatorname{mean}((h^L - Y)^2)` with
    seeded targets :math:`Y \\sim N(0,1)`. Reported: :math:`\\|\\partial L / \\partial z^l\\|_F`
    (the normalised :math:`z^l` under batch norm) and :math:`\\|\\partial L/\\partial W^l\\|_F`, and
    both divided by the last layer's value.

Random numbers (common random numbers)
    Every draw comes from ``np.random.default_rng([seed, stream, trial, layer])``: the input batch
    (one for every config and trial), weights, biases, dropout masks and the loss matrix. Configs of
    the same trial therefore share the underlying draws, and the same config and seed give
    identical results, bit for bit (float32 Gaussians come from the Box–Muller block sampler of
    :mod:`initlab.initializers.sampler`, whose values do not depend on the number of threads).

Memory
    The weights are kept from the forward to the backward pass when the run's memory estimate
    allows (:func:`initlab.sim.memory.keep_weights`); otherwise each layer's weights are drawn again
    in the backward pass (:class:`initlab.sim.draws.LayerWeights`), the same bytes, so a trial holds
    one layer of weights whatever its depth.

Devices
    The engine does its array work through the workspace's array module (:mod:`initlab.sim.xp`):
    numpy with the kernels of :mod:`initlab.sim.stats`, or CuPy (``device='cuda'``) with those of
    :mod:`initlab.sim.xpstats`.

Divergence
    A layer whose pre-activations or outputs contain an inf or NaN has diverged: it and every later
    layer get ``diverged=True`` and NaN statistics, the forward stops and the backward is skipped.
    No numpy warnings are emitted (the arithmetic runs under ``np.errstate(all="ignore")``).

Histograms
    Per config, one symmetric range :math:`[-R, R]` for pre-activations and one for outputs, shared
    by all layers and trials: :math:`R` is trial 0's largest :math:`|value|` over its finite layers
    rounded up to 1, 2, 2.5 or 5 × 10^k. Values outside go to the edge bins.

Speed
    The statistics cost a few passes over each layer's arrays, next to the three matrix products per
    layer (``initlab bench`` compares the two). Buffers are preallocated and reused (``out=``);
    layers of one width are stacked, so the statistics of many small layers run as one vectorised
    call, while their data are still in cache; trial 0 histograms each chunk of layers on the range
    seen so far and redoes only the chunks whose range then grew. ReLU and the identity have fused
    paths (a boolean mask for the forward and backward products; output extremes, dead units and,
    on the same range, the output histogram follow from the pre-activations). Sums of squares are
    BLAS row dot products finished in float64. (A helper thread for the statistics was tried: on
    2 cores it made things slower, as OpenBLAS's idle threads spin on the second core.)

Threads
    The matrix products of a trial run on the BLAS threads :mod:`initlab.sim.threads` chooses (one for
    products under :data:`~initlab.sim.threads.SMALL_PRODUCT` multiply-adds, else the free cores), once per
    :func:`simulate` call or :func:`run_trial` outside one; ``threads=N`` (``--threads N``) pins N, and the
    same N gives the same bytes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._spec import ConfigError
from .trial import TrialOutput, TrialPass, Workspace
from .config import SimConfig
from .draws import TrialParams, draw_params, make_input
from .memory import keep_weights as _keep_weights
from ..progress import Progress
from .predict import predict_layers
from .result import SimResult, build_frame, build_histograms, run_time
from .threads import auto_threads, pinned

__all__ = ["simulate", "run_trial", "forward_backward", "largest_product"]

#: Stack statistics over consecutive layers while a stack holds at most this many entries.
CHUNK_ELEMENTS = 1 << 20


def largest_product(config: SimConfig) -> int:
    """Multiply-adds of the config's largest matrix product: batch × fan_in × fan_out over the layers
    (maxout's pieces counted in fan_out), for the choice of BLAS threads."""
    from ..activations import get_activation

    widths = tuple(config.widths)
    fans = (config.input_dim if config.input_dim is not None else widths[0],) + widths
    pieces = max(get_activation(spec).pieces for spec in config.acts)
    return int(config.batch) * max(fans[i] * fans[i + 1] for i in range(len(widths))) * pieces


def run_trial(config: SimConfig, trial: int, x: np.ndarray, *, pre_range: float | None = None,
              act_range: float | None = None, workspace: Workspace | None = None,
              keep: bool = True) -> TrialOutput:
    """One trial of one single-run config: draw its parameters, run :func:`forward_backward`.

    A pure function of its arguments (so a process pool can map it). ``pre_range`` and
    ``act_range`` fix the histogram ranges (trial 0 of a config chooses them; pass them on to
    the later trials). ``keep=False`` redraws each layer's weights in the backward pass instead
    of keeping them (same results, one layer of weights in memory). The matrix products run on the
    BLAS threads :func:`initlab.sim.threads.auto_threads` chooses, unless a caller fixed them.
    """
    xp = workspace.xp if workspace is not None else np
    with auto_threads(largest_product(config)):  # the BLAS threads (initlab.sim.threads), unless fixed outside
        params = draw_params(config, trial, keep=keep, xp=xp)
        return forward_backward(config, params, x, workspace=workspace, pre_range=pre_range, act_range=act_range)


def forward_backward(config: SimConfig, params: TrialParams, x: np.ndarray, *, workspace: Workspace | None = None,
                     pre_range: float | None = None, act_range: float | None = None,
                     keep_grads: bool = False, stats: bool = True,
                     timings: dict[str, float] | None = None, generic: bool = False) -> TrialOutput:
    """Forward and backward pass with every statistic and histogram (see the module docstring).

    ``stats=False`` computes only the loss (and the weight gradients with ``keep_grads``), for
    gradient checks. ``timings``, a dict, receives the milliseconds spent in each phase (matrix
    products, activation, statistics, histograms, ...), for ``initlab bench --breakdown``.

    The array module is the workspace's (``Workspace(cupy)`` runs on a CUDA device, see
    :mod:`initlab.sim.xp`); ``generic=True`` uses the array-module statistics kernels even with
    numpy (how the CPU tests exercise the device path).
    """
    ws = workspace if workspace is not None else Workspace()
    with np.errstate(all="ignore"):
        return TrialPass(config, params, x, ws, pre_range, act_range, keep_grads, stats, timings,
                         chunk_elements=CHUNK_ELEMENTS, generic=generic).run()


def simulate(config: SimConfig | None = None, *, x: np.ndarray | None = None, progress: bool = True,
             keep_weights: bool | None = None, device: str = "cpu", max_memory: int | None = None,
             threads: int | None = None, **kwargs: Any) -> SimResult:
    """Simulate signal propagation at initialization for every initializer × activation and trial.

    Parameters
    ----------
    config : SimConfig, optional
        The experiment; keyword arguments build one (or replace fields of ``config``). ``init``
        and ``act`` are accepted for ``inits`` and ``acts``, as one spec, a comma list
        (``"xavier,he,normal:0.01"``) or a list.
    x : ndarray of shape (batch, input_dim), optional
        A given input batch instead of the seeded Gaussian/uniform one (``batch`` and
        ``input_dim`` are taken from it; the config records ``input='given'``).
    progress : bool
        Draw a progress bar on stderr when the work takes more than a second.
    keep_weights : bool, optional
        Keep every layer's weights between the forward and the backward pass (fast), or redraw
        them (memory: one layer of weights whatever the depth). Default: keep them when the run's
        memory estimate then fits in ``max_memory`` bytes or the available memory
        (:func:`initlab.sim.memory.keep_weights`). The results are the same bit for bit.
    device : {'cpu', 'cuda'}
        Where the engine runs: ``'cuda'`` uses CuPy arrays (``pip install 'initlab[gpu]'``) with the
        device's own random streams: statistically, not bitwise, the CPU's experiment
        (:mod:`initlab.sim.xp`).
    max_memory : int, optional
        Bytes the run may use, for the choice of ``keep_weights`` (default: the available memory).
    threads : int, optional
        BLAS threads for the matrix products; the same number gives the same bytes. Default: chosen
        from the size of the products and the free cores (:mod:`initlab.sim.threads`), at most the
        BLAS library's current limit, unless an enclosing :func:`initlab.sim.threads.pinned` fixed it.

    Returns
    -------
    SimResult

    Examples
    --------
    >>> res = simulate(init="xavier,he", act="tanh,relu", depth=10, width=200, batch=256)
    >>> res.layers.groupby("label")["act_std"].last()  # doctest: +SKIP
    """
    from .xp import array_module

    xp = array_module(device)  # a clear error before any work
    explicit = {k: kwargs[k] for k in ("batch", "input_dim") if k in kwargs}
    cfg = SimConfig.build(config, **kwargs)
    if x is not None:
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 1 or x.dtype.kind not in "fiu":
            raise ConfigError(f"x must be a numeric array of shape (batch >= 2, input_dim), got shape {x.shape}")
        for k, v in (("batch", x.shape[0]), ("input_dim", x.shape[1])):
            if k in explicit and explicit[k] != v:
                raise ConfigError(f"{k}={explicit[k]} disagrees with x of shape {x.shape}")
        cfg = cfg.replace(batch=x.shape[0], input_dim=x.shape[1], input="given")
        x = np.ascontiguousarray(x, dtype=cfg.np_dtype)
        if not np.isfinite(x).all():
            raise ConfigError("x contains inf or NaN")
    else:
        x = make_input(cfg)
    ws = Workspace(xp)
    runs = cfg.runs()
    keep = _keep_weights(cfg, max_memory) if keep_weights is None else bool(keep_weights)
    outputs: list[list[TrialOutput]] = []
    with pinned(threads), auto_threads(largest_product(cfg)), \
            Progress(len(runs) * cfg.trials, "simulate", enabled=progress) as bar:
        for run in runs:
            outs = [run_trial(run.config, 0, x, workspace=ws, keep=keep)]
            bar.update(1, postfix=run.label)
            for t in range(1, cfg.trials):
                outs.append(run_trial(run.config, t, x, workspace=ws, keep=keep,
                                      pre_range=outs[0].pre_range, act_range=outs[0].act_range))
                bar.update(1, postfix=run.label)
            outputs.append(outs)
    theory = predict_layers(cfg, x=x if cfg.input == "given" else None)
    return SimResult(cfg, build_frame(cfg, outputs, theory), build_histograms(cfg, outputs), created=run_time())

