"""Finite-width fluctuations measured against the :math:`1/n` theory: ``initlab study finite-width``.

For each activation (at its given :math:`\\sigma_w^2, \\sigma_b^2`) and width :math:`n` of the grid, ``trials``
independent networks of depth :math:`L = \\lceil r\\,n\\rceil` (``depth_ratio`` :math:`r`; every layer
:math:`l \\le L` is a point, so :math:`l/n` runs up to :math:`r`) are drawn and one input is pushed through
each, forward and backward, in float64 with real Gaussian matrices (:func:`measure`: a pure function of
the point and the seed, one row per layer, columns :data:`initlab.schema.FINITE_WIDTH_COLUMNS`).

Across networks, per activation × width × layer (:func:`summarise`):

- ``var_log_q`` = :math:`\\mathrm{Var}\\log\\hat q^l` and ``var_log_grad`` =
  :math:`\\mathrm{Var}\\log\\|\\partial L/\\partial z^l\\|^2`, each with its standard error
  :math:`\\sqrt{(\\hat\\mu_4 - \\hat v^2)/T}`;
- ``pred_q``, ``pred_grad``: :mod:`initlab.theory.finite_width` (at :math:`O(1/n)` the variance of the log is the
  normalised variance); the mean-field prediction of both is 0;
- ``exact_q``: the exact Hanin–Nica value (:mod:`initlab.theory.relu_law`, plus :math:`\\psi'(n/2)` for
  :math:`\\hat q = \\hat G\\chi^2_n/n`) where it applies: an activation that is exactly ReLU
  (``engine_path == "relu"``) with :math:`\\sigma_b = 0`; NaN elsewhere.

The agreement per activation (:func:`agreement`): the share of points whose measured value lies within 3
standard errors of the prediction, the precision-weighted mean of measured/predicted, and the slopes of the
measured and the predicted values against :math:`l/n` (weighted least squares over the same points).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .._repr import ShowsItself
from .._spec import ConfigError
from ..schema import FINITE_WIDTH_COLUMNS, FINITE_WIDTH_ROW_DTYPES
from ..sweep.task import JsonConfig, Measured, Task
from .finite_width_stats import agreement, summarise
from ..activations import get_activation

__all__ = ["FWPoint", "FWNetwork", "FWTask", "measure", "FiniteWidthResult", "finite_width_study", "DEFAULT_ACTS"]

#: The default activations: ReLU (He), tanh at criticality (its K* = 0 point) and GELU on its critical line at
#: sigma_b2 = 0.2 (sigma_w2 from :func:`initlab.theory.critical_point`), each as ``spec:sigma_w2:sigma_b2``.
DEFAULT_ACTS = ("relu:2:0", "tanh:1:0", "gelu:critical:0.2")


@dataclass(frozen=True)
class FWPoint:
    """One grid point: an activation at :math:`(\\sigma_w^2, \\sigma_b^2)`, input :math:`q_{in} = \\|x^0\\|^2/n`,
    width and depth (square layers; the input has the same width)."""

    act: str
    sigma_w2: float
    sigma_b2: float
    q_in: float
    width: int
    depth: int

    def __post_init__(self):
        a = get_activation(self.act)
        if a.pieces != 1:
            raise ConfigError(f"finite-width study needs an elementwise activation, got {a.spec}")
        object.__setattr__(self, "act", a.spec)
        for name in ("sigma_w2", "q_in"):
            v = float(getattr(self, name))
            if not (math.isfinite(v) and v > 0):
                raise ConfigError(f"{name} must be finite and > 0, got {v:g}")
            object.__setattr__(self, name, v)
        sb2 = float(self.sigma_b2)
        if not (math.isfinite(sb2) and sb2 >= 0):
            raise ConfigError(f"sigma_b2 must be finite and >= 0, got {sb2:g}")
        object.__setattr__(self, "sigma_b2", sb2)
        if int(self.width) < 2 or int(self.depth) < 1:
            raise ConfigError(f"width must be >= 2 and depth >= 1, got {self.width}, {self.depth}")
        object.__setattr__(self, "width", int(self.width))
        object.__setattr__(self, "depth", int(self.depth))


def _layer(point: FWPoint, seed: int, layer: int) -> tuple[np.ndarray, np.ndarray]:
    """Layer ``layer``'s weights and biases, drawn from ``default_rng([seed, layer])`` (drawn again backward)."""
    rng = np.random.default_rng([seed, layer])
    n = point.width
    w = rng.standard_normal((n, n)) * math.sqrt(point.sigma_w2 / n)
    b = rng.standard_normal(n) * math.sqrt(point.sigma_b2) if point.sigma_b2 > 0 else np.zeros(n)
    return w, b


def measure(point: FWPoint, seed: int) -> list[dict[str, Any]]:
    """One network and input: :math:`\\hat q^l = \\|z^l\\|^2/n` and :math:`\\|\\partial L/\\partial z^l\\|^2` per layer.

    :math:`z^l = W^l\\phi(z^{l-1}) + b^l` (:math:`\\phi(z^0) := x^0`, a random direction scaled to
    :math:`\\|x^0\\|^2 = n q_{in}`); loss :math:`\\sum_i r_i\\phi(z^L_i)` with :math:`r \\sim N(0, I)`, so
    :math:`\\delta^L = r\\odot\\phi'(z^L)` and :math:`\\delta^l = (W^{l+1\\top}\\delta^{l+1})\\odot\\phi'(z^l)`. Everything
    comes from ``default_rng([seed, layer])`` (layer 0: input and ``r``), float64. Rows carry the columns of
    :data:`initlab.schema.FINITE_WIDTH_COLUMNS`.
    """
    a = get_activation(point.act)
    n, L = point.width, point.depth
    rng0 = np.random.default_rng([seed, 0])
    x = rng0.standard_normal(n)
    x *= math.sqrt(n * point.q_in) / np.linalg.norm(x)
    r = rng0.standard_normal(n)
    q = np.empty(L)
    grads = []
    with np.errstate(all="ignore"):
        for l in range(1, L + 1):
            w, b = _layer(point, seed, l)
            z = w @ x + b
            q[l - 1] = float(z @ z) / n
            x, d = a.fn_grad(z)
            grads.append(np.asarray(d, np.float64))
        g = np.empty(L)
        delta = r * grads[-1]
        g[L - 1] = float(delta @ delta)
        for l in range(L - 1, 0, -1):
            w, _ = _layer(point, seed, l + 1)
            delta = (w.T @ delta) * grads[l - 1]
            g[l - 1] = float(delta @ delta)
    base = {**asdict(point), "seed": int(seed)}
    return [dict(zip(FINITE_WIDTH_COLUMNS, [*(base[c] for c in FINITE_WIDTH_COLUMNS[:7]), l + 1, q[l], g[l]]))
            for l in range(L)]


# -- one network as a task of the experiment engine (initlab.sweep.task) ----------------------------------------

@dataclass(frozen=True)
class FWNetwork(FWPoint, JsonConfig):
    """One network: a grid point (:class:`FWPoint`, which validates it) and its ``seed`` (every draw of the
    network comes from it, :func:`measure`)."""

    seed: int = 0

    def __post_init__(self):
        super().__post_init__()
        if int(self.seed) < 0:
            raise ConfigError(f"seed must be >= 0, got {self.seed}")

    @property
    def point(self) -> FWPoint:
        return FWPoint(self.act, self.sigma_w2, self.sigma_b2, self.q_in, self.width, self.depth)


class FWTask(Task):
    """The finite-width network as a task: no summary row; one row per layer (``q_hat``, ``grad_sq`` and the
    point's fields)."""

    schema_name = "finite_width"
    config_type = FWNetwork
    preload = ("initlab.study.finite_width",)
    #: Products of at most 1024 × 1024 by a vector: one BLAS thread per worker, the networks run in parallel.
    max_threads = 1

    def measure(self, config: FWNetwork, seed: int, rows: bool = True) -> Measured:
        layers = measure(config.point, int(seed))
        return Measured({}, {c: np.array([r[c] for r in layers]) for c in FINITE_WIDTH_COLUMNS})


def parse_acts(acts: Sequence[str] | str) -> list[tuple[str, float, float, float]]:
    """``spec:sigma_w2:sigma_b2`` items (``sigma_w2`` may be ``critical``) → (spec, sigma_w2, sigma_b2, q_in).

    ``q_in`` puts the first layer's metric at the fixed point :math:`q^*` where it is finite and positive
    (:math:`\\sigma_b^2 + \\sigma_w^2 q_{in} = q^*`), else 1.
    """
    from ..theory.meanfield import fixed_point

    items = [s.strip() for s in acts.split(",")] if isinstance(acts, str) else [str(s).strip() for s in acts]
    out = []
    for item in items:
        if item.count(":") < 2:
            raise ConfigError(f"activation items are spec:sigma_w2:sigma_b2 (e.g. relu:2:0), got '{item}'")
        spec, sw, sb = item.rsplit(":", 2)
        try:
            sb2 = float(sb)
            a = get_activation(spec)
            if a.pieces != 1:
                raise ConfigError(f"finite-width study needs an elementwise activation, got {a.spec}")
            spec = a.spec
            if sw.strip().lower() == "critical":
                from ..theory.critical import critical_point

                cp = critical_point(spec, sb2)
                if not math.isfinite(cp.sigma_w2):
                    raise ConfigError(f"{spec} has no critical point at sigma_b2 = {sb2:g}: {cp.reason}")
                sw2 = float(cp.sigma_w2)
            else:
                sw2 = float(sw)
        except ValueError:
            raise ConfigError(f"sigma_w2 and sigma_b2 must be numbers in '{item}'") from None
        if not (math.isfinite(sw2) and sw2 > 0 and math.isfinite(sb2) and sb2 >= 0):
            raise ConfigError(f"need sigma_w2 > 0 and sigma_b2 >= 0 in '{item}'")
        qs = fixed_point(spec, sw2, sb2).q_star
        q_in = (qs - sb2) / sw2 if math.isfinite(qs) and qs > sb2 else 1.0
        out.append((spec, sw2, sb2, q_in))
    return out


@dataclass(repr=False)
class FiniteWidthResult(ShowsItself):
    """A finite-width study: ``rows`` (one per activation × width × trial × layer, :func:`measure`), ``points``
    (per activation × width × layer, :func:`summarise`), ``agreement`` (per activation, :func:`agreement`),
    ``settings`` and ``seconds`` (the run time)."""

    rows: Any
    points: Any
    agreement: Any
    settings: dict = field(default_factory=dict)
    seconds: float = 0.0

    def summary(self) -> str:
        """The agreement table: within 3 s.e. (all points; predicted <= 0.5), measured/predicted, and the measured
        (± bootstrap s.e.) and predicted slopes against l/n."""
        head = (f"{'activation':<10} {'within 3se q':>12} {'grad':>5} {'(pred<=0.5) q':>13} {'grad':>5} "
                f"{'meas/pred q':>11} {'grad':>5} {'slope q':>14} {'pred':>6} {'slope grad':>15} {'pred':>6}")
        lines = [f"finite-width study: widths {self.settings.get('widths')}, l/n up to "
                 f"{self.settings.get('depth_ratio')}, {self.settings.get('trials')} networks per point "
                 f"({self.seconds:.1f} s)", head]
        for r in self.agreement.itertuples():
            lines.append(f"{r.act:<10} {r.within3_q:>12.2f} {r.within3_grad:>5.2f} {r.within3_q_small:>13.2f} "
                         f"{r.within3_grad_small:>5.2f} {r.ratio_q:>11.3f} {r.ratio_grad:>5.2f} "
                         f"{f'{r.slope_q:.3f}±{r.slope_q_se:.3f}':>14} {r.slope_pred_q:>6.3f} "
                         f"{f'{r.slope_grad:.3f}±{r.slope_grad_se:.3f}':>15} {r.slope_pred_grad:>6.3f}")
        return "\n".join(lines)

    def _repr_facts(self) -> str:
        acts = ", ".join(self.agreement["act"]) if len(self.agreement) else "none"
        return f"{acts}; widths {self.settings.get('widths')}, {len(self.points)} points, {self.seconds:.1f} s"

    def _repr_table(self) -> Any:
        return self.agreement

    def _repr_figure(self) -> Any:
        return self.figures()["collapse"]

    def figures(self) -> Any:
        """``collapse`` and, where an activation has the exact ReLU law, ``relu_law`` (the distribution of the
        last layer's log q̂; :mod:`initlab.plots.finite_width`), built lazily."""
        import numpy as np

        from .._result import LazyFigures
        from ..plots.finite_width import collapse_figure, relu_law_figure

        if "_figures" not in self.__dict__:
            make = {"collapse": lambda: collapse_figure(self.points, self.agreement)}
            if np.isfinite(self.points["exact_q"].to_numpy(dtype=float)).any():
                make["relu_law"] = lambda: relu_law_figure(self.rows, self.points)
            self.__dict__["_figures"] = LazyFigures(make)
        return self.__dict__["_figures"]

    def report(self, path: str | Path) -> Path:
        """Write the PDF report (:func:`initlab.report.finite_width.write_finite_width_report`)."""
        from ..report.finite_width import write_finite_width_report

        return write_finite_width_report(path, self)

    def to_dir(self, path: str | Path) -> Path:
        """Write the run folder as a unit (:func:`initlab._io.staged_dir`): ``rows.csv``, ``points.csv`` and
        ``agreement.csv`` (full precision, dtypes in ``frames.json``), ``settings.json`` and the collapse figure
        ``collapse.png``. :meth:`from_dir` reads it back bit for bit."""
        import json

        from .._io import staged_dir
        from .._result import write_frames
        from ..report.pdf import write_png

        with staged_dir(path) as tmp:
            write_frames(tmp, {"rows": self.rows, "points": self.points, "agreement": self.agreement})
            (tmp / "settings.json").write_text(json.dumps({**self.settings, "seconds": self.seconds}, indent=2,
                                                          sort_keys=True) + "\n", encoding="utf-8")
            write_png(tmp / "collapse.png", self.figures()["collapse"])
        return Path(path)

    @classmethod
    def from_dir(cls, path: str | Path) -> "FiniteWidthResult":
        """The result :meth:`to_dir` wrote into ``path``."""
        import json

        from .._result import read_frames

        base = Path(path)
        if not (base / "settings.json").is_file() or not (base / "frames.json").is_file():
            raise ConfigError(f"{base} holds no finite-width study (no settings.json/frames.json)")
        settings = json.loads((base / "settings.json").read_text(encoding="utf-8"))
        seconds = float(settings.pop("seconds", 0.0))
        f = read_frames(base)
        return cls(f["rows"], f["points"], f["agreement"], settings=settings, seconds=seconds)


def finite_width_study(acts: Sequence[str] | str = DEFAULT_ACTS, widths: Sequence[int] = (16, 32, 64, 128), *,
                       depth_ratio: float = 0.5, trials: int = 100, seed: int = 0, store: Any = None,
                       workers: int | None = None, scheduler: Any = None, dask_local: int | None = None,
                       threads: int | None = None, progress: bool = True) -> FiniteWidthResult:
    """Run the study (see the module docstring).

    Parameters
    ----------
    acts : comma list or list of ``spec:sigma_w2:sigma_b2`` (``sigma_w2`` may be ``critical``)
    widths : list of int (>= 2)
    depth_ratio : float
        Deepest :math:`l/n` (depth :math:`\\lceil r n\\rceil` per width).
    trials : int
        Networks per point (>= 3): the error bars come from their spread.
    seed : int
        Trial ``t`` of every point uses the seed ``SeedSequence([seed, t])`` (common random numbers).
    store, workers, scheduler, dask_local, threads, progress
        Where the networks run: each is a task of the experiment engine
        (:class:`FWTask`, :func:`initlab.sweep.run.run_task`) on ``workers``
        local processes (default one per core), a Dask cluster, one BLAS thread each; a ``store`` makes the
        study resumable (a rerun measures only the networks not stored).
    """
    import pandas as pd

    t0 = time.perf_counter()
    ws = sorted({int(w) for w in ([widths] if np.ndim(widths) == 0 else widths)})
    if not ws or ws[0] < 2:
        raise ConfigError("widths must be integers >= 2")
    if not (math.isfinite(float(depth_ratio)) and 0 < float(depth_ratio) <= 8):
        raise ConfigError(f"depth_ratio must be in (0, 8], got {depth_ratio}")
    if int(trials) < 3:
        raise ConfigError(f"trials must be >= 3, got {trials}")
    cfgs = parse_acts(acts)
    points = [FWPoint(a, sw2, sb2, q_in, n, max(1, math.ceil(float(depth_ratio) * n)))
              for a, sw2, sb2, q_in in cfgs for n in ws]
    seeds = [int(np.random.SeedSequence([int(seed), t]).generate_state(1)[0]) for t in range(int(trials))]
    from ..sweep.run import run_task

    jobs = [FWNetwork(p.act, p.sigma_w2, p.sigma_b2, p.q_in, p.width, p.depth, s) for p in points for s in seeds]
    settings = {"acts": [f"{a}:{sw2!r}:{sb2!r}" for a, sw2, sb2, _ in cfgs], "widths": ws,
                "depth_ratio": float(depth_ratio), "trials": int(trials), "seed": int(seed)}
    _, rows = run_task(FWTask(), jobs, store=store, workers=workers, scheduler=scheduler, dask_local=dask_local,
                       threads=threads, progress=progress, definition=settings)
    frame = pd.DataFrame({c: rows[c].to_numpy() for c in FINITE_WIDTH_COLUMNS}).astype(FINITE_WIDTH_ROW_DTYPES)
    summ = summarise(frame, points)
    return FiniteWidthResult(frame, summ, agreement(summ, frame, seed=int(seed)), settings, time.perf_counter() - t0)
