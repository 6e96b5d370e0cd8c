"""The exact law of a deep ReLU network's squared norms at any widths (Hanin & Nica 2019).

Setting: widths :math:`n_0` (the input) :math:`, n_1, \\dots, n_L`; layer :math:`l` computes
:math:`x^l = \\mathrm{relu}(W^l x^{l-1})` with :math:`W^l_{ij} \\sim N(0, 2/n_{l-1})` (He), no bias.

The one-layer law
    Given :math:`x^{l-1} \\ne 0`, the pre-activations :math:`z^l = W^l x^{l-1}` are i.i.d.
    :math:`N(0, 2\\|x^{l-1}\\|^2/n_{l-1})` (the Gaussian :math:`W^l` is rotation invariant), their signs are
    independent of their magnitudes, and so

    .. math:: R_l = \\frac{\\|x^l\\|^2}{\\|x^{l-1}\\|^2} \\overset{d}{=} \\frac{2}{n_{l-1}}\\,\\chi^2_{K_l},
              \\qquad K_l \\sim \\mathrm{Binomial}(n_l, \\tfrac12),

    whatever :math:`x^{l-1}` is: :math:`R_l` is independent of the earlier layers, and
    :math:`\\log(\\|x^L\\|^2/\\|x^0\\|^2) = \\sum_l \\log R_l` is a sum of independent terms (Hanin & Nica 2019,
    "Products of many large random matrices and gradients in deep neural networks", Theorem 1 and its
    proof). The fan-in :math:`n_{l-1}` sets the scale, the fan-out :math:`n_l` the number of coins (the issue
    that asked for this writes both as :math:`n_l`, which is the same for equal widths).
The Jacobian applied to a vector
    :math:`J u = D_L W_L \\cdots D_1 W_1 u` with :math:`D_l = \\mathrm{diag}(1[z^l > 0])` has the same law:
    flipping the sign of row :math:`i` of :math:`W^l` keeps its law, changes unit :math:`i`'s activity and
    leaves :math:`(W^l v)_i^2` unchanged, so :math:`\\|D_l W^l v\\|^2 = \\sum_i B_i (W^l v)_i^2` with
    :math:`B_i` fair coins independent of :math:`W^l v \\sim N(0, 2\\|v\\|^2/n_{l-1})`. (The engine's
    back-propagated :math:`\\|\\partial L/\\partial z^l\\|^2 = \\|J^\\top r\\|^2`-type norms are the
    transpose; they follow this law only up to :math:`O(1/n)` corrections; see the study.)
The atom
    :math:`K_l = 0` (probability :math:`2^{-n_l}`) gives :math:`x^l = 0` and :math:`\\log = -\\infty` for every
    later layer. Everything below is *conditioned on survival*, :math:`K_l \\ge 1` for all :math:`l` (each
    :math:`K_l` zero-truncated, since the layers are independent); :attr:`ReLULaw.dead_probability` is
    :math:`1 - \\prod_l (1 - 2^{-n_l})`.

Exact moments (``Y = log(||x^L||^2/||x^0||^2)``)
    With :math:`\\mathbb{E}\\log\\chi^2_k = \\psi(k/2) + \\log 2` and :math:`\\mathrm{Var}\\log\\chi^2_k = \\psi'(k/2)`
    (digamma, trigamma), mixing over :math:`K_l`:

    .. math:: \\mathbb{E}Y = \\sum_l \\Big[\\log\\tfrac{4}{n_{l-1}} + \\mathbb{E}\\,\\psi(K_l/2)\\Big], \\qquad
              \\mathrm{Var}\\,Y = \\sum_l \\Big[\\mathbb{E}\\,\\psi'(K_l/2) + \\mathrm{Var}\\,\\psi(K_l/2)\\Big].
Exact distribution
    The characteristic function of :math:`\\log \\chi^2_k` is :math:`2^{it}\\Gamma(k/2+it)/\\Gamma(k/2)`, so
    :math:`\\varphi_Y(t) = \\prod_l \\mathbb{E}_{K_l}[(4/n_{l-1})^{it}\\Gamma(K_l/2+it)/\\Gamma(K_l/2)]`.
    The density is :math:`f(y) = \\pi^{-1}\\int_0^\\infty \\mathrm{Re}[e^{-ity}\\varphi_Y(t)]\\,dt` and the CDF
    (Gil-Pelaez) :math:`F(y) = \\tfrac12 - \\pi^{-1}\\int_0^\\infty \\mathrm{Im}[e^{-ity}\\varphi_Y(t)]/t\\,dt`,
    both by the trapezoid rule on :math:`[0, t_{max}]`, which is spectrally accurate here: the integrands are
    analytic and even/odd in :math:`t`, the step :math:`h` aliases only mass farther than :math:`2\\pi/h`
    from :math:`y` (:math:`h` is chosen so that this is beyond 40 standard deviations) and :math:`t_{max}` is
    where :math:`|\\varphi_Y| < 10^{-17}`. Quantiles invert the CDF by bisection.
Asymptotic law
    :math:`\\mathbb{E}R_l = n_l/n_{l-1}`, :math:`\\mathrm{Var}R_l/(\\mathbb{E}R_l)^2 = 5/n_l` (from
    :math:`\\mathbb{E}K^2 = n^2/4 + n/4`), hence at large widths

    .. math:: Y \\approx N\\Big(\\log\\frac{n_L}{n_0} - \\frac52\\sum_l\\frac1{n_l},\\;
              5\\sum_l \\frac1{n_l}\\Big),

    the log-normal law (the 5 is ReLU's :math:`\\mathbb{E}[\\phi^4]/\\mathbb{E}[\\phi^2]^2 - 1`,
    see :mod:`initlab.theory.finite_width`).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

__all__ = ["ReLULaw", "relu_law"]

_TAIL = 1e-18  # binomial mass dropped on each side
_PHI_TINY = 1e-17  # |cf| below this ends the Fourier integrals


@functools.lru_cache(maxsize=256)
def _coins(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Support and probabilities of :math:`K \\sim \\mathrm{Bin}(n, 1/2)` given :math:`K \\ge 1`, tails below 1e-18 dropped."""
    from scipy.stats import binom

    lo = max(1, int(binom.ppf(_TAIL, n, 0.5)))
    hi = int(binom.isf(_TAIL, n, 0.5)) if n > 1 else 1
    k = np.arange(lo, max(hi, lo) + 1)
    p = binom.pmf(k, n, 0.5)
    p = p / p.sum()
    k.flags.writeable = False
    p.flags.writeable = False
    return k, p


@functools.lru_cache(maxsize=256)
def _layer_moments(fan_in: int, fan_out: int) -> tuple[float, float]:
    """Mean and variance of :math:`\\log R = \\log(2/n_{in}) + \\log\\chi^2_K` given :math:`K \\ge 1`."""
    from scipy.special import digamma, polygamma

    k, p = _coins(fan_out)
    psi = digamma(k / 2.0)
    mean_psi = float(p @ psi)
    var = float(p @ polygamma(1, k / 2.0)) + float(p @ (psi - mean_psi) ** 2)
    return math.log(4.0 / fan_in) + mean_psi, var


def _layer_log_cf(fan_in: int, fan_out: int, t: np.ndarray) -> np.ndarray:
    """:math:`\\log \\mathbb{E}[R^{it}]` on ``t`` (complex, shape of ``t``)."""
    from scipy.special import loggamma

    k, p = _coins(fan_out)
    a = k[:, None] / 2.0
    ratio = np.exp(loggamma(a + 1j * t[None, :]) - loggamma(a))  # |ratio| <= 1
    return 1j * t * math.log(4.0 / fan_in) + np.log(p @ ratio)


@dataclass(frozen=True)
class ReLULaw:
    """The exact law of :math:`Y = \\log(\\|x^L\\|^2/\\|x^0\\|^2)` (equally of :math:`\\log(\\|Ju\\|^2/\\|u\\|^2)`)
    for a He-initialised ReLU network of widths ``(n_0, n_1, ..., n_L)``, given that no layer dies.

    See :mod:`initlab.theory.relu_law` for the derivation. Build with :func:`relu_law`.

    ``readout = m > 0`` adds the independent term :math:`\\log(\\chi^2_m/m)`: then :math:`Y` is the law of
    :math:`\\log(\\hat q/G^1)` for the empirical second moment :math:`\\hat q = \\|z\\|^2/m` of the next layer's
    :math:`m` pre-activations (:math:`\\hat q = \\hat G\\chi^2_m/m` given the metric; ``widths`` may then be just
    :math:`(n_0,)`, the first layer's :math:`\\hat q^1`).
    """

    widths: tuple[int, ...]
    readout: int = 0

    def __post_init__(self):
        w = tuple(int(v) for v in self.widths)
        m = int(self.readout)
        if len(w) < (1 if m > 0 else 2) or min(w) < 1 or m < 0:
            raise ValueError(f"widths must list n_0, n_1, ..., n_L (at least two, all >= 1; one with a readout), "
                             f"readout >= 0; got {self.widths}, {self.readout}")
        object.__setattr__(self, "widths", w)
        object.__setattr__(self, "readout", m)

    def _readout(self) -> tuple[float, float]:
        """Mean and variance of :math:`\\log(\\chi^2_m/m)`: :math:`\\psi(m/2) + \\log(2/m)`, :math:`\\psi'(m/2)`."""
        if not self.readout:
            return 0.0, 0.0
        from scipy.special import digamma, polygamma

        m = self.readout
        return float(digamma(m / 2.0)) + math.log(2.0 / m), float(polygamma(1, m / 2.0))

    @property
    def depth(self) -> int:
        return len(self.widths) - 1

    def _layers(self) -> dict[tuple[int, int], int]:
        """(fan_in, fan_out) → how many layers have it (equal layers share their law)."""
        out: dict[tuple[int, int], int] = {}
        for pair in zip(self.widths[:-1], self.widths[1:]):
            out[pair] = out.get(pair, 0) + 1
        return out

    @property
    def dead_probability(self) -> float:
        """:math:`P(\\text{some } K_l = 0) = 1 - \\prod_l (1 - 2^{-n_l})`: the atom at :math:`-\\infty`, excluded."""
        return float(-math.expm1(sum(math.log1p(-(0.5 ** n)) for n in self.widths[1:])))

    def layer_moments(self) -> np.ndarray:
        """Per layer :math:`l = 1..L`: ``(mean, var)`` of :math:`\\log R_l`, shape (L, 2)."""
        return np.array([_layer_moments(a, b) for a, b in zip(self.widths[:-1], self.widths[1:])])

    @property
    def mean(self) -> float:
        """Exact :math:`\\mathbb{E}Y` (digamma mixed over the binomial)."""
        return float(sum(c * _layer_moments(*ab)[0] for ab, c in self._layers().items())) + self._readout()[0]

    @property
    def var(self) -> float:
        """Exact :math:`\\mathrm{Var}\\,Y` (trigamma and digamma mixed over the binomial)."""
        return float(sum(c * _layer_moments(*ab)[1] for ab, c in self._layers().items())) + self._readout()[1]

    @property
    def lognormal(self) -> tuple[float, float]:
        """The asymptotic law's ``(mean, var)``: :math:`(\\log(n_L/n_0) - \\tfrac52\\sum 1/n_l,\\; 5\\sum 1/n_l)`
        (plus :math:`(-1/m, 2/m)` for a readout)."""
        s = sum(1.0 / n for n in self.widths[1:])
        r = 1.0 / self.readout if self.readout else 0.0
        return math.log(self.widths[-1] / self.widths[0]) - 2.5 * s - r, 5.0 * s + 2.0 * r

    def log_cf(self, t: np.ndarray) -> np.ndarray:
        """:math:`\\log\\varphi_Y(t)` (complex) on real ``t``."""
        t = np.asarray(t, dtype=np.float64)
        flat = t.reshape(-1)
        out = np.zeros(flat.shape, complex)
        for (a, b), c in self._layers().items():
            out += c * _layer_log_cf(a, b, flat)
        if self.readout:
            from scipy.special import loggamma

            m = self.readout / 2.0
            out += 1j * flat * math.log(1.0 / m) + loggamma(m + 1j * flat) - loggamma(m)
        return out.reshape(t.shape)

    @functools.cached_property
    def _grid(self) -> tuple[np.ndarray, np.ndarray]:
        """Trapezoid nodes ``t`` (from 0) and :math:`\\varphi_Y(t)` for the Fourier integrals."""
        sd = math.sqrt(self.var)
        h = 2 * math.pi / (80.0 * sd)  # aliasing only beyond 80 sd, i.e. > 40 sd from any y we evaluate
        t_max = 8.0 / sd
        while abs(np.exp(self.log_cf(np.array([t_max]))[0])) > _PHI_TINY:
            t_max *= 1.5
        t = np.arange(0.0, t_max + h, h)
        return t, np.exp(self.log_cf(t))

    def _check_y(self, y) -> np.ndarray:
        y = np.asarray(y, dtype=np.float64)
        sd = math.sqrt(self.var)
        if np.any(np.abs(y - self.mean) > 40 * sd):
            raise ValueError("y must lie within 40 standard deviations of the mean (the tails beyond are < 1e-300)")
        return y

    def pdf(self, y) -> np.ndarray:
        """Exact density of :math:`Y` at ``y`` (Fourier inversion of :meth:`log_cf`)."""
        y = self._check_y(y)
        t, phi = self._grid
        h = t[1] - t[0]
        w = np.full(t.shape, h)
        w[0] = h / 2
        vals = (np.exp(-1j * np.multiply.outer(y, t)) * phi).real @ w / math.pi
        return np.maximum(vals, 0.0)

    def cdf(self, y) -> np.ndarray:
        """Exact :math:`P(Y \\le y)` (Gil-Pelaez; the :math:`t \\to 0` term is its limit :math:`\\mathbb{E}Y - y`)."""
        y = self._check_y(y)
        t, phi = self._grid
        h = t[1] - t[0]
        tt = t[1:]
        integrand = (np.exp(-1j * np.multiply.outer(y, tt)) * phi[1:]).imag / tt
        total = integrand.sum(axis=-1) * h + 0.5 * h * (self.mean - y)
        return np.clip(0.5 - total / math.pi, 0.0, 1.0)

    def quantile(self, p) -> np.ndarray:
        """Exact quantiles :math:`F^{-1}(p)` for ``p`` in (0, 1), by bisection on :meth:`cdf` (to 1e-10 sd)."""
        p = np.asarray(p, dtype=np.float64)
        if np.any((p <= 0) | (p >= 1)):
            raise ValueError("p must lie in (0, 1)")
        sd = math.sqrt(self.var)
        lo = np.full(p.shape, self.mean - 39 * sd)
        hi = np.full(p.shape, self.mean + 39 * sd)
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            below = self.cdf(mid) < p
            lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
        return 0.5 * (lo + hi)

    def __repr__(self) -> str:
        w = self.widths
        shown = f"{w[0]}, {w[1]} x {self.depth}" if len(set(w[1:])) == 1 else ", ".join(map(str, w))
        extra = f", readout={self.readout}" if self.readout else ""
        return f"ReLULaw(widths=({shown}){extra}, mean={self.mean:.4g}, var={self.var:.4g})"


def relu_law(width: int | Sequence[int], depth: int | None = None, input_width: int | None = None) -> ReLULaw:
    """The :class:`ReLULaw` of ``depth`` layers of ``width`` (input of ``input_width``, default ``width``), or of an
    explicit width list ``(n_0, n_1, ..., n_L)``."""
    if np.ndim(width) == 0:
        if depth is None or int(depth) < 1:
            raise ValueError("give depth >= 1 with a single width")
        n = int(width)
        return ReLULaw((int(input_width) if input_width is not None else n,) + (n,) * int(depth))
    if depth is not None or input_width is not None:
        raise ValueError("depth and input_width go with a single width, not with a width list")
    return ReLULaw(tuple(int(v) for v in width))
