"""One sample of a spectrum study: the exact singular values of one deep network's input–output Jacobian.

:func:`measure_jacobian` draws one network (weights from the initializer registry) and one input at the fixed
point, builds :math:`J_L = D_L W_L \\cdots D_1 W_1` layer by layer in float64 and takes the singular values of
its prefixes at the requested depths. :class:`SpectrumSample` and :class:`SpectrumTask` make one such draw a
task of the experiment engine (:mod:`initlab.sweep.task`); :mod:`initlab.study.spectrum` runs the study and
joins the measurements with the free-probability prediction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .._spec import ConfigError, UnknownNameError
from ..activations import get_activation
from ..sweep.task import JsonConfig, Measured, Task

__all__ = ["SpectrumConfig", "SpectrumSample", "SpectrumTask", "measure_jacobian"]


@dataclass(frozen=True)
class SpectrumConfig:
    """One config of a spectrum study (validated; ``q_star`` is the input's and the theory's fixed point)."""

    act: str
    weights: str
    sigma_w2: float
    sigma_b2: float
    q_star: float

    def __post_init__(self):
        get_activation(self.act)  # an unknown name: the closest match
        if self.weights not in _ENSEMBLE:
            raise UnknownNameError("weight ensemble", self.weights, list(_ENSEMBLE))
        for name in ("sigma_w2", "sigma_b2", "q_star"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and (v > 0 or name == "sigma_b2" and v == 0)):
                raise ConfigError(f"{name} must be finite and > 0, got {v!r}")

    @property
    def label(self) -> str:
        return f"{self.act} / {self.weights}"


#: The initializer (registry spec) of each weight ensemble at σ_w²: Haar orthogonal times σ_w, or Gaussian
#: :math:`N(0, \sigma_w^2/N)`.
_ENSEMBLE = {"orthogonal": lambda sw2: f"orthogonal:gain={math.sqrt(sw2)!r}",
             "gaussian": lambda sw2: f"variance_scaling:scale={sw2!r},mode=fan_in,distribution=untruncated_normal"}


def measure_jacobian(cfg: SpectrumConfig, width: int, depths: Sequence[int],
                     rng: np.random.Generator) -> dict[int, np.ndarray]:
    """Singular values of :math:`J_L = \\prod_l D_l W_l` at each depth in ``depths`` for one network and input.

    The weights come from the initializer registry (:func:`initlab.get_initializer`): ``gaussian`` is
    ``variance_scaling`` with scale :math:`\\sigma_w^2` (:math:`W_{ij} \\sim N(0, \\sigma_w^2/N)`), ``orthogonal``
    is ``orthogonal`` with gain :math:`\\sigma_w` (Haar, :func:`initlab.initializers.orthogonal.orthogonal_matrix`);
    biases ``normal`` with std :math:`\\sigma_b`. Everything in float64; square layers (:math:`W` and
    :math:`W^\\top` have the same law). Only singular values are computed (``compute_uv=False``). Returns
    depth → singular values, descending.
    """
    from ..initializers import get_initializer

    a = get_activation(cfg.act)
    n = int(width)
    want = sorted(set(int(d) for d in depths))
    weights = get_initializer(_ENSEMBLE[cfg.weights](cfg.sigma_w2))
    bias = get_initializer(f"normal:{math.sqrt(cfg.sigma_b2)!r}") if cfg.sigma_b2 > 0 else None
    x = np.asarray(a.fn(math.sqrt(cfg.q_star) * rng.standard_normal(n)), dtype=np.float64)
    jac = None
    out: dict[int, np.ndarray] = {}
    for layer in range(1, want[-1] + 1):
        w = weights.sample((n, n), rng, np.float64)
        h = w @ x
        if bias is not None:
            h += bias.sample((n,), rng, np.float64)
        d = np.asarray(a.grad(h), dtype=np.float64)
        x = np.asarray(a.fn(h), dtype=np.float64)
        if jac is None:
            jac = d[:, None] * w
        else:
            jac = w @ jac
            jac *= d[:, None]
        if layer in want:
            out[layer] = np.linalg.svd(jac, compute_uv=False)
    return out


@dataclass(frozen=True)
class SpectrumSample(JsonConfig):
    """One sample of a spectrum study as a task of the experiment engine: config ``config`` of the study (its
    activation, ensemble and fixed point), sample ``sample``, drawn from ``SeedSequence(seed, spawn_key=(config,
    sample))`` (the child ``(config, sample)`` of the study's seed)."""

    act: str
    weights: str
    sigma_w2: float
    sigma_b2: float
    q_star: float
    width: int
    depths: tuple[int, ...]
    seed: int
    config: int
    sample: int

    def __post_init__(self):
        self.spectrum_config  # the network's settings, validated by SpectrumConfig
        if not (self.width >= 2 and self.depths and min(self.depths) >= 1 and self.seed >= 0):
            raise ConfigError("width must be >= 2, depths >= 1 and the seed >= 0")

    @property
    def spectrum_config(self) -> SpectrumConfig:
        return SpectrumConfig(self.act, self.weights, self.sigma_w2, self.sigma_b2, self.q_star)


class SpectrumTask(Task):
    """The spectrum sample (:func:`measure_jacobian`) as a task: its rows are ``depth`` and ``sv``
    (:data:`~initlab.schema.SPECTRUM_ROW_DTYPES`)."""

    schema_name = "spectrum"
    config_type = SpectrumSample
    preload = ("initlab.study.jacobian", "scipy.linalg")
    #: One BLAS thread per worker: the samples run in parallel instead. A threaded LAPACK QR of a 400 × 400
    #: matrix (the orthogonal draw) took 33× longer on a loaded 2-core machine (78 s against 2.4 s for the
    #: 128 draws of a 2-config, depth-32, 4-sample study).
    max_threads = 1

    def measure(self, config: SpectrumSample, seed: int, rows: bool = True) -> Measured:
        cfg = config.spectrum_config
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(config.config, config.sample)))
        sv = measure_jacobian(cfg, config.width, config.depths, rng)
        depth = np.concatenate([np.full(v.size, d, dtype=np.int64) for d, v in sv.items()])
        return Measured({}, {"depth": depth, "sv": np.concatenate(list(sv.values()))})
