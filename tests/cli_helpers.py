"""Running the command line in process, and checking that a failure is one clean line."""

from click.testing import CliRunner

from initlab.cli import main

__all__ = ["run", "one_line_error"]


def run(*args, env=None):
    return CliRunner().invoke(main, [str(a) for a in args], env=env)


def one_line_error(r, code=2) -> str:
    """The run failed with ``code`` and said so in one line starting 'Error:' (no traceback)."""
    assert r.exit_code == code, (r.exit_code, r.output)
    assert "Traceback" not in r.output
    assert not isinstance(r.exception, Exception) or isinstance(r.exception, SystemExit), r.exception
    lines = [line for line in r.stderr.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1, r.stderr
    return lines[0]
