"""The ``initlab`` command line (click).

Each command group lives in its own module and is registered here. Bad input (an unknown name,
a nonsensical number, an output path that cannot be written) is reported as one line ``Error: ...``
with exit code 2, before any work is done. A failure of the machine during the work (a full disk,
memory exhausted) is one line with exit code 1; Ctrl-C is one line with exit code 130. Outputs are
written as units (:mod:`initlab._io`), so none of these leaves a half-made file or run folder.
"""

from __future__ import annotations

import click

from .._spec import SpecError
from .._version import __version__

__all__ = ["main", "InputError", "RunError", "Interrupted", "InitlabGroup"]


class InputError(click.ClickException):
    """Bad input from the user: one line on stderr, exit code 2."""

    exit_code = 2


class RunError(click.ClickException):
    """The machine failed the work (a full disk, no memory): one line on stderr, exit code 1."""

    exit_code = 1


class Interrupted(click.ClickException):
    """Ctrl-C: one line on stderr, exit code 130 (128 + SIGINT), as shells report it."""

    exit_code = 130


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


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
        except MemoryError:
            raise RunError("out of memory (try a smaller --width/--batch/--depth, or fewer configs)") from None
        except OSError as exc:
            where = f" '{exc.filename}'" if getattr(exc, "filename", None) else ""
            raise RunError(f"{exc.strerror or _first_line(exc)}{where}; nothing was left half-written") from None


@click.group(cls=InitlabGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="initlab")
def main() -> None:
    """initlab: how weight initialization and activation functions shape deep networks.

    \b
    Examples:
      initlab simulate --init xavier --act relu --depth 10
      initlab list
    """


def _register() -> None:
    from . import bench, data, report, simulate, sweep, theory, train

    for mod in (simulate, report, theory, train, data, bench, sweep):
        for cmd in mod.COMMANDS:
            main.add_command(cmd)


_register()
