"""Optimizers with Keras' defaults and update rules, applied in place to one flat parameter buffer.

The model keeps every trainable parameter in one contiguous array (and every gradient in another of
the same layout), so an update is a handful of in-place numpy calls over the whole buffer (Adam: 12
passes). ``optimizer.threads = k`` splits the buffer over ``k`` threads (see
:mod:`initlab.nn._parallel`), with the same bits as a serial update.

Each optimizer is a dataclass registered in :data:`OPTIMIZERS` (``"adam"``, ``"sgd:0.1,momentum=0.9"``,
``"rmsprop:learning_rate=1e-4"``). Its fields are the hyperparameters; the state (moment buffers, the
step count ``iterations``) is allocated by :meth:`Optimizer.build`. ``learning_rate`` may also be a
schedule (any callable of the step count, e.g. :class:`initlab.nn.schedules.ExponentialDecay`).

Keras vs PyTorch
----------------
Adam: Keras uses :math:`\\hat\\epsilon` outside the bias correction,
:math:`\\theta \\mathrel{-}= \\eta \\frac{\\sqrt{1-\\beta_2^t}}{1-\\beta_1^t} \\frac{m}{\\sqrt v + \\hat\\epsilon}`,
PyTorch :math:`\\theta \\mathrel{-}= \\frac{\\eta}{1-\\beta_1^t} \\frac{m}{\\sqrt{v/(1-\\beta_2^t)} + \\epsilon}`: they
agree when :math:`\\epsilon = \\hat\\epsilon / \\sqrt{1-\\beta_2^t}` (so exactly only for one step ``t``).
RMSprop: Keras puts ε inside the root, :math:`g / \\sqrt{v + \\epsilon}`, PyTorch outside,
:math:`g / (\\sqrt v + \\epsilon)`; they agree for ε = 0. Defaults also differ (Keras ρ 0.9, ε 1e-7;
PyTorch α 0.99, ε 1e-8).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._spec import Registry, RegistryEntry
from ._parallel import parallel_slices

__all__ = ["Optimizer", "OPTIMIZERS", "get_optimizer", "SGD", "Adagrad", "RMSprop", "Adam"]

OPTIMIZERS: Registry["Optimizer"] = Registry("optimizer")


def _check_lr(lr: Any) -> None:
    if callable(lr):
        return
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or lr < 0:
        raise ValueError(f"learning_rate must be a finite number >= 0 or a schedule, got {lr!r}")


def _check_unit(name: str, v: float, closed_high: bool = False) -> None:
    ok = isinstance(v, (int, float)) and math.isfinite(v) and 0 <= v and (v <= 1 if closed_high else v < 1)
    if not ok:
        raise ValueError(f"{name} must be in [0, 1{']' if closed_high else ')'}, got {v}")


def _check_eps(v: float) -> None:
    if not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
        raise ValueError(f"epsilon must be a finite number >= 0, got {v}")


@dataclass(eq=False)
class Optimizer(RegistryEntry):
    """Base class. Subclasses define :attr:`slots` (state arrays and their initial value) and :meth:`_kernel`."""

    learning_rate: float = 0.01
    #: Optimizer steps taken (Keras' ``iterations``).
    iterations: int = field(default=0, init=False)
    #: Threads for the elementwise update over the flat buffer (default 1). Two threads halve an isolated
    #: update, but inside a training loop OpenBLAS's worker threads are still spinning after the last
    #: matrix product and the second thread competes with them: measured slower on 2 cores, so opt in.
    threads: int = field(default=1, init=False, repr=False)
    state: dict[str, np.ndarray] = field(default_factory=dict, init=False, repr=False)
    #: The learning rate used by the last step.
    last_lr: float = field(default=float("nan"), init=False, repr=False)

    #: ``(name, initial value)`` of each per-parameter state array (set per instance).
    slots = ()

    def __post_init__(self):
        _check_lr(self.learning_rate)
        self._tmp: np.ndarray | None = None


    def build(self, size: int, dtype: Any) -> None:
        """Allocate the state for a flat buffer of ``size`` entries (reset, ``iterations = 0``)."""
        dtype = np.dtype(dtype)
        self.state = {name: np.full(size, init, dtype=dtype) for name, init in self.slots}
        self._tmp = np.empty(size, dtype=dtype)
        self.iterations = 0

    @property
    def built_for(self) -> tuple[int, np.dtype] | None:
        """``(size, dtype)`` the state was built for, or None."""
        return None if self._tmp is None else (self._tmp.shape[0], self._tmp.dtype)

    def current_lr(self) -> float:
        """The learning rate the next step will use (a schedule is evaluated at ``iterations``)."""
        lr = self.learning_rate
        return float(lr(self.iterations)) if callable(lr) else float(lr)

    def apply(self, params: np.ndarray, grads: np.ndarray) -> None:
        """One update of the flat ``params`` (in place) from the flat ``grads``."""
        if self.built_for != (params.shape[0], params.dtype):
            self.build(params.shape[0], params.dtype)
        lr = self.current_lr()
        self.last_lr = lr
        scalars = self._scalars(lr, self.iterations + 1)
        kernel = self._kernel
        arrays = [params, grads, *self.state.values(), self._tmp]
        parallel_slices(lambda *a: kernel(scalars, *a), arrays, self.threads)
        self.iterations += 1

    # -- per optimizer --------------------------------------------------------------------------
    def _scalars(self, lr: float, t: int) -> tuple:
        return (lr,)

    def _kernel(self, s: tuple, p: np.ndarray, g: np.ndarray, *rest: np.ndarray) -> None:
        raise NotImplementedError


@OPTIMIZERS.register("sgd")
@dataclass(eq=False)
class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum (Keras: lr 0.01).

    .. math:: v \\leftarrow \\mu v - \\eta g, \\qquad
              \\theta \\leftarrow \\theta + v \\quad\\text{or (Nesterov)}\\quad \\theta \\leftarrow \\theta + \\mu v - \\eta g

    and :math:`\\theta \\leftarrow \\theta - \\eta g` without momentum.
    """

    learning_rate: float = 0.01
    momentum: float = 0.0
    nesterov: bool = False

    def __post_init__(self):
        super().__post_init__()
        _check_unit("momentum", self.momentum, closed_high=True)
        self.slots = (("momentum", 0.0),) if self.momentum else ()

    def _scalars(self, lr, t):
        return (lr, self.momentum, self.nesterov)

    def _kernel(self, s, p, g, *rest):
        lr, mu, nesterov = s
        if not mu:
            (tmp,) = rest
            np.multiply(g, lr, out=tmp)
            p -= tmp
            return
        v, tmp = rest
        v *= mu
        np.multiply(g, lr, out=tmp)
        v -= tmp
        if nesterov:
            p -= tmp
            np.multiply(v, mu, out=tmp)
            p += tmp
        else:
            p += v


@OPTIMIZERS.register("adagrad")
@dataclass(eq=False)
class Adagrad(Optimizer):
    """Adagrad (Keras: lr 0.001, initial accumulator 0.1, ε 1e-7 inside the root).

    .. math:: a \\leftarrow a + g^2, \\qquad \\theta \\leftarrow \\theta - \\eta\\, g / \\sqrt{a + \\epsilon}
    """

    learning_rate: float = 0.001
    initial_accumulator_value: float = 0.1
    epsilon: float = 1e-7

    def __post_init__(self):
        super().__post_init__()
        _check_eps(self.epsilon)
        if not math.isfinite(self.initial_accumulator_value) or self.initial_accumulator_value < 0:
            raise ValueError(f"initial_accumulator_value must be >= 0, got {self.initial_accumulator_value}")
        self.slots = (("accumulator", self.initial_accumulator_value),)

    def _scalars(self, lr, t):
        return (lr, self.epsilon)

    def _kernel(self, s, p, g, acc, tmp):
        lr, eps = s
        np.multiply(g, g, out=tmp)
        acc += tmp
        np.add(acc, eps, out=tmp)
        np.sqrt(tmp, out=tmp)
        np.divide(g, tmp, out=tmp)
        tmp *= lr
        p -= tmp


@OPTIMIZERS.register("rmsprop")
@dataclass(eq=False)
class RMSprop(Optimizer):
    """RMSprop (Keras: lr 0.001, ρ 0.9, ε 1e-7 inside the root; optional momentum and centering).

    .. math:: v \\leftarrow \\rho v + (1-\\rho) g^2, \\qquad
              \\Delta = \\eta\\, g / \\sqrt{v - [\\bar g^2] + \\epsilon}, \\qquad
              \\theta \\leftarrow \\theta - \\Delta \\;(\\text{or } m \\leftarrow \\mu m + \\Delta,\\ \\theta \\leftarrow \\theta - m)

    where the centered variant also tracks :math:`\\bar g \\leftarrow \\rho \\bar g + (1-\\rho) g`.
    """

    learning_rate: float = 0.001
    rho: float = 0.9
    momentum: float = 0.0
    epsilon: float = 1e-7
    centered: bool = False

    def __post_init__(self):
        super().__post_init__()
        _check_unit("rho", self.rho)
        _check_unit("momentum", self.momentum)
        _check_eps(self.epsilon)
        slots = [("velocity", 0.0)]
        if self.centered:
            slots.append(("average_gradient", 0.0))
        if self.momentum:
            slots.append(("momentum", 0.0))
        self.slots = tuple(slots)

    def _scalars(self, lr, t):
        return (lr, self.rho, self.epsilon)

    def _kernel(self, s, p, g, v, *rest):
        lr, rho, eps = s
        rest = list(rest)
        tmp = rest.pop()
        avg = rest.pop(0) if self.centered else None
        mom = rest.pop(0) if self.momentum else None
        np.multiply(g, g, out=tmp)
        tmp *= 1 - rho
        v *= rho
        v += tmp
        if avg is not None:
            avg *= rho
            np.multiply(g, 1 - rho, out=tmp)
            avg += tmp
            np.multiply(avg, avg, out=tmp)
            np.subtract(v, tmp, out=tmp)
            tmp += eps
        else:
            np.add(v, eps, out=tmp)
        np.sqrt(tmp, out=tmp)
        np.divide(g, tmp, out=tmp)
        tmp *= lr
        if mom is not None:
            mom *= self.momentum
            mom += tmp
            p -= mom
        else:
            p -= tmp


@OPTIMIZERS.register("adam")
@dataclass(eq=False)
class Adam(Optimizer):
    """Adam (Keras: lr 0.001, β1 0.9, β2 0.999, ε̂ 1e-7 outside the bias correction).

    .. math:: m \\leftarrow m + (1-\\beta_1)(g - m), \\quad v \\leftarrow v + (1-\\beta_2)(g^2 - v), \\quad
              \\theta \\leftarrow \\theta - \\eta \\frac{\\sqrt{1-\\beta_2^t}}{1-\\beta_1^t} \\cdot \\frac{m}{\\sqrt{v} + \\hat\\epsilon}
    """

    learning_rate: float = 0.001
    beta_1: float = 0.9
    beta_2: float = 0.999
    epsilon: float = 1e-7

    def __post_init__(self):
        super().__post_init__()
        _check_unit("beta_1", self.beta_1)
        _check_unit("beta_2", self.beta_2)
        _check_eps(self.epsilon)
        self.slots = (("m", 0.0), ("v", 0.0))

    def _scalars(self, lr, t):
        alpha = lr * math.sqrt(1.0 - self.beta_2**t) / (1.0 - self.beta_1**t)
        return (alpha, 1.0 - self.beta_1, 1.0 - self.beta_2, self.epsilon)

    def _kernel(self, s, p, g, m, v, tmp):
        alpha, c1, c2, eps = s
        np.subtract(g, m, out=tmp)
        tmp *= c1
        m += tmp
        np.multiply(g, g, out=tmp)
        tmp -= v
        tmp *= c2
        v += tmp
        np.sqrt(v, out=tmp)
        tmp += eps
        np.divide(m, tmp, out=tmp)
        tmp *= alpha
        p -= tmp


def get_optimizer(spec: Any) -> Optimizer:
    """An optimizer from a spec string (``"adam"``, ``"sgd:0.1,momentum=0.9,nesterov=true"``) or an instance.

    A passed instance is returned as is (its state is kept), like Keras.
    """
    return OPTIMIZERS.get(spec)
