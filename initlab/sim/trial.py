"""The per-trial machinery of :mod:`initlab.sim.engine`: one forward and backward pass with statistics.

:class:`TrialPass` runs one (config, trial) on drawn parameters and returns a :class:`TrialOutput`;
:class:`Workspace` holds the buffers reused across layers, trials and configs. The network, the
statistics, the backward loss, divergence, histograms and the speed notes are described in
:mod:`initlab.sim.engine`, whose :func:`~initlab.sim.engine.forward_backward` is the public entry point
(this module never imports the engine).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .._batchnorm import normalize_, normalize_backward
from . import stats as _st
from .xp import to_host, vdot_sum
from .xpstats import XpKernels

if TYPE_CHECKING:  # pragma: no cover
    from .config import SimConfig
    from .draws import TrialParams

__all__ = ["TrialOutput", "Workspace", "LayerBuffers", "TrialPass"]

_BN_EPS = 1e-5


@dataclass
class TrialOutput:
    """What one (config, trial) produces.

    Attributes
    ----------
    columns : dict of str -> ndarray (depth,)
        Every forward, backward and status column of the schema.
    pre_counts, act_counts : ndarray (depth, bins) int64
    pre_range, act_range : float
        The histogram ranges :math:`R` used.
    diverged_at : int or None
        First diverged layer (1-based).
    loss : float
    weight_grads : list of ndarray or None
        :math:`\\partial L / \\partial W^l` when asked for (tests).
    """

    columns: dict[str, np.ndarray]
    pre_counts: np.ndarray
    act_counts: np.ndarray
    pre_range: float
    act_range: float
    diverged_at: int | None
    loss: float
    weight_grads: list[np.ndarray] | None = None


class Workspace(_st.Scratch):
    """Buffers reused across layers, trials and configs of one simulation (``Workspace(cupy)`` on a device)."""


_FORWARD = ("pre_mean", "pre_std", "pre_q", "pre_min", "pre_max", "pre_corr",
            "act_mean", "act_std", "act_q", "act_min", "act_max", "saturated", "dead")
_BACKWARD = ("grad_pre_norm", "grad_w_norm", "grad_pre_ratio", "grad_w_ratio")


def _tick(clock: dict | None, key: str, t0: float) -> float:
    """Add the time since ``t0`` to ``clock[key]`` (ms); return the time now."""
    t = time.perf_counter()
    if clock is not None:
        clock[key] = clock.get(key, 0.0) + (t - t0) * 1e3
    return t


class LayerBuffers:
    """Where a trial pass keeps each layer's pre-activations ``Z``, outputs ``H`` and ReLU masks ``M``.

    When all layers have one width they are views of stacks (layers × batch × columns), so the
    statistics of several small layers run as one vectorised call ("chunks" of ``chunk`` layers,
    up to ``chunk_elements`` entries). ``H`` is ``Z`` itself for the identity on a plain stack.
    ReLU keeps its boolean masks only when dropout or a residual makes the output differ from
    :math:`\\phi(z)`; otherwise the mask of the current chunk lives in a chunk-sized scratch
    (:meth:`mask`) and the backward pass recomputes :math:`[h^l > 0]`, while :math:`h^l` is in cache.
    """

    def __init__(self, ws: Workspace, widths: tuple[int, ...], n: int, pieces: int, dtype: np.dtype,
                 kind: str, plain: bool, chunk_elements: int):
        L = len(widths)
        uniform = len(set(widths)) == 1
        self.chunk = max(1, chunk_elements // (n * widths[0] * pieces)) if uniform else 1
        alias = kind == "linear" and plain  # output is z itself
        keep_masks = kind == "relu" and not plain
        self.M: list[np.ndarray] | None = None
        self._scratch_mask: np.ndarray | None = None
        self._stacks: tuple[np.ndarray, np.ndarray, np.ndarray | None] | None = None
        if uniform:
            w = widths[0]
            zs = ws.get("Z", (L, n, w * pieces), dtype)
            hs = zs if alias else ws.get("H", (L, n, w), dtype)
            ms = ws.get("M", (L, n, w), np.bool_) if keep_masks else None
            self.Z, self.H = list(zs), list(hs)
            self._stacks = (zs, hs, ms)
            if keep_masks:
                self.M = list(ms)
            elif kind == "relu":
                self._scratch_mask = ws.get("Mchunk", (self.chunk, n, w), np.bool_)
        else:
            self.Z = [ws.get(f"Z{l}", (n, w * pieces), dtype) for l, w in enumerate(widths)]
            self.H = self.Z if alias else [ws.get(f"H{l}", (n, w), dtype) for l, w in enumerate(widths)]
            if kind == "relu":
                self.M = [ws.get(f"M{l}", (n, w), np.bool_) for l, w in enumerate(widths)]

    def stack(self, which: int, a: int, b: int) -> np.ndarray:
        """Layers a..b-1 of Z (0), H (1) or the relu masks (2) as one (k, n, c) array."""
        if which == 2:
            if self._scratch_mask is not None:
                return self._scratch_mask[: b - a]  # the chunk scratch holds the current chunk's masks
            if self._stacks is not None:
                return self._stacks[2][a:b]
            return self.M[a][None]
        if self._stacks is not None:
            return self._stacks[which][a:b]
        assert b == a + 1
        return (self.Z, self.H)[which][a][None]

    def mask(self, l: int, start: int) -> np.ndarray:
        """Where the forward pass writes layer ``l``'s relu mask (``start``: first layer of its chunk)."""
        return self.M[l] if self.M is not None else self._scratch_mask[l - start]


_PATHS = ("relu", "linear", "generic")


class TrialPass:
    """One forward and backward pass with statistics (the body of :func:`initlab.sim.engine.forward_backward`).

    The buffers are a :class:`LayerBuffers`; the activation's ``engine_path`` chooses the ReLU,
    identity or generic code. The weights are read from ``params.weights`` (in the forward pass,
    and again in the backward pass: a redrawing :class:`~initlab.sim.draws.LayerWeights` draws
    them twice) and never written: LSUV's rescaled matrices stay in the pass.

    Every array operation goes through the array module ``xp`` (the workspace's, see
    :mod:`initlab.sim.xp`); the statistics kernels are :mod:`initlab.sim.stats` for numpy and
    :class:`~initlab.sim.xpstats.XpKernels` otherwise, or with ``generic=True``.
    """

    def __init__(self, config: SimConfig, params: TrialParams, x: np.ndarray, ws: Workspace,
                 pre_range: float | None, act_range: float | None, keep_grads: bool, do_stats: bool,
                 timings: dict[str, float] | None = None, *, chunk_elements: int = 1 << 20,
                 generic: bool = False):
        self.cfg, self.p, self.ws, self.clock = config, params, ws, timings
        self.xp = xp = ws.xp
        self.K: Any = _st if (xp is np and not generic) else XpKernels(xp)
        self.act = config.activations()[0]
        self.init = config.initializers()[0]
        self.dt = config.np_dtype
        self.x = xp.ascontiguousarray(xp.asarray(x), dtype=self.dt)
        self.L, self.n = config.depth, self.x.shape[0]
        self.widths, self.pieces = config.widths, self.act.pieces
        path = getattr(self.act, "engine_path", "generic")
        self.kind = path if path in _PATHS else "generic"
        self.res = set(config.residual_layers())
        self.plain = config.dropout == 0 and not self.res  # layer output = phi(z)
        self.keep_grads, self.do_stats = keep_grads, do_stats
        # histogram ranges: given (trials after the first), or grown chunk by chunk (trial 0)
        self.fixed = pre_range is not None and act_range is not None
        self.ranges = [pre_range or 0.0, act_range or 0.0]
        self.hist_ranges: dict[int, tuple[float, float]] = {}  # chunk start -> ranges its histograms used
        L, B = self.L, config.bins
        self.cols = {c: np.full(L, np.nan) for c in _FORWARD + _BACKWARD}
        self.cols["diverged"] = np.zeros(L, dtype=bool)
        self.cols["lsuv_passes"] = np.zeros(L, dtype=np.int64)
        self.pre_counts = np.zeros((L, B), dtype=np.int64)
        self.act_counts = np.zeros((L, B), dtype=np.int64)
        self.diverged_at: int | None = None
        self.ctx: list[Any] = [None] * L
        self.bn_inv: list[np.ndarray | None] = [None] * L
        self.rescaled: dict[int, np.ndarray] = {}  # LSUV's weights, by layer (the caller's stay untouched)
        self._arrays: dict[tuple, np.ndarray] = {}
        self._on_device: dict[int, tuple] = {}
        self.buf = LayerBuffers(ws, self.widths, self.n, self.pieces, self.dt, self.kind, self.plain, chunk_elements)
        self.Z, self.H, self.M, self.chunk = self.buf.Z, self.buf.H, self.buf.M, self.buf.chunk
        self._stack = self.buf.stack
        self._mask = self.buf.mask

    def _weight(self, l: int) -> np.ndarray:
        """Layer ``l``'s weights as used: LSUV's rescaled copy, or the params' (drawn again if not kept)."""
        w = self.rescaled.get(l)
        return w if w is not None else self.xp.asarray(self.p.weights[l])

    def _dev(self, a: np.ndarray | None) -> Any:
        """A host array (bias, dropout mask, loss matrix) on the pass's device, copied once per pass."""
        if a is None or self.xp is np:
            return a
        key = id(a)
        got = self._on_device.get(key)
        if got is None or got[0] is not a:
            got = self._on_device[key] = (a, self.xp.asarray(a))
        return got[1]

    def run(self) -> TrialOutput:
        done = self._forward()
        loss, grads = self._backward() if self.diverged_at is None else (math.nan, None)
        if self.do_stats:
            self._finish_histograms(done)
            c = self.cols
            for k, r in (("grad_pre_norm", "grad_pre_ratio"), ("grad_w_norm", "grad_w_ratio")):
                last = c[k][-1]
                c[r] = c[k] / last if last != 0 else np.where(c[k] == 0, np.nan, np.inf)
        pre_range, act_range = (r if r > 0 else 1.0 for r in self.ranges)
        return TrialOutput(self.cols, self.pre_counts, self.act_counts, float(pre_range), float(act_range),
                           self.diverged_at, loss, grads)

    # -- forward -----------------------------------------------------------------------------
    def _forward(self) -> int:
        """Run the layers, statistics chunk by chunk. Returns the number of finite layers."""
        cfg, p, clk, xp = self.cfg, self.p, self.clock, self.xp
        h, start = self.x, 0
        t0 = time.perf_counter()
        for l in range(self.L):
            W, b = self._weight(l), self._dev(p.biases[l])
            if self.init.data_dependent:
                W, passes, _ = self.init.rescale(W, h, b)
                self.rescaled[l] = W = xp.ascontiguousarray(W, dtype=self.dt)
                self.cols["lsuv_passes"][l] = passes
            z, out = self.Z[l], self.H[l]
            t0 = _tick(clk, "other", t0)
            xp.matmul(h, W, out=z)
            t0 = _tick(clk, "forward matmuls", t0)
            if b is not None:
                z += b
            if cfg.batchnorm:
                self.bn_inv[l] = self._batchnorm(z)
            self.ctx[l] = self._activate(l, z, out, start)
            if self.do_stats and not self.plain and self.kind == "generic":
                a1 = out[None]
                self.cols["dead"][l] = self.K.dead_fraction(a1, a1.sum(axis=1))[0]
            if p.dropout[l] is not None:
                xp.multiply(out, self._dev(p.dropout[l]), out=out)
            if (l + 1) in self.res:
                xp.add(out, h, out=out)
            h = out
            W = None  # a redrawn layer is freed before the next one is drawn
            t0 = _tick(clk, "activation (and bias, batchnorm, dropout, residual)", t0)
            if l + 1 - start == self.chunk or l == self.L - 1:
                if self.do_stats:
                    self._chunk_stats(start, l + 1)
                    t0 = time.perf_counter()
                start = l + 1
                if self.diverged_at is not None:
                    return self.diverged_at - 1
        return self.L

    def _batchnorm(self, z: np.ndarray) -> np.ndarray:
        return normalize_(z, _BN_EPS, self.ws.get("bn_sq", z.shape, self.dt))[2]

    def _activate(self, l: int, z: np.ndarray, out: np.ndarray, start: int) -> Any:
        """``out = phi(z)``; returns the backward context."""
        xp = self.xp
        if self.kind == "relu":
            m = self._mask(l, start)
            xp.greater(z, 0, out=m)
            xp.multiply(z, m, out=out)
            return None
        if self.kind == "linear":
            if out is not z:
                xp.copyto(out, z)
            return None
        a, ctx = self.act.forward(z)
        xp.copyto(out, a, casting="same_kind")
        return ctx

    def _chunk_stats(self, a: int, b: int) -> None:
        """Forward statistics of layers a..b-1 (0-based), divergence, and their histograms."""
        clk, t0, K, xp = self.clock, time.perf_counter(), self.K, self.xp
        Z, H, c, ws = self._stack(0, a, b), self._stack(1, a, b), self.cols, self.ws
        pmin, pmax = K.minmax(Z)
        pm = K.moments(Z, ws, colsum=self.kind == "linear")
        c["pre_mean"][a:b], c["pre_std"][a:b], c["pre_q"][a:b] = pm.mean, pm.std, pm.q
        c["pre_min"][a:b], c["pre_max"][a:b] = pmin, pmax
        c["pre_corr"][a:b] = K.pair_corr(Z, pm.rownorm2)
        t0 = _tick(clk, "pre-activation statistics", t0)
        if self.plain and self.kind == "relu":  # the extremes of phi(z) are phi of z's (monotone)
            amin, amax = np.maximum(pmin, 0.0), np.maximum(pmax, 0.0)
        elif self.plain and self.kind == "linear":
            amin, amax = pmin, pmax
        else:
            amin, amax = K.minmax(H)
        am = pm if (self.kind == "linear" and self.plain) else K.moments(H, ws,
                                                                           colsum=self.kind == "generic" and self.plain)
        c["act_mean"][a:b], c["act_std"][a:b], c["act_q"][a:b] = am.mean, am.std, am.q
        c["act_min"][a:b], c["act_max"][a:b] = amin + 0.0, amax + 0.0
        # dead units: phi(z) zero for every sample (before dropout and the residual add)
        if self.kind == "relu":
            M = self._stack(2, a, b)
            c["dead"][a:b] = K.dead_from_mask(M)
            c["saturated"][a:b] = 1.0 - np.array([int(xp.count_nonzero(m)) for m in M]) / M[0].size
        elif self.kind == "linear":
            c["dead"][a:b] = K.dead_fraction(Z, pm.colsum)
            c["saturated"][a:b] = 0.0
        else:
            if self.plain:
                c["dead"][a:b] = K.dead_fraction(H, am.colsum)
            for i in range(b - a):
                s = self.act.saturated(Z[i], self.ctx[a + i])
                c["saturated"][a + i] = int(xp.count_nonzero(s)) / s.size
        t0 = _tick(clk, "output statistics", t0)
        finite = (np.isfinite(pmin) & np.isfinite(pmax) & np.isfinite(amin) & np.isfinite(amax)
                  & np.isfinite(pm.q) & np.isfinite(am.q))
        if not finite.all():
            first = a + int(np.flatnonzero(~finite)[0])
            self.diverged_at = first + 1
            for col in _FORWARD:
                c[col][first:] = np.nan
            c["diverged"][first:] = True
            b = first
        if b > a:
            if not self.fixed:  # trial 0: the ranges grow with the largest |value| seen so far
                top = lambda lo, hi: float(np.max(np.maximum(np.abs(c[lo][a:b]), np.abs(c[hi][a:b]))))  # noqa: E731
                self.ranges = [max(self.ranges[0], _st.nice_ceil(top("pre_min", "pre_max"))),
                               max(self.ranges[1], _st.nice_ceil(top("act_min", "act_max")))]
            self._hist_chunk(a, b)
            _tick(clk, "histograms", t0)

    # -- histograms --------------------------------------------------------------------------
    def _hist_chunk(self, a: int, b: int) -> None:
        """Histograms of layers a..b-1 on the current ranges (values beyond them go to the edge bins)."""
        c, B, ws = self.cols, self.cfg.bins, self.ws
        Rp, Ra = self.ranges
        self.hist_ranges[a] = (Rp, Ra)
        self.pre_counts[a:b] = self.K.hist_counts(self._stack(0, a, b), Rp, B, ws,
                                               clip=_clip(c["pre_min"][a:b], c["pre_max"][a:b], Rp))
        if self.plain and self.kind == "linear":
            self.act_counts[a:b] = self.pre_counts[a:b]
        elif self.plain and self.kind == "relu" and Ra == Rp:
            self.act_counts[a:b] = _st.relu_counts_from_pre(self.pre_counts[a:b])
        else:
            self.act_counts[a:b] = self.K.hist_counts(self._stack(1, a, b), Ra, B, ws,
                                                   clip=_clip(c["act_min"][a:b], c["act_max"][a:b], Ra))

    def _finish_histograms(self, k: int) -> None:
        """Trial 0: redo the chunks histogrammed before the ranges reached their final values."""
        t0 = time.perf_counter()
        final = tuple(self.ranges)
        for a in range(0, k, self.chunk):
            if self.hist_ranges.get(a) != final:
                self._hist_chunk(a, min(a + self.chunk, k))
        _tick(self.clock, "histograms", t0)

    # -- backward ----------------------------------------------------------------------------
    def _backward(self):
        cfg, p, ws, xp = self.cfg, self.p, self.ws, self.xp
        hL = self.H[-1]
        target = self._dev(p.target)
        if cfg.loss == "projection":
            g = target
            loss = vdot_sum(xp, hL, g)
        else:
            N = hL.size
            g = ws.get("g_top", hL.shape, self.dt)
            xp.subtract(hL, target, out=g)
            loss = 0.5 * vdot_sum(xp, g, g) / N
            g *= self.dt.type(1.0 / N)
        grads = [None] * self.L if self.keep_grads else None
        gpre, gw, clk = self.cols["grad_pre_norm"], self.cols["grad_w_norm"], self.clock
        t0 = time.perf_counter()
        for l in range(self.L - 1, -1, -1):
            W = self._weight(l)
            hin = self.x if l == 0 else self.H[l - 1]
            gb = g  # the branch's gradient; g itself stays intact for the skip connection
            if p.dropout[l] is not None:
                gb = self._arr("gb", g.shape)
                xp.multiply(g, self._dev(p.dropout[l]), out=gb)
            if self.kind == "relu":
                if self.M is not None:
                    m = self.M[l]
                else:  # [h > 0] = [z > 0] when h = relu(z); h^l was just read, so it is in cache
                    m = self._bool("m", self.H[l].shape)
                    xp.greater(self.H[l], 0, out=m)
                # in place when nothing else needs the incoming gradient (it was just written: in cache)
                inplace = gb is not target and (gb is not g or (l + 1) not in self.res)
                gz = gb if inplace else self._arr("gz", self.Z[l].shape)
                xp.multiply(gb, m, out=gz)
            elif self.kind == "linear":
                gz = gb
            else:
                gz = xp.asarray(self.act.backward(self.ctx[l], gb), dtype=self.dt)
            if self.do_stats:
                gpre[l] = self._norm(gz)
            if self.bn_inv[l] is not None:
                gz = self._bn_backward(gz, self.Z[l], self.bn_inv[l])
            gW = self._arr("gW", W.shape)
            t0 = _tick(clk, "backward: activation derivative and its norm", t0)
            xp.matmul(hin.T, gz, out=gW)
            t0 = _tick(clk, "backward matmuls", t0)
            if self.do_stats:
                gw[l] = self._norm(gW)
            if grads is not None:
                grads[l] = to_host(gW).copy()
            t0 = _tick(clk, "backward: weight-gradient norm", t0)
            if l > 0:
                gn = self._arr(f"gh{l % 2}", (self.n, W.shape[0]))  # never g (the other parity) nor gz
                xp.matmul(gz, W.T, out=gn)
                t0 = _tick(clk, "backward matmuls", t0)
                if (l + 1) in self.res:
                    gn += g
                g = gn
            W = None  # a redrawn layer is freed before the next one is drawn
        return loss, grads

    def _norm(self, a: np.ndarray) -> float:
        return _norm(a) if self.K is _st else self.K.norm(a)

    def _arr(self, name: str, shape) -> np.ndarray:
        """A scratch array of the backward pass, fetched once per name and shape.

        Names never alias each other: ``gb`` (dropout), ``gz`` (relu), ``bn_t`` (batch norm),
        ``gW``, and ``gh0``/``gh1`` (the incoming gradient alternates between them by layer parity).
        """
        key = (name, shape)
        arr = self._arrays.get(key)
        if arr is None:
            arr = self._arrays[key] = self.ws.get(f"{name}{shape}", shape, self.dt)
        return arr

    def _bool(self, name: str, shape) -> np.ndarray:
        key = (name, shape)
        arr = self._arrays.get(key)
        if arr is None:
            arr = self._arrays[key] = self.ws.get(f"{name}{shape}", shape, np.bool_)
        return arr

    def _bn_backward(self, gy: np.ndarray, xhat: np.ndarray, inv: np.ndarray) -> np.ndarray:
        """:math:`\\partial L/\\partial z` through the batch normalisation
        (:func:`initlab._batchnorm.normalize_backward`)."""
        return normalize_backward(gy, xhat, inv, self._arr("bn_t", gy.shape))


def _norm(a: np.ndarray) -> float:
    """:math:`\\|a\\|_F` of a matrix (:func:`initlab.sim.stats.frobenius`: float64 sums, float64 when squares overflow)."""
    return float(_st.frobenius(a[None])[0])


def _clip(lo: np.ndarray, hi: np.ndarray, R: float) -> bool:
    return bool(np.any(lo < -R) or np.any(hi > R))
