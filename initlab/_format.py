"""The one number formatter of tables, figure labels and summaries.

Every place that shows a number (the simulate summary, the report's tables, histogram labels, the theory
and train commands, the reproduction table) calls :func:`fmt_number` with the style of its output: a format
inside a band of magnitudes, another outside it, and the words for missing and infinite values.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["fmt_number", "DASH", "DASH_NOTE", "with_dash_note"]

#: What a missing or not-applicable value prints as in a table, and the footnote that says so.
DASH = "—"
DASH_NOTE = "— not applicable, or not measured in this run"


def with_dash_note(text: str) -> str:
    """A printed table with :data:`DASH_NOTE` under it when a cell of it is a dash."""
    return f"{text}\n{DASH_NOTE}" if DASH in text else text


def fmt_number(v: Any, *, inside: str = ".4f", outside: str = ".3e", band: tuple[float, float] = (1e-3, 1e5),
               zero: str | None = None, nan: str = "—", inf: tuple[str, str] = ("∞", "−∞"),
               none: str | None = None) -> str:
    """``v`` as text: format ``inside`` when :math:`\\mathrm{band}_0 \\le |v| < \\mathrm{band}_1`, else ``outside``.

    Parameters
    ----------
    v : number or anything
        A value that is not a number is shown with ``str``.
    inside, outside : str
        Format specs (``".4f"``, ``".3e"``, ``"g"``) for magnitudes inside and outside ``band``.
    band : (float, float)
        The half-open band of magnitudes shown with ``inside``.
    zero : str, optional
        The text for 0 (default: 0 formatted with ``inside``).
    nan, none : str
        The text for NaN and for ``None`` (``none`` defaults to ``nan``).
    inf : (str, str)
        The texts for :math:`+\\infty` and :math:`-\\infty`.
    """
    if v is None:
        return nan if none is None else none
    try:
        x = float(v)
    except (TypeError, ValueError):
        return str(v)
    if math.isnan(x):
        return nan
    if math.isinf(x):
        return inf[0] if x > 0 else inf[1]
    if x == 0:
        return format(x, inside) if zero is None else zero
    return format(x, inside if band[0] <= abs(x) < band[1] else outside)
