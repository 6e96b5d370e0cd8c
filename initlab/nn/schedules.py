"""Learning-rate schedules: ``schedule(t) -> learning rate`` for a step or epoch count ``t = 0, 1, 2, …``.

A schedule is a frozen dataclass registered in :data:`SCHEDULES` (``"step_decay:0.1,drop=0.5,every=10"``,
``"cyclic:base_lr=1e-4,max_lr=1e-2,step_size=500,mode=triangular2"``). Use it either as an
optimizer's ``learning_rate`` (then ``t`` counts optimizer steps, as Keras'
``LearningRateSchedule``) or in :class:`initlab.nn.callbacks.LearningRateScheduler` (``t`` counts
epochs by default). Reduce-on-plateau depends on the monitored metric, so it is a callback:
:class:`initlab.nn.callbacks.ReduceLROnPlateau`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .._spec import Registry, RegistryEntry

__all__ = [
    "Schedule",
    "SCHEDULES",
    "get_schedule",
    "StepDecay",
    "ExponentialDecay",
    "CosineDecay",
    "CyclicLR",
]

SCHEDULES: Registry["Schedule"] = Registry("schedule")


def _positive(name: str, v: float, allow_zero: bool = False) -> None:
    if not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        raise ValueError(f"{name} must be a finite number {'>=' if allow_zero else '>'} 0, got {v}")


@dataclass(frozen=True)
class Schedule(RegistryEntry):
    """Base class: a learning rate as a function of a step (or epoch) count."""


    def __call__(self, t: int) -> float:
        raise NotImplementedError


@SCHEDULES.register("step_decay", "step")
@dataclass(frozen=True)
class StepDecay(Schedule):
    """Step decay: multiply the rate by drop after every "every" steps (or epochs).

    .. math:: \\eta(t) = \\eta_0 \\cdot \\text{drop}^{\\lfloor t / \\text{every} \\rfloor}
    """

    initial_learning_rate: float = 0.1
    drop: float = 0.5
    every: int = 10

    def __post_init__(self):
        _positive("initial_learning_rate", self.initial_learning_rate)
        _positive("drop", self.drop)
        if not isinstance(self.every, int) or self.every < 1:
            raise ValueError(f"every must be an integer >= 1, got {self.every}")

    def __call__(self, t):
        return self.initial_learning_rate * self.drop ** (int(t) // self.every)


@SCHEDULES.register("exponential_decay", "exponential", "exp_decay")
@dataclass(frozen=True)
class ExponentialDecay(Schedule):
    """Exponential decay (Keras' ExponentialDecay): η0 · rate^(t / decay_steps), optionally stepwise.

    .. math:: \\eta(t) = \\eta_0 \\cdot r^{t / T} \\quad (\\lfloor t/T \\rfloor \\text{ if staircase})

    :math:`\\eta_0 e^{-kt}` is ``decay_rate = exp(-k)``, ``decay_steps = 1``.
    """

    initial_learning_rate: float = 0.01
    decay_rate: float = 0.96
    decay_steps: int = 1
    staircase: bool = False

    def __post_init__(self):
        _positive("initial_learning_rate", self.initial_learning_rate)
        _positive("decay_rate", self.decay_rate)
        if not isinstance(self.decay_steps, int) or self.decay_steps < 1:
            raise ValueError(f"decay_steps must be an integer >= 1, got {self.decay_steps}")

    def __call__(self, t):
        p = int(t) / self.decay_steps
        if self.staircase:
            p = math.floor(p)
        return self.initial_learning_rate * self.decay_rate**p


@SCHEDULES.register("cosine_decay", "cosine")
@dataclass(frozen=True)
class CosineDecay(Schedule):
    """Cosine decay (Keras' CosineDecay) from η0 to alpha·η0 over decay_steps, constant after.

    .. math:: \\eta(t) = \\eta_0 \\Big[(1-\\alpha)\\,\\tfrac12\\big(1 + \\cos \\tfrac{\\pi \\min(t, T)}{T}\\big) + \\alpha\\Big]
    """

    initial_learning_rate: float = 0.01
    decay_steps: int = 1000
    alpha: float = 0.0

    def __post_init__(self):
        _positive("initial_learning_rate", self.initial_learning_rate)
        _positive("alpha", self.alpha, allow_zero=True)
        if not isinstance(self.decay_steps, int) or self.decay_steps < 1:
            raise ValueError(f"decay_steps must be an integer >= 1, got {self.decay_steps}")

    def __call__(self, t):
        frac = min(int(t), self.decay_steps) / self.decay_steps
        cos = 0.5 * (1.0 + math.cos(math.pi * frac))
        return self.initial_learning_rate * ((1.0 - self.alpha) * cos + self.alpha)


@SCHEDULES.register("cyclic", "cyclic_lr", "clr")
@dataclass(frozen=True)
class CyclicLR(Schedule):
    """Cyclical learning rate (Smith 2017): triangular waves between base_lr and max_lr.

    With :math:`c = \\lfloor 1 + t / (2s) \\rfloor` and :math:`x = |t/s - 2c + 1|`,

    .. math:: \\eta(t) = \\eta_\\text{base} + (\\eta_\\text{max} - \\eta_\\text{base}) \\max(0, 1 - x)\\, \\gamma(c, t)

    where :math:`\\gamma = 1` (``triangular``), :math:`2^{-(c-1)}` (``triangular2``: the amplitude halves
    every cycle) or :math:`\\text{gamma}^t` (``exp_range``). ``s`` = ``step_size`` is a half cycle.
    """

    base_lr: float = 0.001
    max_lr: float = 0.006
    step_size: int = 2000
    mode: str = "triangular"
    gamma: float = 1.0

    def __post_init__(self):
        _positive("base_lr", self.base_lr, allow_zero=True)
        _positive("max_lr", self.max_lr)
        _positive("gamma", self.gamma)
        if self.max_lr < self.base_lr:
            raise ValueError(f"max_lr ({self.max_lr}) must be >= base_lr ({self.base_lr})")
        if not isinstance(self.step_size, int) or self.step_size < 1:
            raise ValueError(f"step_size must be an integer >= 1, got {self.step_size}")
        if self.mode not in ("triangular", "triangular2", "exp_range"):
            raise ValueError(f"mode must be triangular, triangular2 or exp_range, got '{self.mode}'")

    def __call__(self, t):
        t = int(t)
        cycle = math.floor(1 + t / (2 * self.step_size))
        x = abs(t / self.step_size - 2 * cycle + 1)
        if self.mode == "triangular":
            scale = 1.0
        elif self.mode == "triangular2":
            scale = 1.0 / 2.0 ** (cycle - 1)
        else:
            scale = self.gamma**t
        return self.base_lr + (self.max_lr - self.base_lr) * max(0.0, 1.0 - x) * scale


def get_schedule(spec: Any) -> Schedule:
    """A schedule from a spec string (``"cosine_decay:0.01,decay_steps=500"``) or a :class:`Schedule`."""
    return SCHEDULES.get(spec)
