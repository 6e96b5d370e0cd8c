"""The ``initlab`` command line (click).

Each command group lives in its own module and is registered here. Bad input (an unknown name,
a nonsensical number) is reported as one line ``Error: ...`` with exit code 2.
"""

from __future__ import annotations

import click

from .._spec import SpecError
from .._version import __version__

__all__ = ["main", "InputError", "InitlabGroup"]


class InputError(click.ClickException):
    """Bad input from the user: one line on stderr, exit code 2."""

    exit_code = 2


class InitlabGroup(click.Group):
    """A click group that turns :class:`~initlab.SpecError` (bad specs, bad config values) into exit code 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except SpecError as exc:
            raise InputError(str(exc)) from None


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
