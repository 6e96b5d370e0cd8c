"""``initlab simulate``, ``initlab list``, ``initlab report`` (being built: issue 2)."""

from __future__ import annotations

import click

from ..activations import ACTIVATIONS
from ..initializers import INITIALIZERS

__all__ = ["COMMANDS"]


@click.command("list")
def list_cmd() -> None:
    """List every initializer and activation with a one-line description.

    \b
    Example:
      initlab list
    """
    for title, reg in (("Initializers", INITIALIZERS), ("Activations", ACTIVATIONS)):
        click.echo(f"{title}:")
        for name, desc, aliases in reg.describe():
            extra = f" (also: {', '.join(aliases)})" if aliases else ""
            click.echo(f"  {name:<18} {desc}{extra}")
        click.echo()


COMMANDS = [list_cmd]
