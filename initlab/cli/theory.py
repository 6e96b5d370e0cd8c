"""``initlab theory``, ``initlab theory phase`` and ``initlab recommend`` (issue 3)."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import click

from .._format import fmt_number
from . import InputError
from ._options import FiniteFloat

__all__ = ["COMMANDS", "theory_cmd", "phase_cmd", "recommend_cmd", "jsonable"]

_FORMATS = click.Choice(["table", "json"])
Q_MAX_TEXT = "1e10"  # initlab.theory.Q_MAX, spelled out so that --help needs no theory import


def jsonable(value: Any) -> Any:
    """A JSON-safe copy: NaN becomes ``null``, ±∞ the strings ``"inf"``/``"-inf"``, numpy scalars Python ones."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
    return value


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return fmt_number(v, inside=".6g", band=(0.0, math.inf), nan="-", inf=("inf", "-inf"))
    return "-" if v is None else str(v)


def _table(rows: list[tuple[str, Any]]) -> str:
    w = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{w}}  {_fmt(v)}" for k, v in rows)


def _sigma_w2_from_init(init: str, width: int, gain: float | None, act: str) -> tuple[float, str]:
    from ..activations import get_activation
    from ..initializers import get_initializer, with_gain

    obj = get_initializer(init)
    if gain is not None:
        obj = with_gain(obj, gain)
    if obj.data_dependent:
        raise InputError(f"{obj.spec} is data-dependent: its variance is set on the batch, so the theory cannot use it")
    shape = (width, width * get_activation(act).pieces)
    if obj.mean(shape) != 0:
        raise InputError(f"{obj.spec} has non-zero mean weights: outside the mean-field theory")
    return width * obj.variance(shape), obj.spec


@click.group("theory", invoke_without_command=True)
@click.option("--act", default=None, help="Activation spec (e.g. tanh, leaky_relu:0.2).")
@click.option("--sigma-w2", type=FiniteFloat(min=0), default=None,
              help="Weight variance times fan_in, σ_w² (or give --init).")
@click.option("--init", "init", default=None, help="Initializer spec: σ_w² = fan_in · its weight variance.")
@click.option("--width", type=click.IntRange(min=1), default=500, show_default=True,
              help="fan_in = fan_out used to read σ_w² from --init.")
@click.option("--gain", type=FiniteFloat(min=0), default=None, help="Gain applied to --init.")
@click.option("--sigma-b2", type=FiniteFloat(min=0), default=0.0, show_default=True, help="Bias variance σ_b².")
@click.option("--q0", type=FiniteFloat(min=0), default=1.0, show_default=True,
              help="The input's second moment (mean squared entry); the q-map starts at q1 = σ_w² q0 + σ_b², "
                   "as in the engine.")
@click.option("--dropout", type=FiniteFloat(min=0, max=1, max_open=True), default=0.0, show_default=True,
              help="Inverted dropout rate after every hidden layer (in the maps, as in simulate).")
@click.option("--all-fixed-points", "all_fp", is_flag=True,
              help="Also list every fixed point of the q-map (stable and unstable) and which one q0 reaches.")
@click.option("--format", "fmt", type=_FORMATS, default="table", show_default=True)
@click.pass_context
def theory_cmd(ctx: click.Context, act, sigma_w2, init, width, gain, sigma_b2, q0, dropout, all_fp, fmt) -> None:
    """Mean-field fixed point of a deep fully-connected stack: q*, χ₁, c*, ξ_q, ξ_c and the phase.

    \b
    Examples:
      initlab theory --act tanh --sigma-w2 1.5 --sigma-b2 0.05
      initlab theory --act relu --init he --format json
      initlab theory --act silu --sigma-w2 2 --sigma-b2 0.5 --all-fixed-points
      initlab theory phase --act tanh -o phase.png
    """
    if ctx.invoked_subcommand is not None:
        return
    from ..activations import get_activation
    from ..theory.meanfield import fixed_point, fixed_points

    if act is None:
        raise InputError("--act is required (e.g. initlab theory --act tanh --sigma-w2 1.5)")
    act_spec = get_activation(act).spec
    if (sigma_w2 is None) == (init is None):
        raise InputError("give exactly one of --sigma-w2 and --init")
    if gain is not None and init is None:
        raise InputError("--gain applies to --init")
    init_spec = None
    if init is not None:
        sigma_w2, init_spec = _sigma_w2_from_init(init, width, gain, act_spec)
    fp = fixed_point(act_spec, sigma_w2, sigma_b2, q0=q0, dropout=dropout)
    out = fp.to_dict()
    if init_spec is not None:
        out = {"init": init_spec, "width": width, **out}
    branches = fixed_points(act_spec, sigma_w2 / (1.0 - dropout), sigma_b2, q0=q0,
                            q1=fp.q1) if all_fp else []
    if all_fp:
        out["fixed_points"] = [b.to_dict() for b in branches]
    if fmt == "json":
        click.echo(json.dumps(jsonable(out), indent=2))
        return
    rows = [("activation", fp.act)]
    if init_spec is not None:
        rows.append(("init", f"{init_spec} (width {width})"))
    rows += [("sigma_w2", fp.sigma_w2), ("sigma_b2", fp.sigma_b2)]
    if fp.dropout:
        rows.append(("dropout", fp.dropout))
    rows += [("q0 (input)", fp.q0), ("q1 (layer 1)", fp.q1), ("q*", fp.q_star), ("chi1", fp.chi1),
             ("c*", fp.c_star), ("chi_c", fp.chi_c), ("xi_q", fp.xi_q), ("xi_c", fp.xi_c), ("phase", fp.phase)]
    if fp.basin:
        rows.append(("basin", fp.basin))
    if fp.reason:
        rows.append(("note", fp.reason))
    rows.append(("method", fp.method))
    click.echo(_table(rows))
    if all_fp:
        click.echo(
            f"\nfixed points of the q-map in [0, {Q_MAX_TEXT}] (V' = slope of the q-map; '<-' reached from q1 = {fp.q1:g}):"
        )
        head = ("q*", "V'(q*)", "chi1", "stability")
        body = [
            (_fmt(b.q_star), _fmt(b.q_slope), _fmt(b.chi1), b.stability + ("  <-" if b.reached else ""))
            for b in branches
        ]
        widths = (
            [max(len(h), *(len(r[i]) for r in body)) for i, h in enumerate(head)] if body else [len(h) for h in head]
        )
        click.echo("  ".join(h.ljust(w) for h, w in zip(head, widths)).rstrip())
        for r in body:
            click.echo("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())


@theory_cmd.command("phase")
@click.option("--act", required=True, help="Activation spec.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="Output file: .png or .pdf.")
@click.option(
    "--grid", type=click.IntRange(min=2, max=1000), default=100, show_default=True, help="Grid points per axis."
)
@click.option(
    "--sigma-w2-max",
    type=FiniteFloat(min=0, min_open=True),
    default=None,
    help="Largest σ_w² [default: 4, or twice the critical σ_w² at σ_b² = 0 if larger].",
)
@click.option(
    "--sigma-b2-max", type=FiniteFloat(min=0, min_open=True), default=0.5, show_default=True, help="Largest σ_b²."
)
@click.option(
    "--q0", type=FiniteFloat(min=0), default=1.0, show_default=True,
    help="The input's second moment; the q-map starts at q1 = σ_w² q0 + σ_b².",
)
@click.option("--dpi", type=click.IntRange(min=20, max=1200), default=150, show_default=True)
def phase_cmd(act, output, grid, sigma_w2_max, sigma_b2_max, q0, dpi) -> None:
    """Draw the phase diagram: ξ_c over (σ_w², σ_b²), the χ₁ = 1 line and where q* diverges.

    \b
    Example:
      initlab theory phase --act tanh -o phase.png
      initlab theory phase --act relu -o relu.pdf --grid 60
    """
    import numpy as np

    from ..activations import get_activation
    from ..theory.phase import default_sigma_w2_max, phase_grid
    from ..plots.phase import phase_diagram

    path = Path(output)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in ("png", "pdf"):
        raise InputError(f"output must end in .png or .pdf, got '{path.name}'")
    spec = get_activation(act).spec
    t0 = time.perf_counter()
    top = sigma_w2_max if sigma_w2_max is not None else default_sigma_w2_max(spec, q0=q0)
    sw = np.linspace(top / grid, top, grid)
    sb = np.linspace(0.0, sigma_b2_max, grid)
    g = phase_grid(spec, sw, sb, q0=q0)
    solved = time.perf_counter() - t0
    fig = phase_diagram(g)
    from ..plots.common import save_figure

    save_figure(fig, path, dpi=dpi, fmt=fmt)
    click.echo(
        f"wrote {path} ({grid}x{grid} grid for {spec}: solved in {solved:.2f} s, "
        f"{time.perf_counter() - t0:.2f} s with the figure)"
    )


@click.command("recommend")
@click.option("--act", default=None, help="Activation spec (or --all).")
@click.option("--all", "all_", is_flag=True, help="A table for every activation.")
@click.option(
    "--sigma-b2",
    type=FiniteFloat(min=0),
    default=0.0,
    show_default=True,
    help="Bias variance σ_b² for the critical point.",
)
@click.option("--format", "fmt", type=_FORMATS, default="table", show_default=True)
def recommend_cmd(act, all_, sigma_b2, fmt) -> None:
    """Weight variance for an activation: second-moment gain, critical σ_w², PyTorch's gain.

    The spec carries the second-moment gain, σ_w² = 1/E[φ(z)²] (what calculate_gain's values mean);
    the critical σ_w² (χ₁ = 1) and its spec are shown beside it, with the phase the gain leads to.

    \b
    Examples:
      initlab recommend --act gelu
      initlab recommend --act tanh --sigma-b2 0.05
      initlab recommend --all
    """
    from ..theory.recommend import recommend, recommend_all

    if all_ == (act is not None):
        raise InputError("give exactly one of --act and --all")
    if all_:
        df = recommend_all(sigma_b2)
        if fmt == "json":
            click.echo(json.dumps(jsonable(df.to_dict(orient="records")), indent=2))
            return
        head = ("act", "gain", "torch", "spec (second-moment gain)", "chi1@gain", "phase@gain", "critical σ_w²")
        rows = [
            (
                r.act,
                _fmt(r.gain),
                _fmt(r.torch_gain),
                r.spec,
                _fmt(r.chi1_at_gain),
                r.phase_at_gain,
                _fmt(r.critical_sigma_w2) if not r.note else "none",
            )
            for r in df.itertuples()
        ]
        widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(head)]
        click.echo("  ".join(h.ljust(w) for h, w in zip(head, widths)).rstrip())
        for row in rows:
            click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
        click.echo(f"(sigma_b2 = {sigma_b2:g}; 'none': chi1 never crosses 1 continuously, see --act NAME)")
        return
    rec = recommend(act, sigma_b2)
    if fmt == "json":
        click.echo(json.dumps(jsonable(rec.to_dict()), indent=2))
        return
    crit = (
        f"{_fmt(rec.critical_sigma_w2)} (q* = {_fmt(rec.critical_q_star)}): {rec.critical_spec}"
        if not rec.note
        else f"none ({rec.note})"
    )
    rows = [
        ("activation", rec.act),
        ("sigma_b2", rec.sigma_b2),
        ("gain", f"{_fmt(rec.gain)}  (1/sqrt(E[phi(z)^2]): keeps a unit second moment)"),
        ("spec", rec.spec),
        ("pytorch_gain", _fmt(rec.torch_gain) if rec.torch_gain is not None else "- (calculate_gain has no value)"),
        ("at_gain", f"chi1 = {_fmt(rec.chi1_at_gain)}, {rec.phase_at_gain}"),
        ("critical_sigma_w2", crit),
    ]
    click.echo(_table(rows))


COMMANDS = [theory_cmd, recommend_cmd]
