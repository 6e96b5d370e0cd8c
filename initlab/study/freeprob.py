"""Free-probability prediction of the input–output Jacobian spectrum (Pennington, Schoenholz & Ganguli 2017).

A deep fully-connected network :math:`h^l = W^l x^{l-1} + b^l`, :math:`x^l = \\phi(h^l)` has the
input–output Jacobian

.. math:: J = \\frac{\\partial x^L}{\\partial x^0} = D_L W_L \\cdots D_1 W_1, \\qquad
          D_l = \\operatorname{diag}(\\phi'(h^l)).

At large width, with the inputs at the fixed point :math:`q^*` of the q-map, the entries of every
:math:`D_l^2` are distributed as :math:`\\lambda = \\phi'(\\sqrt{q^*} z)^2`, :math:`z \\sim N(0, 1)`, and the
factors are asymptotically free. The spectrum of :math:`JJ^\\top` then follows from the S-transform,
which is multiplicative under free products:

.. math:: S_{JJ^\\top}(y) = S_{D^2}(y)^L\\, S_{WW^\\top}(y)^L, \\qquad
          S_X(y) = \\frac{1+y}{y}\\, M_X^{-1}(y), \\qquad M_X(t) = \\sum_{k\\ge1} m_k(X)\\, t^k .

- Orthogonal weights (:math:`W = \\sigma_w O`, :math:`O` Haar): :math:`S_{WW^\\top} = \\sigma_w^{-2}`.
- Gaussian weights (variance :math:`\\sigma_w^2/N`; Marchenko–Pastur at ratio 1):
  :math:`S_{WW^\\top}(y) = \\sigma_w^{-2}/(1+y)`.
- :math:`S_{D^2}(y) = \\frac{1+y}{y}\\, w` where :math:`y = M_{D^2}(w) = \\mathbb{E}[w\\lambda/(1-w\\lambda)]`.

Moments (closed form, from the first two coefficients of the S-transforms; :math:`\\mu_k = \\mathbb{E}[\\lambda^k]`,
:math:`s_1 = 0` orthogonal, :math:`-1` Gaussian):

.. math:: m_1 = (\\sigma_w^2 \\mu_1)^L = \\chi_1^L, \\qquad
          \\operatorname{Var} = m_2 - m_1^2 = m_1^2\\, L \\left(\\frac{\\mu_2}{\\mu_1^2} - 1 - s_1\\right).

Density: with :math:`t = 1/(x + i\\varepsilon x)` and :math:`y = M_{JJ^\\top}(t)`, the inverse
:math:`t = M^{-1}(y) = \\frac{y}{1+y} S_{JJ^\\top}(y)` becomes one equation for :math:`w` (:func:`_residual`),

.. math::
    \\log t &= \\log\\frac{y}{1+y} + L \\log\\frac{(1+y)\\,w}{y\\,\\sigma_w^2} \\quad\\text{(orthogonal)}, \\qquad
    \\log t = \\log\\frac{y}{1+y} + L \\log\\frac{w}{y\\,\\sigma_w^2} \\quad\\text{(Gaussian)},

solved by Newton's method, continued from the real solution above the spectrum's upper edge down the
:math:`x` grid at :math:`\\varepsilon = 10^{-2}` and then refined on the whole grid down to
:math:`\\varepsilon = 10^{-6}`. The density of the eigenvalues of :math:`JJ^\\top` is
:math:`\\rho(x) = -\\operatorname{Im}\\, y / (\\pi x)`. The law of :math:`\\lambda` is represented by the
quadrature rule of :mod:`initlab.theory.quadrature` split at the activation's kinks (atoms; a piecewise
constant :math:`\\phi'`, e.g. ReLU's, gives its exact two atoms). An atom of :math:`\\lambda` at 0 of
mass :math:`a` (ReLU: 1/2) gives :math:`JJ^\\top` the same atom at 0 (the mass at 0 of a free product is
the largest of its factors').
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..activations import Activation, get_activation
from .._spec import ConfigError, UnknownNameError

__all__ = ["WEIGHTS", "JacobianTheory", "jacobian_theory", "d2_law", "critical_at_q"]

#: Weight ensembles the prediction knows.
WEIGHTS = ("orthogonal", "gaussian")

_EPS0, _EPS1 = 1e-2, 1e-6  # relative imaginary parts: path continuation, final refinement
_DEGREE = 48  # quadrature nodes per piece for the law of phi'(h)^2


def d2_law(act: Activation | str, q_star: float, degree: int = _DEGREE) -> tuple[np.ndarray, np.ndarray]:
    """Atoms and probabilities of :math:`\\lambda = \\phi'(\\sqrt{q^*} z)^2`, :math:`z \\sim N(0, 1)`.

    The nodes of :func:`initlab.theory.quadrature.piecewise_rule` split at 0 and the activation's kinks;
    when :math:`\\phi'` takes few distinct values (piecewise linear activations) equal atoms are merged,
    which gives the exact law (ReLU: 0 and 1 with probability 1/2 each).
    """
    from ..theory.quadrature import kinks, piecewise_rule

    a = get_activation(act)
    s = math.sqrt(max(float(q_star), 0.0))
    breaks = np.array([0.0] + ([k / s for k in kinks(a)] if s > 0 else []))
    z, p = piecewise_rule(breaks, degree)
    lam = np.asarray(a.grad(s * z), dtype=np.float64) ** 2
    key = np.round(lam, 12)
    uniq, inv = np.unique(key, return_inverse=True)
    if uniq.size <= lam.size // 4:
        return uniq, np.bincount(inv, weights=p) / p.sum()
    keep = p > 1e-300
    return lam[keep], p[keep] / p[keep].sum()


def critical_at_q(act: Activation | str, q_star: float) -> tuple[float, float]:
    """The critical :math:`(\\sigma_w^2, \\sigma_b^2)` whose fixed point is ``q_star``:
    :math:`\\sigma_w^2 = 1/\\mathbb{E}[\\phi'(\\sqrt{q^*}z)^2]` (so :math:`\\chi_1 = 1`),
    :math:`\\sigma_b^2 = q^* - \\sigma_w^2\\,\\mathbb{E}[\\phi(\\sqrt{q^*}z)^2]`; a :class:`ConfigError` if that is
    negative."""
    from ..theory.gaussian import gaussian_kernel

    a = get_activation(act)
    m2, _, g2 = gaussian_kernel(a).moments(float(q_star))
    sw2 = 1.0 / float(g2)
    sb2 = float(q_star) - sw2 * float(m2)
    if sb2 < -1e-12 * max(1.0, q_star):
        raise ConfigError(f"{a.spec} has no critical point with q* = {q_star:g} "
                          f"(it would need sigma_b2 = {sb2:.4g} < 0)")
    return sw2, max(sb2, 0.0)


@dataclass(frozen=True)
class JacobianTheory:
    """The free-probability prediction for one (activation, weight ensemble, σ_w², σ_b²) at its :math:`q^*`.

    Attributes
    ----------
    act, weights : str
        Activation spec; ``"orthogonal"`` or ``"gaussian"``.
    sigma_w2, sigma_b2, q_star : float
    chi1 : float
        :math:`\\sigma_w^2 \\mu_1`, the mean eigenvalue of :math:`JJ^\\top` per layer.
    mu1, mu2 : float
        :math:`\\mathbb{E}[\\lambda]`, :math:`\\mathbb{E}[\\lambda^2]` for :math:`\\lambda = \\phi'(h)^2`.
    lam, prob : ndarray
        The atoms of the law of :math:`\\lambda` (:func:`d2_law`).
    """

    act: str
    weights: str
    sigma_w2: float
    sigma_b2: float
    q_star: float
    chi1: float
    mu1: float
    mu2: float
    lam: np.ndarray = field(repr=False, compare=False)
    prob: np.ndarray = field(repr=False, compare=False)

    @property
    def s1(self) -> float:
        """First S-transform coefficient of :math:`WW^\\top` (0 orthogonal, −1 Gaussian)."""
        return 0.0 if self.weights == "orthogonal" else -1.0

    @property
    def zero_mass(self) -> float:
        """Probability that :math:`\\lambda = 0` (the mass of :math:`JJ^\\top`'s atom at 0; ReLU 1/2)."""
        return float(self.prob[self.lam == 0.0].sum())

    def mean(self, depth: int) -> float:
        """:math:`m_1 = \\chi_1^L`, the mean eigenvalue of :math:`JJ^\\top` (mean squared singular value of J)."""
        return float(self.chi1 ** int(depth))

    def variance(self, depth: int) -> float:
        """:math:`m_2 - m_1^2 = m_1^2 L (\\mu_2/\\mu_1^2 - 1 - s_1)`."""
        L = int(depth)
        return float(self.mean(L) ** 2 * L * (self.mu2 / self.mu1 ** 2 - 1.0 - self.s1))

    def grid(self, depth: int, points: int = 600, decades: float = 14.0) -> np.ndarray:
        """A log-spaced grid of eigenvalues of :math:`JJ^\\top` that covers the predicted spectrum:
        from :math:`x_{hi} = 4 m_1 (1 + \\mathrm{Var}/m_1^2)` down ``decades`` decades."""
        m1 = self.mean(depth)
        hi = 4.0 * m1 * (1.0 + self.variance(depth) / m1 ** 2)
        return np.geomspace(hi * 10.0 ** (-decades), hi, int(points))

    def density(self, depth: int, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Predicted density :math:`\\rho(x)` of the eigenvalues of :math:`JJ^\\top` at ``x > 0``.

        Returns ``(rho, converged)``: ``converged`` is False where Newton's method did not reach a residual
        below 1e-8 (``rho`` is NaN there). That happens only in a gap below the spectrum's lower edge, where
        :math:`1 + y` sits on the branch cut of the logarithm and the density is 0 (the tests check that every
        unconverged point lies below every point that carries density). The continuous part integrates to
        ``1 - zero_mass``.
        """
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 1 or not x.size or (x <= 0).any():
            raise ValueError("x must be a non-empty 1-D array of positive numbers")
        return _density(self, int(depth), x)


def jacobian_theory(act: Activation | str, weights: str, sigma_w2: float, sigma_b2: float = 0.0,
                    q_star: float | None = None) -> JacobianTheory:
    """Build the prediction; ``q_star`` defaults to the fixed point of the q-map reached from a unit input
    (:func:`initlab.theory.fixed_point`, ``q0 = 1``: :math:`q^1 = \\sigma_w^2 + \\sigma_b^2`, as in the engine).

    For a positively homogeneous activation (linear, ReLU, leaky ReLU) the law of :math:`\\phi'(h)^2` does not
    depend on :math:`q`, so a divergent :math:`q^*`, or :math:`q^* = 0` (where :math:`\\phi'(0)` would stand for
    the whole law), is replaced by 1.
    """
    from ..theory.meanfield import fixed_point

    a = get_activation(act)
    if weights not in WEIGHTS:
        raise UnknownNameError("weight ensemble", str(weights), list(WEIGHTS))
    if a.pieces != 1:
        raise ConfigError(f"{a.spec} has {a.pieces} pieces per unit: the free-probability prediction needs an "
                          f"elementwise activation")
    if q_star is None:
        fp = fixed_point(a, float(sigma_w2), float(sigma_b2))
        q_star = fp.q_star
    if not math.isfinite(q_star):
        if not a.positively_homogeneous:
            raise ConfigError(f"{a.spec} with sigma_w2 = {sigma_w2:g}, sigma_b2 = {sigma_b2:g} has no finite q*: "
                              "the free-probability prediction needs one")
        q_star = 1.0
    elif q_star <= 0 and a.positively_homogeneous:  # q* = 0 (ordered, no bias): the law is q's at any q > 0, not phi'(0)'s
        q_star = 1.0
    lam, prob = d2_law(a, q_star)
    mu1, mu2 = float(prob @ lam), float(prob @ lam ** 2)
    return JacobianTheory(a.spec, weights, float(sigma_w2), float(sigma_b2), float(q_star), float(sigma_w2) * mu1,
                          mu1, mu2, lam, prob)


# -- the density solver ------------------------------------------------------------------------------------
def _residual(th: JacobianTheory, L: int, w: np.ndarray, logt: np.ndarray):
    """``(F, dF/dw, y)`` of :math:`F(w) = \\log M^{-1}(y) - \\log t` with :math:`y = M_{D^2}(w)`."""
    d = 1.0 - w[None, :] * th.lam[:, None]
    r = th.prob[:, None] * th.lam[:, None] / d
    y = w * r.sum(0)
    dy = (r / d).sum(0)
    ly, l1y, ls = np.log(y), np.log1p(y), math.log(th.sigma_w2)
    base = ly - l1y
    dbase = dy / y - dy / (1.0 + y)
    if th.weights == "orthogonal":
        val = base + L * (l1y + np.log(w) - ly - ls)
        der = dbase + L * (dy / (1.0 + y) + 1.0 / w - dy / y)
    else:
        val = base + L * (np.log(w) - ly - ls)
        der = dbase + L * (1.0 / w - dy / y)
    return val - logt, der, y


def _newton(th, L, w, logt, iters):
    with np.errstate(all="ignore"):
        for _ in range(iters):
            f, d, _ = _residual(th, L, w, logt)
            step = f / d
            size = np.abs(step)
            cap = 0.3 * np.abs(w)
            step = np.where(size > cap, step * cap / np.maximum(size, 1e-300), step)
            step = np.where(np.isfinite(step), step, 0.0)
            w = w - step
            if np.all(np.abs(step) <= 1e-13 * np.abs(w)):
                break
        f, _, y = _residual(th, L, w, logt)
    return w, y, np.abs(f)


def _density(th: JacobianTheory, L: int, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if L < 1:
        raise ValueError("depth must be >= 1")
    lx = np.log(x)
    start = max(float(lx.max()), math.log(th.grid(L, points=2)[-1]))  # well above the upper edge
    coarse = np.exp(np.linspace(start, lx.min(), 80))
    # the real solution above the upper edge: bisection on log w in (0, 1/max lambda)
    lo, hi = -700.0, math.log(1.0 / th.lam.max()) - 1e-9
    logt0 = -math.log(coarse[0])
    with np.errstate(all="ignore"):
        for _ in range(64):
            mid = 0.5 * (lo + hi)
            f = _residual(th, L, np.array([complex(math.exp(mid))]), logt0)[0].real[0]
            lo, hi = (lo, mid) if f > 0 else (mid, hi)
    w = complex(math.exp(0.5 * (lo + hi)))
    path = np.empty(coarse.size, complex)
    for i, xi in enumerate(coarse):  # continuation down the coarse grid
        wn, _, _ = _newton(th, L, np.array([w]), -np.log(xi * (1 + 1j * _EPS0)), 25)
        path[i] = w = wn[0]
    lw = np.log(path)[::-1]
    lc = np.log(coarse)[::-1]
    wf = np.exp(np.interp(lx, lc, lw.real) + 1j * np.interp(lx, lc, np.unwrap(lw.imag)))
    for eps in np.geomspace(_EPS0, _EPS1, 5):
        wf, y, res = _newton(th, L, wf, -np.log(x * (1 + 1j * eps)), 20)
    ok = np.isfinite(res) & (res < 1e-8)
    rho = np.where(ok, np.maximum(-y.imag / (math.pi * x), 0.0), np.nan)
    return rho, ok
