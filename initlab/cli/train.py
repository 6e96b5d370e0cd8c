"""`initlab labs`, `initlab train`, `initlab compare`: the course labs from the command line (issue 5)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from .._format import DASH, fmt_number, with_dash_note
from .._spec import split_specs
from . import InputError
from ._outputs import COMPARE_RUN_FILES, TRAIN_RUN_FILES, check_out_dir, check_pdf

__all__ = ["COMMANDS", "labs_group", "train_cmd", "compare_cmd"]

DEFAULT_RUNS = Path("reports") / "runs"
_MAX_ROWS = 60  # longer tables are only saved


def _fmt_table(df) -> str:
    """A DataFrame as aligned text (floats to 4 significant digits)."""
    if df is None or df.empty:
        return "(nothing)"
    return with_dash_note(df.to_string(index=False, na_rep=DASH, float_format=lambda v: fmt_number(
        v, outside=".4g", band=(0.0, 1000.0), nan=DASH, inf=("inf", "-inf"))))


def _apply_options(cfg, *, init=None, epochs=None, batch_size=None, optimizer=None, lr=None, seed=None, subset=None,
                   sets=()):
    """The lab's notes' settings with the command-line overrides applied, every name checked (optimizer,
    loss, activations, initializers, metrics) before any data is loaded."""
    from ..labs.training import check_settings

    changes = {}
    for key, value in (("init", init), ("epochs", epochs), ("batch_size", batch_size), ("optimizer", optimizer),
                       ("lr", lr), ("seed", seed), ("subset", subset)):
        if value is not None:
            changes[key] = value
    cfg = cfg.replace(**changes) if changes else cfg
    cfg = cfg.with_overrides(list(sets))
    check_settings(cfg)
    return cfg


class _LabsHelp(click.Command):
    """A command whose help ends with the list of labs (read only when the help is shown)."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from ..labs.registry import LABS

        with formatter.section("Labs (initlab labs shows their settings)"):
            formatter.write_dl([(name, cfg.title) for name, cfg in LABS.items()])
        super().format_epilog(ctx, formatter)


def _common_options(f):
    for opt in reversed([
        click.option("--epochs", type=int, help="Epochs (default: the notes')."),
        click.option("--batch-size", type=int, help="Batch size (default: the notes')."),
        click.option("--optimizer", help="Optimizer name (sgd, adam, rmsprop, ...)."),
        click.option("--lr", type=float, help="Learning rate (default: the notes', else the optimizer's)."),
        click.option("--subset", type=int, help="Train on the first N training rows, test on the first N test rows."),
        click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
                     help="Override any lab setting, e.g. --set bias_init=zeros --set hidden=128,64."),
        click.option("--data", "data_path", type=click.Path(),
                     help="Dataset folder (else $INITLAB_DATA, cache, download)."),
        click.option("--quiet", is_flag=True, help="No progress bar."),
    ]):
        f = opt(f)
    return f


# ------------------------------------------------------------------------------------------------
@click.group("labs", invoke_without_command=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_context
def labs_group(ctx: click.Context, fmt: str) -> None:
    """List the course labs with their settings (the notes' defaults).

    \b
    Examples:
      initlab labs
      initlab labs show mnist-mlp
      initlab labs reproduce --seeds 3 --labs pima-logreg,iris-mlp
    """
    if ctx.invoked_subcommand is not None:
        return
    from ..labs import LABS, describe_lab

    if fmt == "json":
        click.echo(json.dumps({n: c.to_dict() for n, c in LABS.items()}, indent=2))
        return
    width = max(len(n) for n in LABS)
    for name, cfg in LABS.items():
        notes = ", ".join(f"{n.metric}{' (' + n.when + ')' if n.when else ''} {n.value:.4g}" for n in cfg.notes)
        click.echo(f"{name:<{width}}  {cfg.title}")
        click.echo(f"{'':<{width}}  settings: {describe_lab(cfg)}")
        click.echo(f"{'':<{width}}  notes:    {notes or '(figure/table)'}")


@labs_group.command("show")
@click.argument("lab")
def labs_show(lab: str) -> None:
    """Print every setting of LAB as JSON (any of them can be changed with --set KEY=VALUE).

    \b
    Example:
      initlab labs show iris-mlp
    """
    from ..labs import get_lab

    click.echo(get_lab(lab).to_json())


@labs_group.command("reproduce")
@click.option("--seeds", type=click.IntRange(1), default=3, show_default=True, help="Seeds per lab (0 .. N-1).")
@click.option("--labs", "labs", default="", help="Comma-separated labs (default: all).")
@click.option("--out", type=click.Path(), default="reports/reproduce", show_default=True,
              help="Writes OUT.csv and OUT.md.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override a setting in every lab.")
@click.option("--data", "data_path", type=click.Path(), help="Dataset folder.")
@click.option("--progress", is_flag=True, help="Show the per-epoch progress bars.")
def labs_reproduce(seeds: int, labs: str, out: str, sets: tuple[str, ...], data_path: str | None,
                   progress: bool) -> None:
    """Run every lab at the notes' settings over SEEDS seeds; print the notes' number beside ours.

    A benchmark, not a test: the full set takes a long time on a CPU.

    \b
    Example:
      initlab labs reproduce --seeds 3 --labs pima-logreg,mnist-softmax
    """
    from ..labs import get_lab
    from ..labs.reproduce import format_table, reproduce, write_outputs

    names = [n.strip() for n in labs.split(",") if n.strip()] or None
    for n in names or []:
        get_lab(n)
    df = reproduce(names, seeds, data_path=data_path, progress=progress, log=lambda s: click.echo(s, err=True),
                   sets=sets)
    click.echo(format_table(df))
    csv_path, md_path = write_outputs(df, out)
    click.echo(f"wrote {csv_path} and {md_path}")


# ------------------------------------------------------------------------------------------------
@click.command("train", cls=_LabsHelp)
@click.argument("lab")
@click.option("--init", help="Kernel initializer spec (xavier, he, normal:0.01, ...).")
@click.option("--seed", type=click.IntRange(min=0), help="Seed of weights, shuffling and dropout (>= 0).")
@_common_options
@click.option("--out", type=click.Path(), help="Run directory [default: reports/runs/LAB-seedN, N the seed that "
                                                "trained].")
@click.option("--report", type=click.Path(), help="Also write a PDF report (curves, predictions, mistakes).")
@click.option("--force", is_flag=True, help="Replace an existing --out folder or --report file initlab did not write.")
def train_cmd(lab: str, init, seed, epochs, batch_size, optimizer, lr, subset, sets, data_path, quiet, out,
              report, force) -> None:
    """Train LAB at the notes' settings (any of them overridden) and print ours beside the notes' number.

    Saves a run directory (history.csv, metrics.json, config.json, predictions.csv, layers.csv with the
    per-layer statistics recorded while training, tables/*.csv, figures/*.png). A network whose ReLU output is
    dead at init is said and redrawn with the next seed where the lab asks for it (boston).

    \b
    Examples:
      initlab train mnist-softmax
      initlab train mnist-mlp --init he --epochs 5 --report mnist-mlp.pdf
      initlab train iris-mlp --set test_split=0.2 --seed 3

    Training stops at the first step whose loss is inf or NaN, with a one-line message naming the
    epoch and step and exit code 1 (nothing is saved).
    """
    from ..report.labs import run_figures, write_run_report
    from ..labs import get_lab
    from ..labs.runs import run_lab, save_run
    from ..nn.callbacks import TerminateOnNaN, TrainingDiverged

    cfg = _apply_options(get_lab(lab), init=init, epochs=epochs, batch_size=batch_size, optimizer=optimizer, lr=lr,
                         seed=seed, subset=subset, sets=sets)
    from ..labs.registry import describe_lab

    run_path = Path(out) if out else DEFAULT_RUNS / f"{cfg.name}-seed{cfg.seed}"
    check_out_dir(run_path, force, TRAIN_RUN_FILES)
    if report:
        check_pdf(Path(report), force, run_dir=run_path, run_files=TRAIN_RUN_FILES)
    click.echo(f"{cfg.name}: {describe_lab(cfg)} (seed {cfg.seed})")
    try:
        result = run_lab(cfg, data_path=data_path, progress=not quiet, callbacks=[TerminateOnNaN()],
                         watch=cfg.kind == "train", log=click.echo)
    except TrainingDiverged as exc:
        from . import RunError

        raise RunError(str(exc)) from None
    if result.source:
        click.echo(f"data: {result.source}")
    if result.seed != cfg.seed:
        click.echo(f"trained seed {result.seed}: the first live draw of {len(result.tables['init_draws'])}")
        if not out:  # the default run directory names the seed that trained
            run_path = DEFAULT_RUNS / f"{cfg.name}-seed{result.seed}"
            check_out_dir(run_path, force, TRAIN_RUN_FILES)
    for name, table in result.tables.items():
        if name == "init_draws":
            continue
        if len(table) > _MAX_ROWS:
            click.echo(f"\n{name.replace('_', ' ')}: {len(table)} rows (tables/{name}.csv in the run directory)")
        else:
            click.echo(f"\n{name.replace('_', ' ')}:\n{_fmt_table(table)}")
    if result.metrics and cfg.kind == "train":
        click.echo("\nfinal: " + ", ".join(f"{k} {v:.4f}" for k, v in result.metrics.items()))
    notes = result.notes_table()
    if not notes.empty:
        click.echo("\nthe notes' numbers and ours:\n" + _fmt_table(notes[["metric", "notes", "ours", "difference"]]))
        if not notes["comparable"].all():
            click.echo("not comparable — the settings differ from the notes': "
                       + notes.loc[~notes["comparable"], "settings"].iloc[0])
    if result.metrics.get("output_dead_at_init") == 1.0:
        click.echo(f"\nthe {cfg.out_act} output stayed dead: it is 0 for every input, so the model predicts 0")
    figures = run_figures(result)
    run_dir = save_run(result, run_path, figures=figures)
    click.echo(f"\nsaved run to {run_dir} ({result.seconds:.1f} s)")
    if report:
        click.echo(f"wrote {write_run_report(result, report, figures)}")


# ------------------------------------------------------------------------------------------------
@click.command("compare", cls=_LabsHelp)
@click.argument("lab")
@click.option("--init", "inits", default="xavier,he,normal:0.01,normal:1", show_default=True,
              help="Comma-separated initializer specs (as simulate's --init).")
@click.option("--inits", "old_inits", default=None, hidden=True, help="Old spelling of --init.")
@click.option("--seeds", type=click.IntRange(1), default=3, show_default=True, help="Seeds per initializer.")
@_common_options
@click.option("--out", type=click.Path(), help="Also save history.csv, final.csv and init_layers.csv here.")
@click.option("--report", type=click.Path(), help="Write a PDF: curves per initializer, table, init statistics.")
@click.option("--force", is_flag=True, help="Replace an existing --out folder or --report file initlab did not write.")
def compare_cmd(lab: str, inits: str, old_inits: str | None, seeds: int, epochs, batch_size, optimizer, lr, subset,
                sets, data_path, quiet, out, report, force) -> None:
    """Train LAB under each initializer and seed; mean ± spread curves, final metrics, and the per-layer
    std and gradient-norm ratio at init from the simulation engine.

    \b
    Examples:
      initlab compare mnist-mlp --init xavier,he,normal:0.01,normal:1 --seeds 3 --report cmp.pdf
      initlab compare iris-mlp --init xavier,he --seeds 2 --epochs 50
    """
    from ..labs import get_lab
    from ..labs.compare import compare_inits
    from ..report.labs import write_compare_report

    if old_inits is not None:  # the old spelling still works, alone
        if inits != "xavier,he,normal:0.01,normal:1" and inits != old_inits:
            raise InputError("give --init only (--inits is its old spelling)")
        inits = old_inits
    specs = split_specs(inits)
    cfg = _apply_options(get_lab(lab), epochs=epochs, batch_size=batch_size, optimizer=optimizer, lr=lr,
                         subset=subset, sets=sets)
    if cfg.kind != "train":
        from .._spec import ConfigError

        raise ConfigError(f"lab '{cfg.name}' is a study with no model to compare initializers on")
    if out:
        check_out_dir(Path(out), force, COMPARE_RUN_FILES)
    if report:
        check_pdf(Path(report), force, run_dir=Path(out) if out else None, run_files=COMPARE_RUN_FILES)
    comp = compare_inits(cfg, specs, seeds, data_path=data_path, progress=not quiet,
                         log=lambda s: click.echo(s, err=True))
    if comp.source:
        click.echo(f"data: {comp.source}")
    click.echo("\nfinal metrics (mean ± std over seeds) and statistics at init:\n" + _fmt_table(comp.table()))
    notes = comp.notes_table()
    if not notes.empty:
        click.echo("\nthe notes' numbers and ours:\n" + _fmt_table(notes[["init", "metric", "notes", "ours", "spread",
                                                                         "settings"]]))
    if out:
        click.echo(f"saved tables to {comp.save(out)}")
    if report:
        click.echo(f"wrote {write_compare_report(comp, report)}")
    click.echo(f"({comp.seconds:.1f} s)")


COMMANDS: list = [labs_group, train_cmd, compare_cmd]
