"""Dynamical isometry: the exact singular values of a deep network's input–output Jacobian at init.

For each config (activation × weight ensemble, at a given or critical :math:`\\sigma_w^2`) and each of
``samples`` independent draws, one network of the deepest requested depth is drawn at width ``N``,
fed an input at the fixed point (:math:`x^0 = \\phi(\\sqrt{q^*} z)`, so that :math:`q^1 = q^*`), and the
Jacobian is built exactly, layer by layer, in float64:

.. math:: J_l = D_l W_l J_{l-1}, \\qquad D_l = \\operatorname{diag}(\\phi'(h^l)), \\qquad
          h^l = W^l x^{l-1} + b^l,

with an SVD of :math:`J_L` at every requested depth :math:`L` (the depths are prefixes of one network).
Beside the measurement: the free-probability prediction of :mod:`initlab.study.freeprob` (its mean and
variance in closed form, its density on a grid), and per config × depth

- ``mean``/``var`` of the eigenvalues :math:`\\sigma_i^2` of :math:`JJ^\\top` (mean over samples of each
  sample's moment) with standard errors from the spread over samples (``mean_se``, ``var_se``);
- ``sv_max`` (mean largest singular value) and ``sv_max_pred`` (:math:`\\sqrt{}` of the predicted upper
  edge: the largest grid point where the density of :math:`\\ln\\sigma^2` is above 1e-4 of its maximum);
- ``tv``: the total-variation distance :math:`\\frac12 \\sum_b |\\hat p_b - p_b|` between the measured
  histogram of :math:`\\log_{10}\\sigma^2` and the predicted density integrated over the same bins (one
  extra bin holds everything below the grid, exact zeros included), and ``tv_null``, the same distance
  between the histograms of the first and the second half of the samples (the sampling noise floor).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..activations import get_activation
from .._repr import ShowsItself
from .._spec import ConfigError, UnknownNameError, split_specs
from .freeprob import WEIGHTS, JacobianTheory, critical_at_q, jacobian_theory
from .jacobian import SpectrumConfig, SpectrumSample, SpectrumTask

__all__ = ["SpectrumResult", "spectrum", "BINS"]

#: Histogram bins per config × depth (log-spaced in σ², over the prediction's grid).
BINS = 48
_SUB = 12  # density points per bin


def _configs(act: str | Sequence[str], weights: str | Sequence[str], sigma_w2: Any, sigma_b2: float | None,
             q_star: float | None, depths: Sequence[int] = ()) -> list[SpectrumConfig]:
    acts = split_specs(act) if isinstance(act, str) else list(act)
    ws = [w.strip() for w in weights.split(",")] if isinstance(weights, str) else list(weights)
    if not acts or not ws:
        raise ConfigError("give at least one activation and one weight ensemble")
    for w in ws:
        if w not in WEIGHTS:
            raise UnknownNameError("weight ensemble", w, list(WEIGHTS))
    out = []
    critical = isinstance(sigma_w2, str) and sigma_w2.strip().lower() == "critical"
    for a in acts:
        spec = get_activation(a).spec
        if critical:
            if sigma_b2 is None:
                sw2, sb2 = critical_at_q(spec, q_star if q_star is not None else 1.0 / 64)
                q = q_star if q_star is not None else 1.0 / 64
            else:
                from ..theory.critical import critical_point

                cp = critical_point(spec, float(sigma_b2))
                if not math.isfinite(cp.sigma_w2):
                    raise ConfigError(f"{spec} has no critical point at sigma_b2 = {sigma_b2:g}: {cp.reason}")
                sw2, sb2, q = cp.sigma_w2, float(sigma_b2), cp.q_star
        else:
            try:
                sw2 = float(sigma_w2)
            except (TypeError, ValueError):
                raise ConfigError(f"sigma_w2 must be a number or 'critical', got {sigma_w2!r}") from None
            if not (math.isfinite(sw2) and sw2 > 0):
                raise ConfigError(f"sigma_w2 must be finite and > 0, got {sw2:g}")
            sb2 = 0.0 if sigma_b2 is None else float(sigma_b2)
            if not math.isfinite(sb2) or sb2 < 0:
                raise ConfigError(f"sigma_b2 must be finite and >= 0, got {sb2:g}")
            q = None
        for w in ws:
            th = jacobian_theory(spec, w, sw2, sb2, q)
            _check_scale(th, depths)
            out.append(SpectrumConfig(spec, w, th.sigma_w2, th.sigma_b2, th.q_star))
    return out


def _check_scale(th: Any, depths: Sequence[int]) -> None:
    """A :class:`ConfigError` where the mean squared singular value :math:`m_1 = \\chi_1^L` (and its square, in
    the variance) leaves float64's range at one of ``depths``: the spectrum would be 0 or infinite."""
    for L in depths:
        if th.chi1 <= 0 or not 2 * L * abs(math.log10(th.chi1)) < 600:
            raise ConfigError(f"{th.act} at sigma_w2 = {th.sigma_w2:g}: chi1 = {th.chi1:.3g}, so the Jacobian's "
                              f"squared singular values are about chi1^{L} = 10^{L * math.log10(max(th.chi1, 1e-320)):.0f} "
                              f"at depth {L}, outside float64's range; choose sigma_w2 nearer the critical one")


@dataclass(repr=False)
class SpectrumResult(ShowsItself):
    """Everything a spectrum study measured and predicted, as tidy frames (see :mod:`initlab.study.spectrum`).

    Attributes
    ----------
    values : DataFrame
        One row per singular value: ``config``, ``label``, ``depth``, ``sample``, ``sv`` (descending).
    moments : DataFrame
        One row per config × depth: ``config``, ``label``, ``act``, ``weights``, ``sigma_w2``, ``sigma_b2``,
        ``q_star``, ``depth``, ``mean``, ``mean_se``, ``mean_pred``, ``var``, ``var_se``, ``var_pred``,
        ``sv_max``, ``sv_max_pred``, ``below``, ``below_pred`` (fraction of σ² below the histogram's range,
        measured and predicted; exact zeros included), ``zero_pred`` (the predicted atom at 0: ReLU 1/2),
        ``tv``, ``tv_null``, ``unconverged``.
    bins : DataFrame
        One row per config × depth × bin: ``config``, ``label``, ``depth``, ``bin``, ``lo``, ``hi`` (edges in
        σ²; bin 0 is everything below the grid, ``lo`` = 0), ``measured``, ``predicted`` (fractions).
    density : DataFrame
        The prediction on its grid: ``config``, ``label``, ``depth``, ``x`` (σ²), ``density`` (of σ²),
        ``density_log10`` (of :math:`\\log_{10}\\sigma^2`), ``converged``.
    settings : dict
    seconds : float
    """

    values: Any
    moments: Any
    bins: Any
    density: Any
    settings: dict = field(default_factory=dict)
    seconds: float = 0.0

    def _repr_facts(self) -> str:
        m = self.moments
        return (f"{m['label'].nunique()} config(s) × {m['depth'].nunique()} depth(s), "
                f"{len(self.values)} singular values, {self.seconds:.1f} s")

    def _repr_table(self):
        return self.moments[["label", "depth", "mean", "mean_pred", "var", "var_pred", "sv_max", "sv_max_pred", "tv"]]

    def _repr_figure(self):
        from ..plots.spectrum import spectrum_moments

        return spectrum_moments(self.moments)

    def summary(self) -> str:
        """A text table: measured against predicted moments, largest singular value, TV distance."""
        m = self.moments
        head = (f"{'config':<22} {'L':>4} {'mean':>9} {'pred':>9} {'var':>10} {'±se':>8} {'pred':>10} "
                f"{'sv_max':>8} {'pred':>8} {'TV':>6} {'TVnull':>6}")
        lines = [head]
        for r in m.itertuples():
            lines.append(f"{r.label:<22} {r.depth:>4} {r.mean:>9.4g} {r.mean_pred:>9.4g} {r.var:>10.4g} "
                         f"{r.var_se:>8.2g} {r.var_pred:>10.4g} {r.sv_max:>8.4g} {r.sv_max_pred:>8.4g} "
                         f"{r.tv:>6.3f} {r.tv_null:>6.3f}")
        return "\n".join(lines)

    #: The files of its run folder (:meth:`to_dir`).
    RUN_FILES = ("moments.csv", "bins.csv", "density.csv", "values.csv", "frames.json", "settings.json",
                 "spectrum_histograms.png", "spectrum_moments.png")

    @property
    def points(self):
        """The tidy points: one row per config × depth (:attr:`moments`)."""
        return self.moments

    def figures(self):
        """``spectrum_histograms`` and ``spectrum_moments`` (:mod:`initlab.plots.spectrum`), built lazily."""
        from .._result import LazyFigures
        from ..plots import spectrum as sp

        if "_figures" not in self.__dict__:
            self.__dict__["_figures"] = LazyFigures({
                "spectrum_histograms": lambda: sp.spectrum_histograms(self.bins, self.density, self.moments),
                "spectrum_moments": lambda: sp.spectrum_moments(self.moments)})
        return self.__dict__["_figures"]

    def report(self, path: str | Path) -> Path:
        """Write the PDF report (:func:`initlab.report.study.write_spectrum_report`)."""
        from ..report.study import write_spectrum_report

        return write_spectrum_report(self, path)

    def to_dir(self, path: str | Path) -> Path:
        """Write the run folder as a unit (:func:`initlab._io.staged_dir`): the frames (full precision, dtypes in
        ``frames.json``), ``settings.json`` (settings and run time) and the two figures as PNG.
        :meth:`from_dir` reads it back bit for bit."""
        import json

        from .._io import staged_dir
        from .._result import write_frames
        from ..report.pdf import write_png

        with staged_dir(path) as tmp:
            write_frames(tmp, {n: getattr(self, n) for n in ("moments", "bins", "density", "values")})
            meta = {"settings": self.settings, "seconds": self.seconds}
            (tmp / "settings.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
            for name, fig in self.figures().items():
                write_png(tmp / f"{name}.png", fig)
        return Path(path)

    @classmethod
    def from_dir(cls, path: str | Path) -> "SpectrumResult":
        """The result :meth:`to_dir` wrote into ``path``."""
        import json

        from .._result import read_frames

        f = read_frames(path)
        meta = json.loads((Path(path) / "settings.json").read_text(encoding="utf-8"))
        return cls(f["values"], f["moments"], f["bins"], f["density"], meta["settings"], float(meta["seconds"]))


def _bin_stats(sv2: list[np.ndarray], th: JacobianTheory, depth: int):
    """Edges, measured and predicted bin fractions, the density grid, TV and TV between sample halves.

    The bins are log-spaced between the predicted 0.1% quantile of the continuous part and 1.2 times the
    predicted upper edge; bin 0 holds everything below (exact zeros included), the top bin everything above.
    """
    wide = th.grid(depth, points=240)
    rho_w, ok_w = th.density(depth, wide)
    f = np.where(ok_w, rho_w, 0.0) * wide  # density in ln x
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (f[1:] + f[:-1]) * np.diff(np.log(wide)))])
    cont = cdf[-1]
    lo = wide[np.searchsorted(cdf, 1e-3 * cont)] if cont > 0 else wide[0]
    top = wide[f > 1e-4 * f.max()].max() if f.max() > 0 else wide[-1]
    edges = np.geomspace(max(lo, wide[0]), min(1.2 * top, wide[-1]), BINS + 1)
    fine = np.geomspace(edges[0], edges[-1], BINS * _SUB + 1)
    rho, ok = th.density(depth, fine)
    g = np.where(ok, rho, 0.0) * fine
    seg = 0.5 * (g[1:] + g[:-1]) * np.diff(np.log(fine))
    pred = np.concatenate([[0.0], seg.reshape(BINS, _SUB).sum(1)])
    pred[0] = max(0.0, 1.0 - pred[1:].sum())  # below the bins (and the atom at 0)

    def hist(parts: list[np.ndarray]) -> np.ndarray:
        v = np.concatenate(parts)
        c = np.histogram(v, bins=edges)[0].astype(np.float64)
        c[-1] += np.sum(v > edges[-1])  # above the range: the top bin
        return np.concatenate([[np.sum(v < edges[0])], c]) / v.size

    meas = hist(sv2)
    half = max(1, len(sv2) // 2)
    tv_null = 0.5 * float(np.abs(hist(sv2[:half]) - hist(sv2[half:])).sum()) if len(sv2) >= 2 else math.nan
    tv = 0.5 * float(np.abs(meas - pred).sum())
    return edges, meas, pred, fine, rho, ok, tv, tv_null, math.sqrt(top)


def spectrum(act: str | Sequence[str] = "tanh,relu", weights: str | Sequence[str] = "orthogonal,gaussian",
             depth: Sequence[int] | int = (2, 8, 32, 128), width: int = 400, *, sigma_w2: Any = "critical",
             sigma_b2: float | None = None, q_star: float | None = None, samples: int = 4, seed: int = 0,
             workers: int | None = None, scheduler: Any = None, dask_local: int | None = None,
             threads: int | None = None, store: Any = None, progress: bool = False) -> "SpectrumResult":
    """Measure and predict the Jacobian spectrum of every config at every depth.

    Parameters
    ----------
    act, weights : str or list of str
        Comma lists: activations; weight ensembles (``orthogonal``, ``gaussian``).
    depth : int or list of int
    width : int
        N (square layers; the input has width N too).
    sigma_w2 : float or ``"critical"``
        ``"critical"`` puts each activation on its critical line: at ``sigma_b2`` if given
        (:func:`initlab.theory.critical_point`), else at the fixed point ``q_star`` (default 1/64;
        :func:`initlab.study.freeprob.critical_at_q`).
    samples : int
        Independent (network, input) draws per config; the standard errors come from their spread.
    seed : int
        Seeds a :class:`numpy.random.SeedSequence`; config ``i`` sample ``s`` uses its child ``(i, s)``.
    workers, scheduler, dask_local, threads, store, progress
        Where the samples run (each is a task of the experiment engine, :func:`initlab.sweep.run.run_task`):
        ``workers`` local processes (default one per core), a Dask cluster, ``threads`` BLAS threads per worker
        (at most one, :attr:`SpectrumTask.max_threads`: threaded QRs of these sizes lose a lot on a loaded
        machine); a ``store`` makes the study resumable.

    Returns
    -------
    SpectrumResult
    """
    import pandas as pd

    from ..sweep.run import run_task

    t0 = time.perf_counter()
    depths = sorted(set([int(depth)] if np.ndim(depth) == 0 else [int(d) for d in depth]))
    if not depths or depths[0] < 1:
        raise ConfigError("depths must be integers >= 1")
    if int(width) < 2 or int(samples) < 1:
        raise ConfigError("width must be >= 2 and samples >= 1")
    if q_star is not None and not (math.isfinite(q_star) and q_star > 0):
        raise ConfigError(f"q_star must be finite and > 0, got {q_star:g}")
    cfgs = _configs(act, weights, sigma_w2, sigma_b2, q_star, depths)
    jobs = [SpectrumSample(c.act, c.weights, c.sigma_w2, c.sigma_b2, c.q_star, int(width), tuple(depths), int(seed),
                           ci, s) for ci, c in enumerate(cfgs) for s in range(int(samples))]
    settings = {"act": [c.act for c in cfgs], "weights": sorted({c.weights for c in cfgs}, key=WEIGHTS.index),
                "depth": depths, "width": int(width), "samples": int(samples), "seed": int(seed),
                "sigma_w2": sigma_w2 if isinstance(sigma_w2, str) else float(sigma_w2),
                "sigma_b2": sigma_b2, "q_star": q_star}
    points, rows = run_task(SpectrumTask(), jobs, store=store, workers=workers, scheduler=scheduler,
                            dask_local=dask_local, threads=threads, progress=progress, definition=settings)
    by_key = {k: part for k, part in rows.groupby("point", sort=False)}
    per: list[dict[int, list[np.ndarray]]] = [{d: [] for d in depths} for _ in cfgs]
    vals = []
    for job, key in zip(jobs, points["key"]):
        part = by_key[key]
        dcol, svcol = part["depth"].to_numpy(), part["sv"].to_numpy()
        for d in depths:
            sv = svcol[dcol == d]
            per[job.config][d].append(sv)
            vals.append(pd.DataFrame({"config": job.config, "label": cfgs[job.config].label, "depth": d,
                                      "sample": job.sample, "sv": sv}))
    mom, bins, dens = [], [], []
    for ci, cfg in enumerate(cfgs):
        th = jacobian_theory(cfg.act, cfg.weights, cfg.sigma_w2, cfg.sigma_b2, cfg.q_star)
        for d in depths:
            m, b, de = _depth_frames(ci, cfg, d, per[ci][d], th, int(width))
            mom.append(m)
            bins.append(b)
            dens.append(de)
    return SpectrumResult(pd.concat(vals, ignore_index=True), pd.DataFrame(mom), pd.concat(bins, ignore_index=True),
                          pd.concat(dens, ignore_index=True), settings, time.perf_counter() - t0)


def _depth_frames(ci: int, cfg: SpectrumConfig, d: int, svs: list[np.ndarray], th: JacobianTheory, width: int):
    """The moments row, the bins and the density of config ``ci`` at depth ``d`` (see the module docstring)."""
    import pandas as pd

    sv2 = [v ** 2 for v in svs]
    means = np.array([v.mean() for v in sv2])
    vars_ = np.array([v.var() for v in sv2])
    k = len(sv2)
    edges, meas, pred, fine, rho, ok, tv, tv_null, sv_top = _bin_stats(sv2, th, d)
    mom = {
        "config": ci, "label": cfg.label, "act": cfg.act, "weights": cfg.weights, "sigma_w2": cfg.sigma_w2,
        "sigma_b2": cfg.sigma_b2, "q_star": cfg.q_star, "depth": d, "width": width, "samples": k,
        "mean": means.mean(), "mean_se": means.std(ddof=1) / math.sqrt(k) if k > 1 else math.nan,
        "mean_pred": th.mean(d), "var": vars_.mean(),
        "var_se": vars_.std(ddof=1) / math.sqrt(k) if k > 1 else math.nan, "var_pred": th.variance(d),
        "sv_max": float(np.mean([math.sqrt(v.max()) for v in sv2])), "sv_max_pred": sv_top,
        "below": float(meas[0]), "below_pred": float(pred[0]), "zero_pred": th.zero_mass,
        "tv": tv, "tv_null": tv_null, "unconverged": int((~ok).sum()),
    }
    bins = pd.DataFrame({"config": ci, "label": cfg.label, "depth": d, "bin": np.arange(BINS + 1),
                         "lo": np.concatenate([[0.0], edges[:-1]]), "hi": edges, "measured": meas, "predicted": pred})
    dens = pd.DataFrame({"config": ci, "label": cfg.label, "depth": d, "x": fine, "density": rho,
                         "density_log10": rho * fine * math.log(10.0), "converged": ok})
    return mom, bins, dens
