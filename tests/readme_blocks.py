"""The README's code blocks as tests: parse them (markdown-it-py), run them, compare what they print.

A fenced block's info string is its language and then tags::

    ```console slow rtol=0.05
    $ initlab simulate ...
    expected output
    ```

* ``console``: lines ``$ cmd`` (``\\`` continues a line) are commands, the lines after one are what it prints;
* ``bash``: every non-comment line is a command that must exit 0;
* an ``initlab`` command runs in process (click's runner) in a fresh folder; a few shell commands that set up
  a user's files (``echo``, ``mkdir``, ``touch``) run in ``bash`` there;
* ``python``: the block is executed; ``continues`` runs it in the namespace of the python block before it; a
  ``text`` block right after it is what it prints.

Tags: ``slow`` (too long for the suite: run by ``INITLAB_README_SLOW=1 python -m pytest -n 0
tests/test_readme.py``), ``no-run`` (the set-up commands and a cluster's commands, which run on other
machines), ``data`` (needs ``$INITLAB_DATA``), ``rtol=X`` (the relative tolerance of printed numbers).

How printed output is matched, line by line, after folding runs of spaces:

* a line ``...`` stands for any number of lines, and ``...`` inside a line for any text;
* a number matches a number within ``rtol`` (default 0) or one unit of its last printed digit, whichever is
  larger (another CPU can round the last digit the other way);
* a duration (``0.19 s``, ``45.9 s``, ``7.1s``) matches any duration: timings are never compared.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from markdown_it import MarkdownIt

__all__ = ["Block", "Command", "readme_blocks", "commands_of", "output_matches"]

README = Path(__file__).resolve().parents[1] / "README.md"


@dataclass(frozen=True)
class Block:
    """One fenced code block of the README."""

    line: int  # 1-based line of the opening fence
    lang: str
    tags: frozenset[str]
    rtol: float
    source: str

    @property
    def id(self) -> str:
        return f"L{self.line}-{self.lang}" + ("-slow" if "slow" in self.tags else "")


@dataclass
class Command:
    """One command of a console or bash block: its words, environment assignments and expected lines."""

    text: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    expected: list[str] = field(default_factory=list)


def readme_blocks(path: Path = README) -> list[Block]:
    """Every fenced block with a language, in order."""
    blocks = []
    for tok in MarkdownIt("commonmark").parse(path.read_text(encoding="utf-8")):
        if tok.type != "fence" or not tok.info.strip():
            continue
        words = tok.info.split()
        rtol = 0.0
        tags = set()
        for w in words[1:]:
            if w.startswith("rtol="):
                rtol = float(w.split("=", 1)[1])
            else:
                tags.add(w)
        blocks.append(Block(tok.map[0] + 1, words[0], frozenset(tags), rtol, tok.content))
    return blocks


def _split(line: str) -> Command:
    words = shlex.split(line, comments=True)
    env = {}
    while words and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", words[0]):
        key, value = words.pop(0).split("=", 1)
        env[key] = value
    return Command(line.strip(), words, env)


def commands_of(block: Block) -> list[Command]:
    """The commands of a console or bash block, each with the lines it is shown to print."""
    lines = block.source.splitlines()
    out: list[Command] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if block.lang == "console" and not line.startswith("$ "):
            if out:
                out[-1].expected.append(line)
            elif line.strip():
                raise ValueError(f"README line {block.line + 1 + i}: output before any command")
            i += 1
            continue
        text = line[2:] if block.lang == "console" else line
        while text.rstrip().endswith("\\") and i + 1 < len(lines):
            i += 1
            text = text.rstrip()[:-1] + " " + lines[i].strip()
        i += 1
        if text.strip() and not text.lstrip().startswith("#"):
            out.append(_split(text))
    return out


_NUMBER = re.compile(r"[-+−]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?%?")
_DURATION = re.compile(r"\d+(?:\.\d+)? ?s\b")


def _tokens(line: str) -> list[str]:
    line = _DURATION.sub("<duration>", " ".join(line.split()))
    parts, pos = [], 0
    for m in _NUMBER.finditer(line):
        parts.append(line[pos:m.start()])
        parts.append(m.group())
        pos = m.end()
    parts.append(line[pos:])
    return parts


def _number(text: str) -> tuple[float, float]:
    """The value of a printed number and one unit of its last digit."""
    text = text.replace("−", "-").rstrip("%")
    mantissa = re.split(r"[eE]", text)[0]
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    exponent = int(re.split(r"[eE]", text)[1]) if re.search(r"[eE]", text) else 0
    return float(text), 10.0 ** (exponent - decimals)


def _line_matches(want: str, got: str, rtol: float) -> bool:
    if "..." in want:  # text elided: the rest must match as written (durations still match any duration)
        fold = lambda t: _DURATION.sub("<duration>", " ".join(t.split()))  # noqa: E731
        pattern = ".*".join(re.escape(fold(p)) for p in want.split("..."))
        return re.fullmatch(pattern, fold(got)) is not None
    w, g = _tokens(want), _tokens(got)
    if len(w) != len(g):
        return False
    for k, (a, b) in enumerate(zip(w, g)):
        if k % 2 == 0:
            if a != b:
                return False
            continue
        (x, unit), (y, _) = _number(a), _number(b)
        if a.endswith("%") != b.endswith("%") or abs(x - y) > max(rtol * abs(x), 1.0001 * unit):
            return False
    return True


def output_matches(expected: list[str], actual: list[str], rtol: float = 0.0) -> bool:
    """Whether ``actual`` lines are what ``expected`` shows (see the module docstring)."""
    expected = [e.rstrip() for e in expected]
    while expected and not expected[-1]:
        expected.pop()
    actual = [a.rstrip() for a in actual]
    while actual and not actual[-1]:
        actual.pop()

    def match(i: int, j: int) -> bool:
        if i == len(expected):
            return j == len(actual)
        if expected[i].strip() == "...":
            return any(match(i + 1, k) for k in range(j, len(actual) + 1))
        return j < len(actual) and _line_matches(expected[i], actual[j], rtol) and match(i + 1, j + 1)

    return match(0, 0)
