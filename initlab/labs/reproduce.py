"""Run every lab at the notes' settings over several seeds and set our numbers beside the notes'.

This is a benchmark, not a test: the full labs take minutes to hours on a laptop CPU.
:func:`reproduce` returns one row per (lab, condition, metric); :func:`format_table` renders it as
Markdown (the README's table); :func:`write_outputs` saves CSV and Markdown atomically.
"""

from __future__ import annotations

import platform
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from .._format import fmt_number
from .._io import atomic_write, atomic_write_text
from .data import load_lab_data
from .config import LabConfig
from .registry import get_lab, lab_names
from .result import RunResult, setting_differences
from .runs import run_lab
from .training import check_settings, output_dead_at_init

__all__ = ["reproduce", "conditions", "format_table", "write_outputs", "COLUMNS"]

COLUMNS = ["lab", "condition", "metric", "notes", "ours", "spread", "min", "max", "runs", "seconds", "comparable",
           "source"]


def conditions(cfg: LabConfig) -> list[tuple[str, LabConfig]]:
    """The settings under which the notes quote numbers: ``[("", cfg)]``, or one per distinct condition
    (``mnist-mlp``: ``init=xavier`` and ``init=he``)."""
    whens = list(dict.fromkeys(n.when for n in cfg.notes if n.when))
    if not whens:
        return [("", cfg)]
    out = []
    for w in whens:
        key, _, value = w.partition("=")
        out.append((w, cfg.replace(**{key.strip(): value.strip()})))
    return out


def _headline(cfg: LabConfig, result: RunResult) -> list[str]:
    noted = [n.metric for n in cfg.applicable_notes() if n.metric in result.metrics]
    return noted or list(result.extras.get("headline", list(result.metrics)[:6]))


def _live_runs(cfg: LabConfig, data, seeds: int, data_path, progress: bool, log, cond: str,
               max_tries: int = 10) -> tuple[list[RunResult], int]:
    """``seeds`` runs of ``cfg`` (seeds ``cfg.seed, cfg.seed + 1, ...``). A seed whose network outputs 0 for
    every input at init (a dead ReLU output: it can never learn) is counted, logged and replaced by the next
    one, at most ``max_tries × seeds`` seeds in all; the count is reported beside the numbers."""
    results: list[RunResult] = []
    dead = 0
    seed = cfg.seed
    while len(results) < seeds and seed < cfg.seed + max_tries * seeds:
        c = cfg.replace(seed=seed, redraw_dead=0)  # replaced here, so that every kept seed is distinct
        seed += 1
        if data is not None and output_dead_at_init(c, data):
            dead += 1
            if log is not None:
                log(f"{cfg.name} seed {c.seed}: output dead at init (0 for every input), seed replaced")
            continue
        res = run_lab(c, data=data, data_path=data_path, progress=progress)
        results.append(res)
        if log is not None:
            head = _headline(cfg, res)
            shown = ", ".join(f"{k} {res.metrics[k]:.4f}" for k in head[:4] if k in res.metrics)
            log(f"{cfg.name}{' [' + cond + ']' if cond else ''} seed {res.seed}: {shown} ({res.seconds:.1f} s)")
    return results, dead


def reproduce(labs: list[str] | None = None, seeds: int = 3, *, data_path: str | None = None,
              progress: bool = False, log: Callable[[str], Any] | None = None,
              sets: list[str] | tuple[str, ...] = ()) -> pd.DataFrame:
    """Run ``labs`` (default: all) with seeds ``0 .. seeds-1`` and tabulate notes vs ours.

    ``sets`` are ``key=value`` overrides applied to every lab (e.g. ``("epochs=1",)`` for a quick look).

    Returns
    -------
    DataFrame
        Columns :data:`COLUMNS`: ``ours`` is the mean over seeds, ``spread`` the sample std (0 for one seed),
        ``notes`` NaN where the notes give no number, ``seconds`` the mean wall time of one run. Seeds whose
        network is dead at init (boston's ReLU output) are replaced and counted in ``condition``.
    """
    names = labs or lab_names()
    cfgs = [get_lab(n).with_overrides(list(sets)) for n in names]  # validate every name and override first
    for cfg in cfgs:
        check_settings(cfg)
    rows = []
    for cfg0 in cfgs:
        for cond, cfg in conditions(cfg0):
            data = load_lab_data(cfg, data_path) if cfg.kind == "train" else None
            results, dead = _live_runs(cfg, data, int(seeds), data_path, progress, log, cond)
            notes = {n.metric: n.value for n in cfg.applicable_notes()}
            secs = float(np.mean([r.seconds for r in results])) if results else 0.0
            source = results[0].source if results else (data.source if data is not None else "")
            live = f"live init, {dead} of {dead + len(results)} seeds dead" if dead else ""
            differ = "; ".join(setting_differences(cfg, next(iter(cfg.applicable_notes()), None)))
            if differ:
                live = "; ".join(c for c in (live, f"settings differ: {differ}") if c)
            for metric in (_headline(cfg, results[0]) if results else list(notes)):
                vals = np.array([r.metrics.get(metric, np.nan) for r in results], dtype=np.float64)
                rows.append({
                    "lab": cfg.name, "condition": "; ".join(c for c in (cond, live) if c), "metric": metric,
                    "notes": notes.get(metric, np.nan),
                    "ours": float(np.mean(vals)) if vals.size else np.nan,
                    "spread": float(np.std(vals, ddof=1)) if vals.size > 1 else 0.0,
                    "min": float(np.min(vals)) if vals.size else np.nan,
                    "max": float(np.max(vals)) if vals.size else np.nan, "runs": int(vals.size),
                    "seconds": secs, "comparable": not differ, "source": source,
                })
    return pd.DataFrame(rows, columns=COLUMNS)


def _num(v: float, digits: int = 4) -> str:
    return fmt_number(v, inside=f".{digits}f", outside=f".{digits}g", band=(0.0, 10.0), inf=("inf", "-inf"))


def format_table(df: pd.DataFrame) -> str:
    """Markdown: lab, condition, metric, the notes' number, ours as mean ± std (min–max), runs, seconds per run.
    Where the settings differ from the notes' the notes' number is shown as not comparable."""
    lines = ["| lab | metric | notes | ours (mean ± std) | min – max | seeds | s/run |",
             "|---|---|---|---|---|---|---|"]
    for r in df.itertuples():
        lab = r.lab + (f" ({r.condition})" if r.condition else "")
        notes = _num(r.notes) if getattr(r, "comparable", True) or np.isnan(r.notes) else \
            f"({_num(r.notes)}: settings differ)"
        lines.append(f"| {lab} | {r.metric} | {notes} | {_num(r.ours)} ± {_num(r.spread)} | "
                     f"{_num(r.min)} – {_num(r.max)} | {r.runs} | {r.seconds:.1f} |")
    return "\n".join(lines)


def write_outputs(df: pd.DataFrame, out: str | Path) -> tuple[Path, Path]:
    """Write ``<out>.csv`` and ``<out>.md`` (the Markdown table with the machine and the data used)."""
    out = Path(out)
    csv_path, md_path = out.with_suffix(".csv"), out.with_suffix(".md")
    with atomic_write(csv_path, "w") as fh:
        df.to_csv(fh, index=False)
    sources = "\n".join(f"- {lab}: {src}" for lab, src in dict(zip(df["lab"], df["source"])).items() if src)
    text = (f"# initlab labs reproduce\n\n{time.strftime('%Y-%m-%d %H:%M')}, {platform.machine()} "
            f"{platform.processor() or ''} (numpy trainer, float32)\n\n{format_table(df)}\n\nData:\n{sources}\n")
    atomic_write_text(md_path, text)
    return csv_path, md_path
