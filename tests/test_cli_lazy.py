"""``initlab --help`` lists every command from a table without importing the command modules."""

import subprocess
import sys

import click
import pytest

from initlab.cli import COMMAND_MODULES, main


@pytest.mark.parametrize("name", sorted(COMMAND_MODULES))
def test_table_entry_is_the_commands_own_help(name):
    ctx = click.Context(main)
    cmd = main.get_command(ctx, name)
    module, text = COMMAND_MODULES[name]
    assert cmd is not None and cmd.callback.__module__ == f"initlab.cli.{module}"
    assert click.Command(name, help=text).get_short_help_str(300) == cmd.get_short_help_str(300)


def test_every_registered_command_is_in_the_table():
    import importlib

    names = set()
    for module in {m for m, _ in COMMAND_MODULES.values()}:
        names |= {c.name for c in importlib.import_module(f"initlab.cli.{module}").COMMANDS}
    assert names == set(COMMAND_MODULES)


def test_help_imports_no_command_module_and_no_numpy():
    code = ("import sys\nfrom click.testing import CliRunner\nfrom initlab.cli import main\n"
            "r = CliRunner().invoke(main, ['--help'])\nassert r.exit_code == 0, r.output\n"
            "print(sorted(m for m in sys.modules if m.startswith('initlab.cli.') or m.split('.')[0] == 'numpy'))\n"
            "print(r.output)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded, _, text = out.partition("\n")
    assert loaded == "[]"
    for name in COMMAND_MODULES:
        assert f"  {name} " in text
