"""The ``initlab`` command line (click).

Each command group lives in its own module and is registered here. Bad input (an unknown name,
a nonsensical number, an output path that cannot be written) is reported as one line ``Error: ...``
with exit code 2, before any work is done. A failure of the machine during the work (a full disk,
memory exhausted) is one line with exit code 1; Ctrl-C is one line with exit code 130; a closed pipe
(``initlab list | head``) ends the command quietly with exit code 141, as Unix tools do. Outputs are
written as units (:mod:`initlab._io`), so none of these leaves a half-made file or run folder.
"""

from __future__ import annotations

import importlib

import click

from .._spec import SpecError
from .._version import __version__

__all__ = ["main", "InputError", "RunError", "Interrupted", "PipeClosed", "InitlabGroup"]


class InputError(click.ClickException):
    """Bad input from the user: one line on stderr, exit code 2."""

    exit_code = 2


class RunError(click.ClickException):
    """The machine failed the work (a full disk, no memory): one line on stderr, exit code 1."""

    exit_code = 1


class PipeClosed(click.exceptions.Exit):
    """The reader of standard output went away (``initlab list | head``): exit quietly with code 141
    (128 + SIGPIPE, what a shell reports for a Unix tool killed by the closed pipe), no message."""

    def __init__(self) -> None:
        import os
        import sys

        try:  # nothing more can reach the reader; keep the interpreter's last flush from failing too
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):  # pragma: no cover - stdout without a file descriptor
            pass
        super().__init__(141)


class Interrupted(click.ClickException):
    """Ctrl-C: one line on stderr, exit code 130 (128 + SIGINT), as shells report it."""

    exit_code = 130


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


#: Command name -> (the module of ``initlab.cli`` that defines it, the first sentence of its help). ``initlab
#: --help`` lists the commands from this table without importing their modules, so numpy and the rest load
#: only for the command that runs; ``tests/test_cli_lazy.py`` checks every entry against its command.
COMMAND_MODULES: dict[str, tuple[str, str]] = {
    "bench": ("bench", "Time the engine (forward + backward, every statistic, histograms; float32) against its floor."),
    "compare": ("train", "Train LAB under each initializer and seed; mean ± spread curves, final metrics, and the "
                         "per-layer std and gradient-norm ratio at init from the simulation engine."),
    "data": ("data", "The datasets of the labs: where they are looked for, which are present, fetching them."),
    "labs": ("train", "List the course labs with their settings (the notes' defaults)."),
    "list": ("simulate", "List every initializer and activation with a one-line description."),
    "recommend": ("theory", "Weight variance for an activation: second-moment gain, critical σ_w², PyTorch's gain."),
    "report": ("report", "Rebuild a multi-page PDF report from one or more saved runs."),
    "simulate": ("simulate", "Simulate how activations and gradients propagate through a random deep network at "
                             "initialization."),
    "spectrum": ("spectrum", "Singular values of the input–output Jacobian J = D_L W_L ⋯ D_1 W_1 at init, measured "
                             "exactly (an SVD of the product, float64) and predicted by free probability (the "
                             "S-transform of Pennington, Schoenholz & Ganguli 2017), with the mean, variance and "
                             "largest singular value against depth."),
    "study": ("study", "Studies that join simulation, theory and training: trainability against the depth scales."),
    "sweep": ("sweep", "Sweep whole regions of the parameter space (see `initlab sweep run --help`)."),
    "theory": ("theory", "Mean-field fixed point of a deep fully-connected stack: q*, χ₁, c*, ξ_q, ξ_c and the phase."),
    "train": ("train", "Train LAB at the notes' settings (any of them overridden) and print ours beside the notes' "
                       "number."),
}


class InitlabGroup(click.Group):
    """A click group that turns :class:`~initlab.SpecError` and :class:`~initlab._io.OutputError` (bad
    input) into exit code 2, ``OSError`` and ``MemoryError`` into one line with exit code 1, and Ctrl-C
    into one line with exit code 130."""

    def invoke(self, ctx: click.Context):
        from .._io import OutputError

        try:
            return super().invoke(ctx)
        except (SpecError, OutputError) as exc:
            raise InputError(_first_line(exc)) from None
        except KeyboardInterrupt:
            raise Interrupted("interrupted; nothing was left half-written") from None
        except BrokenPipeError:
            raise PipeClosed() from None
        except MemoryError:
            raise RunError("out of memory (try a smaller --width/--batch/--depth, or fewer configs)") from None
        except OSError as exc:
            where = f" '{exc.filename}'" if getattr(exc, "filename", None) else ""
            raise RunError(f"{exc.strerror or _first_line(exc)}{where}; nothing was left half-written") from None

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self.commands) | set(COMMAND_MODULES))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.commands and name in COMMAND_MODULES:
            module = importlib.import_module(f".{COMMAND_MODULES[name][0]}", __name__)
            for cmd in module.COMMANDS:
                self.add_command(cmd)
        return self.commands.get(name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(n) for n in names)
        rows = []
        for name in names:
            cmd = self.commands.get(name) or click.Command(name, help=COMMAND_MODULES[name][1])
            if not cmd.hidden:
                rows.append((name, cmd.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=InitlabGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="initlab")
def main() -> None:
    """initlab: how weight initialization and activation functions shape deep networks.

    \b
    Examples:
      initlab simulate --init xavier --act relu --depth 10
      initlab list
    """
