"""The array-module seam: the engine's arrays live on the CPU (numpy) or on a CUDA device (CuPy).

The engine (:class:`initlab.sim.trial.TrialPass`) takes its array module ``xp`` as a parameter and
does every array operation through it; the per-layer numbers it records (one float per layer and
statistic, the histogram counts) come back to the host through :func:`to_host`. With ``xp = numpy``
the engine uses its fused CPU kernels (:mod:`initlab.sim.stats`); with any other module, or when
asked for (``generic=True``, which is how the CPU tests exercise this path), it uses the
array-module kernels of :mod:`initlab.sim.xpstats`, written only with functions numpy and CuPy share.

Random numbers on a device
    CuPy's generators are not numpy's, so a device run draws its Gaussian and uniform weights
    (every initializer whose family is normal, truncated normal or uniform) on the device from
    ``cupy.random.RandomState(seed)``, seeded by :func:`device_seed` from
    ``(seed, 'weight', trial, layer)``: statistically the same experiment as on the CPU, not the
    same bytes. Other initializers (orthogonal, LSUV, constants) are drawn on the host and copied.
    The input batch and the loss matrix are the host's, copied once.
"""

from __future__ import annotations

import math
from types import ModuleType
from typing import Any

import numpy as np

from .._spec import ConfigError, closest_match

__all__ = ["DEVICES", "array_module", "is_numpy", "to_host", "vdot_sum", "device_seed", "device_family",
           "device_sample"]

#: Devices the engine runs on.
DEVICES = ("cpu", "cuda")


def array_module(device: str = "cpu") -> ModuleType:
    """numpy for ``'cpu'``, CuPy for ``'cuda'`` (a :class:`~initlab._spec.ConfigError` when CuPy or a
    CUDA device is missing, or for an unknown device name)."""
    dev = str(device).strip().lower()
    if dev == "cpu":
        return np
    if dev == "cuda":
        try:
            import cupy
        except ImportError:
            raise ConfigError("device 'cuda' needs CuPy: pip install 'initlab[gpu]'") from None
        try:
            n = cupy.cuda.runtime.getDeviceCount()
        except Exception as exc:  # CUDA driver or runtime missing
            raise ConfigError(f"device 'cuda': no usable CUDA device ({exc})") from None
        if n < 1:
            raise ConfigError("device 'cuda': no CUDA device found")
        return cupy
    hint = closest_match(dev, DEVICES)
    raise ConfigError(f"unknown device '{device}' (devices: {', '.join(DEVICES)})"
                      + (f"; did you mean '{hint}'?" if hint else ""))


def is_numpy(xp: ModuleType) -> bool:
    return xp is np


def to_host(a: Any) -> np.ndarray:
    """A numpy array of ``a`` (a device array is copied back; a numpy array is returned as is)."""
    if isinstance(a, np.ndarray):
        return a
    get = getattr(a, "get", None)
    return np.asarray(get() if callable(get) else a)


def vdot_sum(xp: ModuleType, a: Any, b: Any) -> float:
    """:math:`\\sum_{ij} a_{ij} b_{ij}` of two 2-D arrays, rows in their dtype, the total in float64."""
    if xp is np:
        return float(np.vecdot(a, b).sum(dtype=np.float64))
    return float((a * b).sum(axis=-1).sum(dtype=xp.float64))


def device_seed(seed: int, stream: int, trial: int, layer: int) -> int:
    """A 63-bit seed for a device generator, hashed from the same words as the host's stream."""
    words = np.random.SeedSequence([int(seed), int(stream), int(trial), int(layer)]).generate_state(2, np.uint32)
    return int(words[0]) | (int(words[1]) & 0x7FFFFFFF) << 32


def device_family(init: Any, shape: tuple[int, ...]) -> tuple[str, float] | None:
    """``(family, scale)`` of an initializer a device can draw itself: ``('normal', std)``,
    ``('truncated_normal', std of the untruncated normal)`` or ``('uniform', limit)``; None otherwise."""
    from ..initializers import TRUNCATED_NORMAL_VARIANCE, Normal, TruncatedNormal, Uniform, VarianceScaling
    from ..initializers.base import _GainScaled

    if init.data_dependent or init.mean(shape) != 0.0:
        return None
    if isinstance(init, VarianceScaling):
        family = {"truncated_normal": "truncated_normal",
                  "untruncated_normal": "normal"}.get(init.distribution, "uniform")
    elif type(init).sample is _GainScaled.sample:  # drawn from its family (not orthogonal, which overrides it)
        family = type(init).family
    else:
        family = {Normal: "normal", Uniform: "uniform", TruncatedNormal: "truncated_normal"}.get(type(init))
    if family not in ("normal", "truncated_normal", "uniform"):
        return None
    var = init.variance(shape)
    scale = {"normal": math.sqrt(var), "uniform": math.sqrt(3.0 * var),
             "truncated_normal": math.sqrt(var / TRUNCATED_NORMAL_VARIANCE)}[family]
    return family, scale


def device_sample(xp: ModuleType, init: Any, shape: tuple[int, int], seed: int, dtype: Any) -> Any | None:
    """Draw ``init``'s weights of ``shape`` on ``xp``'s device from ``seed`` (None if it cannot: draw on
    the host). With numpy (the CPU tests of this path) the generator is ``PCG64(seed)``."""
    fam = device_family(init, shape)
    if fam is None:
        return None
    family, scale = fam
    work = np.float32 if np.dtype(dtype) == np.float32 else np.float64
    if xp is np:
        gen = np.random.Generator(np.random.PCG64(seed))
        normal = lambda size: gen.standard_normal(size, dtype=work)  # noqa: E731
        uniform = lambda size: gen.random(size, dtype=work)  # noqa: E731
    else:
        rs = xp.random.RandomState(seed)
        normal = lambda size: rs.standard_normal(size, dtype=work)  # noqa: E731
        uniform = lambda size: rs.random_sample(size, dtype=work)  # noqa: E731
    if family == "uniform":
        w = uniform(shape)
        w *= work(2)
        w -= work(1)
    else:
        w = normal(shape)
        if family == "truncated_normal":
            flat = w.reshape(-1)
            bad = xp.flatnonzero(xp.abs(flat) > 2)
            while int(bad.size):
                new = normal(int(bad.size))
                flat[bad] = new
                bad = bad[xp.abs(new) > 2]
    w *= work(scale)
    return xp.ascontiguousarray(w.astype(dtype, copy=False))
