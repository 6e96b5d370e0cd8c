"""The :class:`Activation` contract, the :data:`ACTIVATIONS` registry and :func:`get_activation`.

Contract (used by the engine, the theory and the trainer)
---------------------------------------------------------
``fn(x)``
    :math:`\\phi(x)`, elementwise, same dtype as ``x`` (float32 stays float32).
``grad(x)``
    :math:`\\phi'(x)`, elementwise, same dtype as ``x``. At a kink PyTorch's convention is
    used (``relu'(0) = 0``, the ``x <= 0`` branch for leaky ReLU and ELU, ``hard_tanh'(±1) = 0``).
``fn_grad(x)``
    ``(fn(x), grad(x))``, sharing work where possible.
``forward(z) -> (a, ctx)`` and ``backward(ctx, grad_a) -> grad_z``
    The layer view used by the engine and the trainer. ``ctx`` is opaque: :math:`\\phi'(z)`
    by default, the boolean mask :math:`[z > 0]` for ReLU, the arg-max for :class:`Maxout` (whose
    input has ``k`` times the output's columns). ``a`` and ``grad_z`` are new arrays, never views
    of the inputs; ``backward`` returns ``grad_a``'s dtype.
``max_grad``
    :math:`\\sup_x |\\phi'(x)|` (exact, or to 1e-9 where found numerically).
``saturated(z, ctx=None)``
    Boolean mask :math:`|\\phi'(z)| < 0.05\\,\\text{max\\_grad}`, shape of the activation; pass
    ``forward``'s ``ctx`` to avoid recomputing the derivative (simple regions are a comparison).
``can_die``
    True where an open input region gives :math:`\\phi = 0` and :math:`\\phi' = 0` (ReLU,
    hard sigmoid): a unit whose pre-activation stays there is dead (no output, no gradient).
``pieces``
    Columns of pre-activation per output unit (1, or ``k`` for maxout).
``engine_path``
    The simulation engine's fast-path hook: ``"relu"`` (:math:`\\max(z, 0)`: boolean masks, extremes
    and histograms from the pre-activations), ``"linear"`` (the identity: the output is :math:`z`), or
    ``"generic"`` (``forward``/``backward``). Only an activation that is exactly that function may
    claim a fast path; a subclass with another ``fn`` must set ``"generic"`` again.
``kernel_method``, ``gaussian_moments(q)``, ``gaussian_cross(q, c)``, ``gaussian_mean(q)``
    The activation's own Gaussian kernel, kept beside ``fn`` as neural-tangents' stax keeps ``kernel_fn``
    beside ``apply_fn``: closed forms of :math:`\\mathbb{E}[\\phi^2]`, :math:`\\mathbb{E}[\\phi'^2]`,
    :math:`\\mathbb{E}[\\phi(u_a)\\phi(u_b)]`, … for pre-activations of variance ``q`` (see
    :mod:`initlab.theory.gaussian` for the quantities). ``kernel_method`` is '' for an activation without
    one; the theory then integrates ``fn``/``grad`` numerically.

All functions are numerically stable in float32 and float64 for :math:`|x| \\le 10^4`
(no overflow or invalid warnings, no NaN, the correct limits). Non-float input is
computed in float64.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from .._spec import Registry, RegistryEntry

__all__ = ["Activation", "ACTIVATIONS", "get_activation", "SATURATION_FRACTION"]

#: A unit is saturated where its derivative is below this fraction of the activation's maximum derivative.
SATURATION_FRACTION = 0.05

#: Entries are registered by :mod:`initlab.activations` (its ``__init__``), in the order ``initlab list`` shows.
ACTIVATIONS: Registry["Activation"] = Registry("activation")


@dataclass(frozen=True)
class Activation(RegistryEntry):
    """Base class: an elementwise activation :math:`\\phi` and its derivative."""

    name: ClassVar[str] = "activation"
    can_die: ClassVar[bool] = False
    max_grad: ClassVar[float] = 1.0
    pieces: ClassVar[int] = 1
    engine_path: ClassVar[str] = "generic"
    #: :math:`\\phi(a x) = a\\,\\phi(x)` for :math:`a > 0` (linear, the ReLU family): the law of
    #: :math:`\\phi'(\\sqrt q z)` does not depend on :math:`q`, so a theory that needs only that law holds even
    #: where :math:`q^*` is infinite.
    positively_homogeneous: ClassVar[bool] = False

    #: How :meth:`gaussian_moments` and :meth:`gaussian_cross` compute ('' where there is no closed form).
    kernel_method: ClassVar[str] = ""

    def fn(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def grad(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def fn_grad(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(fn(x), grad(x))``; subclasses share work where they can."""
        return self.fn(x), self.grad(x)

    # -- the Gaussian kernel (only where ``kernel_method`` is set) -----------------------------------------
    def gaussian_moments(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(m2, m2_slope, g2)`` at variances ``q > 0``: :math:`\\mathbb{E}[\\phi(\\sqrt q z)^2]`, its
        q-derivative and :math:`\\mathbb{E}[\\phi'(\\sqrt q z)^2]` (summed over the pieces of a unit)."""
        raise NotImplementedError(f"{self.name} has no closed-form Gaussian kernel")

    def gaussian_cross(self, q: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(K, K')``: :math:`\\mathbb{E}[\\phi(u_a)\\phi(u_b)]`, :math:`\\mathbb{E}[\\phi'(u_a)\\phi'(u_b)]` for
        :math:`(u_a, u_b)` of variances ``q > 0`` and correlation ``c`` in [-1, 1] (broadcast together)."""
        raise NotImplementedError(f"{self.name} has no closed-form Gaussian kernel")

    def gaussian_mean(self, q: np.ndarray) -> np.ndarray:
        """:math:`\\mathbb{E}[\\phi(\\sqrt q z)]` at variances ``q > 0``."""
        raise NotImplementedError(f"{self.name} has no closed-form Gaussian kernel")

    def grad_square_at_infinity(self) -> float:
        """:math:`\\lim_{q \\to \\infty} \\mathbb{E}[\\phi'(\\sqrt q z)^2] = \\tfrac12\\bigl(\\phi'(-\\infty)^2 + \\phi'(+\\infty)^2\\bigr)`.

        The :math:`\\chi_1` of a q-map that grows without bound is :math:`\\sigma_w^2` times this limit (ReLU
        and softplus 1/2, tanh 0). It is the limit itself, not the expectation at a large but finite q, which
        for softplus still differs from 1/2 by :math:`O(q^{-1/2})` and would place a false critical point
        (issue 20 §5). The slopes at :math:`\\pm\\infty` are read at :math:`\\pm 10^6`, where every registered
        activation's derivative has settled to double precision; an activation without such limits overrides this.
        """
        g = np.asarray(self.grad(np.array([-1e6, 1e6])), dtype=np.float64)
        return float(0.5 * np.sum(g * g))

    # -- layer view ---------------------------------------------------------------------------
    def forward(self, z: np.ndarray) -> tuple[np.ndarray, Any]:
        """Activation of pre-activation ``z`` of shape (n, units*pieces) and the context for backward."""
        return self.fn_grad(z)

    def backward(self, ctx: Any, grad_a: np.ndarray) -> np.ndarray:
        """Gradient with respect to the pre-activation, given the gradient with respect to the output."""
        return grad_a * ctx

    def saturation_threshold(self) -> float:
        """Derivative magnitude below which a unit counts as saturated."""
        return SATURATION_FRACTION * self.max_grad

    def saturated(self, z: np.ndarray, ctx: Any = None) -> np.ndarray:
        """Boolean mask of the same shape as the activation: :math:`|\\phi'(z)| < 0.05\\,\\max|\\phi'|`.

        ``ctx``, the context :meth:`forward` returned for ``z``, is used instead of recomputing
        the derivative where it is :math:`\\phi'(z)` (the default ``forward``). Subclasses whose
        saturated set is a simple region override this with a comparison (much cheaper than the
        derivative) and ignore ``ctx``; the tests check all three ways agree.
        """
        use_ctx = ctx is not None and type(self).forward is Activation.forward
        return np.abs(ctx if use_ctx else self.grad(z)) < self.saturation_threshold()


def get_activation(spec: Any) -> Activation:
    """Parse an activation spec (``"relu"``, ``"leaky_relu:0.2"``) or pass an :class:`Activation` through."""
    return ACTIVATIONS.get(spec)


def _check_alpha(name: str, alpha: float, high: float) -> float:
    """``alpha`` as a Python float (so float32 arrays stay float32), checked to lie in (0, high]."""
    alpha = float(alpha)
    if not (math.isfinite(alpha) and 0 < alpha <= high):
        raise ValueError(f"{name} alpha must be in (0, {high:g}], got {alpha:g}")
    return alpha
