"""How much memory a simulation needs, estimated from its config before anything is allocated.

:func:`estimate_bytes` adds up the arrays the engine holds at its peak (bytes of the run's dtype
:math:`s`, batch :math:`n`, widths :math:`w_l`, maxout pieces :math:`k`, fan-ins :math:`f_l`):

* the input batch :math:`n f_1 s`;
* one trial's weights :math:`\\sum_l f_l w_l k s` (drawn together), plus the largest layer drawn again
  as a temporary (the sampler's work array) and the loss matrix :math:`n w_L s`; with the weights
  redrawn in the backward pass (``keep_weights=False``, :mod:`initlab.sim.draws`) only the largest
  layer and its temporary, whatever the depth;
* the forward stacks kept for the backward pass: pre-activations :math:`n w_l k s` and outputs
  :math:`n w_l s` of every layer, the boolean ReLU masks :math:`n w_l`, dropout masks :math:`n w_l s`,
  and for activations without a fused path the derivative context :math:`n w_l k s` plus two
  temporaries of the largest layer;
* the backward pass: three gradient buffers of the largest layer and one weight gradient;
* histograms: per config and trial two :math:`L \\times \\text{bins}` int64 tables; the tidy frame
  (about 44 float columns per layer row, with pandas' copies); 10% on top, and 4 MiB for what every
  run allocates (the theory's quadrature tables, pandas' set-up).

It is an upper bound of the peak that ``tracemalloc`` measures, within a factor of 3 (see the tests), not
an exact count of Python objects. :func:`check_memory` compares it with :func:`available_bytes` (the
kernel's ``MemAvailable``, capped by a cgroup limit) or a user's ``--max-memory``.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from .._spec import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from .config import SimConfig

__all__ = ["estimate_bytes", "available_bytes", "check_memory", "keep_weights", "parse_size", "format_size",
           "MemoryLimitError"]


#: What a run allocates whatever its size: the theory's quadrature tables, pandas' and the figures' set-up.
_BASELINE = 4 << 20


class MemoryLimitError(ConfigError):
    """A run that would need more memory than is available (or allowed)."""


def _layer_widths(config: "SimConfig") -> tuple[list[int], int]:
    """(the per-layer widths when given per layer, else []; depth) without building a tuple of ``depth``."""
    return (list(config.width) if isinstance(config.width, tuple) else []), config.depth


def estimate_bytes(config: "SimConfig", keep_weights: bool = True) -> int:
    """Peak bytes the engine needs for ``config`` (see the module docstring); no array is allocated.
    ``keep_weights=False``: the weights are redrawn in the backward pass instead of kept."""
    from ..activations import Linear, ReLU, get_activation

    s = 8 if config.dtype == "float64" else 4
    n, L = config.batch, config.depth
    per_layer, _ = _layer_widths(config)
    w0 = per_layer[0] if per_layer else int(config.width)
    d = config.input_dim if config.input_dim is not None else w0
    worst = 0
    for spec in config.acts:
        act = get_activation(spec)
        k = act.pieces
        generic = type(act) not in (ReLU, Linear)
        if per_layer:
            fans = [d] + per_layer
            weights = sum(fans[i] * fans[i + 1] * k for i in range(L))
            big_w = max(fans[i] * fans[i + 1] * k for i in range(L))
            acts_total = sum(per_layer)
            wmax, wL = max(per_layer), per_layer[-1]
            fmax = max(fans)
        else:
            w = int(config.width)
            weights = (d * w + (L - 1) * w * w) * k
            big_w = max(d, w) * w * k
            acts_total = L * w
            wmax, wL, fmax = w, w, max(d, w)
        total = n * d * s                                   # input
        kept = weights if keep_weights else big_w
        total += (kept + big_w) * s + n * wL * s            # weights, sampler temporary, loss matrix
        total += n * acts_total * (k + 1) * s               # Z and H stacks
        total += n * acts_total                             # relu masks (bool)
        if config.dropout > 0:
            total += n * acts_total * s
        if generic:
            total += n * acts_total * k * s + 2 * n * wmax * k * s  # derivative context + temporaries
        total += 3 * n * max(fmax, wmax * k) * s + big_w * s        # backward buffers, weight gradient
        worst = max(worst, total)
    rows = L * config.trials * config.n_runs
    worst += 2 * 8 * config.bins * rows      # histogram tables
    worst += 3 * 8 * 48 * rows               # the tidy frame (about 44 columns), built with copies
    return int(1.1 * worst) + _BASELINE


def _cgroup_limit() -> int | None:
    for p in (Path("/sys/fs/cgroup/memory.max"), Path("/sys/fs/cgroup/memory/memory.limit_in_bytes")):
        try:
            text = p.read_text().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < 1 << 60:
            used = None
            for q in (p.with_name("memory.current"), p.with_name("memory.usage_in_bytes")):
                try:
                    used = int(q.read_text().strip())
                    break
                except (OSError, ValueError):
                    continue
            return max(int(text) - (used or 0), 0)
    return None


def available_bytes() -> int | None:
    """Memory this process can still use: ``MemAvailable`` of ``/proc/meminfo``, capped by a cgroup
    limit; ``os.sysconf`` where there is no ``/proc``; ``None`` when unknown."""
    avail = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                avail = int(line.split()[1]) * 1024
                break
    except (OSError, ValueError, IndexError):
        avail = None
    if avail is None:
        try:
            avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            avail = None
    cg = _cgroup_limit()
    if cg is not None:
        avail = cg if avail is None else min(avail, cg)
    return avail


_UNITS = {"": 1, "b": 1, "k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10, "m": 1 << 20, "mb": 1 << 20,
          "mib": 1 << 20, "g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30, "t": 1 << 40, "tb": 1 << 40, "tib": 1 << 40}


def parse_size(text: str, what: str = "max_memory") -> int:
    """Bytes from ``"512M"``, ``"8G"``, ``"1.5GiB"`` or a plain number of bytes (units are powers of 1024)."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:e[0-9]+)?)\s*([a-zA-Z]*)\s*", str(text))
    if m is None or m.group(2).lower() not in _UNITS:
        raise ConfigError(f"{what} must be a size such as 512M, 8G or 1.5GiB, got '{text}'")
    value = float(m.group(1)) * _UNITS[m.group(2).lower()]
    if not math.isfinite(value) or value < 1:
        raise ConfigError(f"{what} must be a positive size, got '{text}'")
    return int(value)


def format_size(n: float) -> str:
    """``1536`` -> ``'1.5 KiB'``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} EiB"  # pragma: no cover


def keep_weights(config: "SimConfig", limit: int | None = None) -> bool:
    """Whether the engine keeps every layer's weights (fast) or redraws them in the backward pass: keep
    them when the run then fits in ``limit`` bytes or, without a limit, the available memory."""
    room = limit if limit is not None else available_bytes()
    return room is None or estimate_bytes(config, keep_weights=True) <= room


def check_memory(config: "SimConfig", limit: int | None = None) -> int:
    """The estimate of ``config``; :class:`MemoryLimitError` (one line) when it exceeds ``limit`` bytes,
    or, without a limit, the available memory, even with the weights redrawn in the backward pass
    (:func:`keep_weights`). Returns the estimate of the way the engine will run."""
    need = estimate_bytes(config, keep_weights=keep_weights(config, limit))
    if limit is not None:
        if need > limit:
            raise MemoryLimitError(f"this run needs about {format_size(need)} of memory, more than the limit of "
                                   f"{format_size(limit)} (--max-memory); reduce width, batch, depth or the configs")
        return need
    avail = available_bytes()
    if avail is not None and need > avail:
        raise MemoryLimitError(f"this run needs about {format_size(need)} of memory but {format_size(avail)} is "
                               f"available; reduce width, batch, depth or the configs (or give a larger --max-memory, "
                               f"max_memory= in Python, if you know better)")
    return need
