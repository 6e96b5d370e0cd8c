"""The leading :math:`1/n` corrections to mean-field theory for one input and any elementwise activation.

Following Roberts, Yaida & Hanin, *The Principles of Deep Learning Theory* (2022): §4.3 (the four-point
vertex and its recursion for deeper layers), §4.5 (the :math:`1/n` correction to the metric) and §5.4
(fluctuations at criticality: the two universality classes). The equation numbers of the book were not
checked against its text here; the formulas below are derived from scratch and checked by the tests
against brute-force Monte Carlo.

The network and its stochastic metric
    Widths :math:`n_0, n_1, \\dots, n_L`; :math:`z^{l+1} = W^{l+1}\\phi(z^l) + b^{l+1}` with
    :math:`W_{ij} \\sim N(0, \\sigma_w^2/n_l)`, :math:`b_i \\sim N(0, \\sigma_b^2)` and :math:`\\phi(z^0) := x^0`,
    an input with :math:`q_{in} = \\|x^0\\|^2/n_0`. Given layer :math:`l`, the :math:`z^{l+1}_i` are exactly
    i.i.d. :math:`N(0, \\hat G^{l+1})` with the *stochastic metric*

    .. math:: \\hat G^{l+1} = \\sigma_b^2 + \\frac{\\sigma_w^2}{n_l}\\sum_{j=1}^{n_l}\\phi(z^l_j)^2, \\qquad
              \\hat G^1 = G^1 = \\sigma_b^2 + \\sigma_w^2 q_{in}.

    With :math:`f(G) = \\sigma_b^2 + \\sigma_w^2 m_2(G)` (the q-map), :math:`m_k(G) = \\mathbb{E}\\phi(\\sqrt G u)^k`:
    :math:`\\mathbb{E}[\\hat G^{l+1}|\\hat G^l] = f(\\hat G^l)` and
    :math:`\\mathrm{Var}[\\hat G^{l+1}|\\hat G^l] = \\sigma_w^4 (m_4 - m_2^2)(\\hat G^l)/n_l`.
Four-point vertex (the book's :math:`V^{(l)}/n_{l-1} = \\mathrm{Var}\\,\\hat G^l =: s_l`)
    Expanding to first order in :math:`1/n` around the mean-field metric :math:`G^{l+1} = f(G^l)`,

    .. math:: s_{l+1} = \\frac{\\sigma_w^4\\,[m_4(G^l) - m_2(G^l)^2]}{n_l} + \\chi_\\parallel^{l\\,2}\\, s_l,
              \\qquad s_1 = 0, \\qquad \\chi_\\parallel^l = f'(G^l) = \\sigma_w^2 m_2'(G^l),

    the book's recursion for :math:`V` with :math:`C_W = \\sigma_w^2`. The empirical second moment
    :math:`\\hat q^l = \\|z^l\\|^2/n_l` is :math:`\\hat G^l \\chi^2_{n_l}/n_l` given :math:`\\hat G^l`, so across networks

    .. math:: \\mathbb{E}\\hat q^l = \\mathbb{E}\\hat G^l, \\qquad
              \\frac{\\mathrm{Var}\\,\\hat q^l}{(G^l)^2} = \\frac{s_l}{(G^l)^2} + \\frac{2}{n_l} + O(n^{-2}).
Excess kurtosis of one pre-activation across networks
    :math:`z^l_i` is a Gaussian scale mixture: :math:`\\mathbb{E}z^4 = 3\\,\\mathbb{E}(\\hat G^l)^2`, so its excess
    kurtosis is :math:`3 s_l/(G^l)^2` (the book's :math:`3V^{(l)}/(n\\,G^2)`).
The :math:`1/n` correction to the mean metric
    :math:`\\mathbb{E}\\hat G^{l+1} = \\mathbb{E} f(\\hat G^l) = f(\\mathbb{E}\\hat G^l) + \\tfrac12 f''\\,s_l + \\dots`, so
    :math:`\\mathbb{E}\\hat q^l = G^l + \\delta_l` with :math:`\\delta_{l+1} = \\chi_\\parallel^l\\delta_l +
    \\tfrac12\\sigma_w^2 m_2''(G^l)\\, s_l`, :math:`\\delta_1 = 0`. Zero wherever :math:`m_2` is linear in
    :math:`G` (the ReLU family without bias).
Gradient norms (the engine's :math:`\\|\\partial L/\\partial z^l\\|^2`, loss :math:`\\sum_i r_i\\phi(z^L_i)`)
    :math:`\\delta^L = r\\odot\\phi'(z^L)`, :math:`\\delta^l = (W^{l+1\\top}\\delta^{l+1})\\odot\\phi'(z^l)`. Treating
    :math:`W^{l+1\\top}\\delta^{l+1}` as :math:`N(0, \\sigma_w^2\\|\\delta^{l+1}\\|^2/n_l)` independently of the forward
    pass (exact for the fresh :math:`r`; its correlation with the forward pass lives in one direction of
    :math:`n_l` and is :math:`O(1/n)` on the mean), :math:`\\|\\delta^l\\|^2 = \\|\\delta^{l+1}\\|^2\\,\\sigma_w^2\\,
    (g_2(\\hat G^l) + B_l)` with :math:`g_2 = \\mathbb{E}\\phi'^2` and :math:`B_l` the fluctuation of
    :math:`n_l^{-1}\\sum_j \\gamma_j^2\\phi'(z^l_j)^2`, :math:`\\gamma_j \\sim N(0,1)`.
Linear noise (all of the above at :math:`O(1/n)`)
    Each layer :math:`k` contributes three correlated fluctuations of unit averages: :math:`A_k` (of
    :math:`\\phi^2`), :math:`B_k` (of :math:`\\gamma^2\\phi'^2`) and :math:`C_k` (of :math:`z^2`), with covariance
    :math:`S_k/n_k`,

    .. math:: S = \\begin{pmatrix} m_4 - m_2^2 & \\mathbb{E}\\phi^2\\phi'^2 - m_2 g_2 & \\mathbb{E}\\phi^2 z^2 - m_2 G\\\\
              \\cdot & 3\\,\\mathbb{E}\\phi'^4 - g_2^2 & \\mathbb{E}\\phi'^2 z^2 - g_2 G \\\\ \\cdot & \\cdot & 2G^2\\end{pmatrix}.

    :math:`\\Delta\\hat G^l = \\sum_{k<l} F_{lk} A_k` with :math:`F_{lk} = \\sigma_w^2\\prod_{i=k+1}^{l-1}\\chi_\\parallel^i`;
    :math:`\\Delta\\hat q^l = \\Delta\\hat G^l + C_l`; and
    :math:`\\Delta\\log\\|\\delta^l\\|^2 = \\sum_{m=l}^{L}[a_m\\Delta\\hat G^m + B_m/g_2(G^m)]`,
    :math:`a_m = g_2'(G^m)/g_2(G^m)`. Each normalised variance is :math:`\\sum_k c_k^\\top S_k c_k/n_k` for the
    coefficients :math:`c_k` of the sources. For ReLU (:math:`\\sigma_w^2 = 2`, no bias) every layer adds
    :math:`(m_4/m_2^2 - 1)/n = 5/n` to both, as in :mod:`initlab.theory.relu_law`.
The two universality classes (§5.4; :attr:`FiniteWidth.increment` gives the per-layer growth)
    *Scale invariant* (ReLU, leaky ReLU, linear at :math:`\\sigma_b = 0`, critical :math:`\\chi_\\parallel = 1`):
    :math:`s_l/G^2 = (m_4/m_2^2 - 1)(l-1)/n` exactly linear in :math:`l/n`, coefficient 5 for ReLU, 2 for linear.
    *K\\* = 0* (tanh, erf at :math:`\\sigma_b = 0`, :math:`\\sigma_w^2 = 1/\\phi'(0)^2`): :math:`G^l \\to 0` like
    :math:`1/l`, and :math:`s_l/G^2 \\to \\tfrac23\\,l/n` for tanh (from :math:`m_2 = G - 2G^2`, :math:`m_4 - m_2^2
    = 2G^2 + O(G^3)`: the ratio :math:`r_l = s_l/G_l^2` obeys :math:`r_{l+1} = 2/n + (1 - 2/l) r_l`); the same
    :math:`\\tfrac23` for every activation of this class, reached only for :math:`l \\gg 1`. Both need
    :math:`l \\ll n`: the expansion parameter is :math:`l/n`.
Numerics
    Moments that the kernel does not give come from its own split quadrature rule
    (:meth:`initlab.theory.gaussian.QuadratureKernel.quadrature_rule`) on the activation's ``fn``/``grad``;
    derivatives in :math:`G` use :math:`\\partial_G\\mathbb{E}h(\\sqrt G u) = \\mathbb{E}[h\\,He_2(u)]/(2G)` and
    :math:`\\partial_G^2 = \\mathbb{E}[h\\,He_4(u)]/(4G^2)` (the variance derivatives of the Gaussian density),
    so only :math:`\\phi` and :math:`\\phi'` are evaluated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from .._spec import ConfigError
from ..activations import Activation, get_activation

__all__ = ["FiniteWidth", "finite_width", "layer_moments", "batch_fluctuations"]


def layer_moments(act: Activation | str, g: float) -> dict[str, float]:
    """Gaussian moments at variance ``g`` for the :math:`1/n` theory (keys ``m2 m2p m2pp m4 g2 g2p d4 m2g2 m2z g2z``).

    ``m2p``, ``m2pp``: first and second :math:`G`-derivatives of :math:`m_2`; ``g2p``: of :math:`g_2`; ``d4``
    :math:`\\mathbb{E}\\phi'^4`; ``m2g2`` :math:`\\mathbb{E}\\phi^2\\phi'^2`; ``m2z`` :math:`\\mathbb{E}\\phi^2 z^2`;
    ``g2z`` :math:`\\mathbb{E}\\phi'^2 z^2` (:math:`z = \\sqrt G u`).
    """
    from .gaussian import gaussian_kernel

    a = get_activation(act)
    if a.pieces != 1:
        raise ConfigError(f"the finite-width theory needs an elementwise activation; {a.spec} has {a.pieces} pieces")
    kern = gaussian_kernel(a, closed_form=False)
    g = float(g)
    u, w = kern.quadrature_rule(g)
    r = math.sqrt(g)
    with np.errstate(over="ignore", under="ignore"):
        phi, d = a.fn_grad(r * u)
    phi, d = np.asarray(phi, np.float64), np.asarray(d, np.float64)
    p2, d2, u2 = phi * phi, d * d, u * u
    he2, he4 = u2 - 1.0, u2 * u2 - 6.0 * u2 + 3.0
    m2, g2 = float(w @ p2), float(w @ d2)
    return {"m2": m2, "m2p": float(w @ (p2 * he2)) / (2 * g), "m2pp": float(w @ (p2 * he4)) / (4 * g * g),
            "m4": float(w @ (p2 * p2)), "g2": g2, "g2p": float(w @ (d2 * he2)) / (2 * g), "d4": float(w @ (d2 * d2)),
            "m2g2": float(w @ (p2 * d2)), "m2z": g * float(w @ (p2 * u2)), "g2z": g * float(w @ (d2 * u2))}


@dataclass(frozen=True)
class FiniteWidth:
    """The :math:`O(1/n)` predictions for one activation, :math:`(\\sigma_w^2, \\sigma_b^2)`, input and width list.

    Arrays have one entry per layer :math:`l = 1..L` (see :mod:`initlab.theory.finite_width` for the formulas).

    Attributes
    ----------
    act : str
    sigma_w2, sigma_b2, q_in : float
    widths : tuple of int
        :math:`(n_0, n_1, \\dots, n_L)`.
    G : ndarray
        The mean-field metric :math:`G^l` (the infinite-width :math:`q^l`).
    chi_par : ndarray
        :math:`\\chi_\\parallel^l = \\sigma_w^2 m_2'(G^l)`.
    var_G : ndarray
        :math:`s_l = \\mathrm{Var}\\,\\hat G^l` (the four-point vertex over :math:`n_{l-1}`).
    nvar_q : ndarray
        :math:`\\mathrm{Var}\\,\\hat q^l/(G^l)^2`: the normalised variance of :math:`\\hat q^l` across networks.
    kurtosis : ndarray
        Excess kurtosis of one pre-activation across networks, :math:`3 s_l/(G^l)^2`.
    mean_shift : ndarray
        :math:`\\delta_l/G^l`: the relative :math:`1/n` correction to :math:`\\mathbb{E}\\hat q^l`.
    nvar_grad : ndarray
        Normalised variance of :math:`\\|\\partial L/\\partial z^l\\|^2` across networks and loss draws.
    """

    act: str
    sigma_w2: float
    sigma_b2: float
    q_in: float
    widths: tuple[int, ...]
    G: np.ndarray = field(repr=False)
    chi_par: np.ndarray = field(repr=False)
    var_G: np.ndarray = field(repr=False)
    nvar_q: np.ndarray = field(repr=False)
    kurtosis: np.ndarray = field(repr=False)
    mean_shift: np.ndarray = field(repr=False)
    nvar_grad: np.ndarray = field(repr=False)

    @property
    def depth(self) -> int:
        return len(self.widths) - 1

    @property
    def nvar_G(self) -> np.ndarray:
        """:math:`s_l/(G^l)^2`, the normalised four-point vertex :math:`V^{(l)}/(n_{l-1} G^2)`."""
        return self.var_G / self.G ** 2

    @property
    def increment(self) -> np.ndarray:
        """:math:`n_l\\,(s_{l+1}/G_{l+1}^2 - s_l/G_l^2)` for :math:`l = 1..L-1`: the per-layer growth of the normalised
        vertex in units of :math:`1/n` (5 for ReLU at every layer; tends to 2/3 for tanh at criticality)."""
        v = self.nvar_G
        return np.diff(v) * np.asarray(self.widths[1:-1], np.float64)

    def __repr__(self) -> str:
        w = self.widths
        shown = f"{w[0]}, {w[1]} x {self.depth}" if len(set(w[1:])) == 1 else ", ".join(map(str, w))
        return (f"FiniteWidth({self.act}, sigma_w2={self.sigma_w2:.6g}, sigma_b2={self.sigma_b2:.6g}, "
                f"widths=({shown}); last layer: Var q/q^2={self.nvar_q[-1]:.4g}, grad {self.nvar_grad[0]:.4g} at l=1)")


def finite_width(act: Activation | str, sigma_w2: float, sigma_b2: float = 0.0, *,
                 width: int | Sequence[int] = 100, depth: int | None = None, q_in: float = 1.0) -> FiniteWidth:
    """The :math:`1/n` theory of a network: ``width`` and ``depth`` (input of the same width), or an explicit
    width list ``(n_0, ..., n_L)`` as ``width``. ``q_in = ||x^0||^2/n_0`` (default 1).

    Raises :class:`~initlab._spec.ConfigError` for a multi-piece activation, a non-positive variance or a
    metric that leaves :math:`[10^{-12}, 10^{12}]` (the expansion is about :math:`G^l` of order one).
    """
    a = get_activation(act)
    sw2, sb2, q_in = float(sigma_w2), float(sigma_b2), float(q_in)
    if not (math.isfinite(sw2) and sw2 > 0 and math.isfinite(sb2) and sb2 >= 0 and math.isfinite(q_in) and q_in > 0):
        raise ConfigError("sigma_w2 and q_in must be finite and > 0, sigma_b2 finite and >= 0")
    if np.ndim(width) == 0:
        if depth is None or int(depth) < 1:
            raise ConfigError("give depth >= 1 with a single width")
        widths = (int(width),) * (int(depth) + 1)
    else:
        if depth is not None:
            raise ConfigError("depth goes with a single width, not with a width list")
        widths = tuple(int(v) for v in width)
    if len(widths) < 2 or min(widths) < 1:
        raise ConfigError(f"widths must list n_0, ..., n_L (at least two, all >= 1), got {widths}")
    L = len(widths) - 1
    n = np.asarray(widths[1:], np.float64)
    G = np.empty(L)
    mom: list[dict[str, float]] = []
    g = sb2 + sw2 * q_in
    for l in range(L):
        if not 1e-12 <= g <= 1e12:
            raise ConfigError(f"the mean-field metric reaches {g:.3g} at layer {l + 1}: outside the range where the "
                              "1/n expansion is computed (1e-12 to 1e12)")
        G[l] = g
        mom.append(layer_moments(a, g))
        g = sb2 + sw2 * mom[-1]["m2"]
    col = {k: np.array([m[k] for m in mom]) for k in mom[0]}
    chi = sw2 * col["m2p"]
    s_aa = col["m4"] - col["m2"] ** 2
    s_ab = col["m2g2"] - col["m2"] * col["g2"]
    s_bb = 3 * col["d4"] - col["g2"] ** 2
    s_cc = 2 * G ** 2
    var_G = np.zeros(L)
    shift = np.zeros(L)
    for l in range(1, L):
        var_G[l] = sw2 ** 2 * s_aa[l - 1] / n[l - 1] + chi[l - 1] ** 2 * var_G[l - 1]
        shift[l] = chi[l - 1] * shift[l - 1] + 0.5 * sw2 * col["m2pp"][l - 1] * var_G[l - 1]
    nvar_q = (var_G + s_cc / n) / G ** 2
    nvar_grad = _grad_variance(sw2, chi, col["g2p"] / col["g2"], col["g2"], s_aa, s_ab, s_bb, n)
    return FiniteWidth(a.spec, sw2, sb2, q_in, widths, G, chi, var_G, nvar_q, 3 * var_G / G ** 2, shift / G,
                       nvar_grad)


def _grad_variance(sw2, chi, a, g2, s_aa, s_ab, s_bb, n) -> np.ndarray:
    """:math:`\\mathrm{Var}\\,\\Delta\\log\\|\\delta^l\\|^2` for every layer, in :math:`O(L^2)` time and :math:`O(L)` memory.

    The A-coefficient of source :math:`k` at layer :math:`l` is :math:`c_k(l) = \\sum_{m \\ge \\max(l, k+1)} a_m F_{mk}
    = T_k - P_k(l)` with :math:`T_k = \\sum_m a_m F_{mk}` and the prefix :math:`P_k(l) = \\sum_{m < l} a_m F_{mk}`
    (:math:`F_{mk} = 0` for :math:`m \\le k`, so :math:`P_k(l) = 0` for :math:`k \\ge l`); the B-coefficient is
    :math:`1/g_2(G^k)` for :math:`k \\ge l`. Rows :math:`F_{m\\cdot}` are built upwards,
    :math:`F_{m+1,k} = \\chi_\\parallel^m F_{mk}`, :math:`F_{m+1,m} = \\sigma_w^2`, once for :math:`T` and once for the prefixes.
    """
    L = chi.size

    def rows():
        row = np.zeros(L)
        for m in range(L):  # layer m + 1 (0-based m)
            yield m, row
            row = row * chi[m]
            row[m] = sw2

    total = np.zeros(L)
    for m, row in rows():
        total += a[m] * row
    b = 1.0 / g2
    b_only = np.cumsum((s_bb * b * b / n)[::-1])[::-1]  # sum over k >= l of the B-B terms
    idx = np.arange(L)
    prefix = np.zeros(L)
    out = np.empty(L)
    for m, row in rows():
        c = total - prefix
        out[m] = float(np.sum((s_aa * c * c + np.where(idx >= m, 2 * s_ab * c * b, 0.0)) / n)) + b_only[m]
        prefix += a[m] * row
    return out


def batch_fluctuations(act: Activation | str, sigma_w2, sigma_b2, widths: Sequence[int], G, c,
                       batch: int) -> tuple[np.ndarray, np.ndarray]:
    """Predicted spread across networks of a batch's mean second moment, and its :math:`1/n` mean shift.

    The simulation engine measures :math:`\\bar q^l = B^{-1}\\sum_a \\hat q^l_a` over a batch of :math:`B`
    inputs that share the network. With the layer's mean-field metric :math:`G^l` and pair correlation
    :math:`c^l` (given, per layer), the diagonal vertex :math:`s_l` of :func:`finite_width` and the
    off-diagonal one :math:`t_l = \\mathrm{Cov}(\\hat G^l_{aa}, \\hat G^l_{bb})` obey

    .. math:: t_{l+1} = \\frac{\\sigma_w^4\\,[K_4(G^l, c^l) - m_2(G^l)^2]}{n_l} + \\chi_\\parallel^{l\\,2} t_l,
              \\qquad K_4 = \\mathbb{E}[\\phi(u_a)^2\\phi(u_b)^2],

    (the diagonal :math:`\\mathbb{E}\\hat G_{aa}` depends only on :math:`\\hat G_{aa}` at first order) and, with
    :math:`\\mathrm{Cov}(\\hat q_a, \\hat q_b | \\hat G) - ` its mean part :math:`2 (c G)^2/n`,

    .. math:: \\mathrm{Var}\\ln\\bar q^l = \\frac{1}{(G^l)^2}\\Big[\\frac{s_l + 2G_l^2/n_l}{B}
              + \\Big(1 - \\frac1B\\Big)\\Big(t_l + \\frac{2 (c^l G^l)^2}{n_l}\\Big)\\Big].

    :math:`K_4` comes from the 2-D Gauss–Hermite rule (:func:`initlab.theory.quadrature.expect2`, 64² nodes:
    errors up to about 1e-3 relative across a kink, ample for a spread).

    Parameters
    ----------
    act : elementwise activation
    sigma_w2, sigma_b2 : float or array of length L (layer l's weights and bias)
    widths : (n_0, ..., n_L)
    G, c : arrays of length L: the mean-field :math:`q^l` and :math:`c^l` of the pre-activations
    batch : int

    Returns
    -------
    sd : ndarray (L,)
        Predicted standard deviation of :math:`\\ln\\bar q^l` across networks.
    shift : ndarray (L,)
        :math:`\\mathbb{E}\\bar q^l/G^l - 1` at :math:`O(1/n)` (as :attr:`FiniteWidth.mean_shift`).
    """
    from .quadrature import expect2

    a = get_activation(act)
    G = np.asarray(G, np.float64)
    L = G.size
    c = np.clip(np.nan_to_num(np.asarray(c, np.float64)), -1.0, 1.0)
    sw2 = np.broadcast_to(np.asarray(sigma_w2, np.float64), (L,))
    n = np.asarray(widths[1:], np.float64)
    if n.size != L or c.size != L or int(batch) < 1 or not np.all(np.isfinite(G) & (G > 0)):
        raise ConfigError("batch_fluctuations needs L widths after n_0, L values of G > 0 and c, and batch >= 1")
    sq = lambda v: np.asarray(a.fn(v), np.float64) ** 2  # noqa: E731
    s, t, shift = np.zeros(L), np.zeros(L), np.zeros(L)
    for l in range(L - 1):
        m = layer_moments(a, G[l])
        k4 = float(expect2(sq, sq, G[l], G[l], c[l] * G[l], degree=64))
        chi = sw2[l + 1] * m["m2p"]
        s[l + 1] = sw2[l + 1] ** 2 * (m["m4"] - m["m2"] ** 2) / n[l] + chi ** 2 * s[l]
        t[l + 1] = sw2[l + 1] ** 2 * (k4 - m["m2"] ** 2) / n[l] + chi ** 2 * t[l]
        shift[l + 1] = chi * shift[l] + 0.5 * sw2[l + 1] * m["m2pp"] * s[l]
    B = float(batch)
    var = ((s + 2 * G ** 2 / n) / B + (1 - 1 / B) * (t + 2 * (c * G) ** 2 / n)) / G ** 2
    return np.sqrt(np.maximum(var, 0.0)), shift / G
