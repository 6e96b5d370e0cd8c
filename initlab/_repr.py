"""How a result shows itself: a short text ``repr`` and, in a notebook, an HTML one.

Every result class (:class:`~initlab.sim.result.SimResult`, :class:`~initlab.study.spectrum.SpectrumResult`,
:class:`~initlab.study.trainability.TrainabilityResult`, :class:`~initlab.sweep.result.SweepResult`,
:class:`~initlab.labs.compare.Comparison`, :class:`~initlab.labs.result.RunResult`) mixes in
:class:`ShowsItself` and answers three small questions:

``_repr_facts() -> str``
    One line: what ran (sizes, seeds, time).
``_repr_table() -> DataFrame or None``
    The summary table (one row per config, point or initializer).
``_repr_figure() -> Figure or None``
    The key figure (built only for the HTML repr).

``repr(result)`` is the class name with the facts and the first :data:`TEXT_ROWS` rows of the table;
``result._repr_html_()`` (what Jupyter shows) is the same facts, the first :data:`HTML_ROWS` rows as an HTML
table (missing values as "—") and the figure inline as a base64 PNG, the way pandas and Keras show
themselves.
"""

from __future__ import annotations

import base64
import html
import io
from typing import Any

__all__ = ["ShowsItself", "figure_png", "TEXT_ROWS", "HTML_ROWS"]

#: Rows of the summary table in the text repr, and in the HTML one.
TEXT_ROWS = 8
HTML_ROWS = 20
#: Resolution of the inline figure (dots per inch).
DPI = 72


def figure_png(fig: Any, dpi: int = DPI) -> bytes:
    """The PNG bytes of a matplotlib figure (drawn with Agg; the figure is left as it was)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    if fig.canvas is None or not hasattr(fig.canvas, "print_png"):
        FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, facecolor="white")
    return buf.getvalue()


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return "—" if v != v else f"{v:.4g}"
    return str(v)


class ShowsItself:
    """Mixin: a short text ``__repr__`` and a notebook ``_repr_html_`` from three hooks (see the module)."""

    def _repr_facts(self) -> str:
        raise NotImplementedError

    def _repr_table(self) -> Any:
        return None

    def _repr_figure(self) -> Any:
        return None

    def __repr__(self) -> str:
        head = f"{type(self).__name__}({self._repr_facts()})"
        table = self._repr_table()
        if table is None or not len(table):
            return head
        shown = table.head(TEXT_ROWS).to_string(index=False, max_colwidth=32, formatters={
            c: _fmt for c in table.columns if table[c].dtype.kind == "f"}, na_rep="—")
        more = len(table) - TEXT_ROWS
        return head + "\n" + shown + (f"\n… {more} more row{'s' * (more != 1)}" if more > 0 else "")

    def _repr_html_(self) -> str:
        parts = [f"<div class='initlab-result'><p><b>{html.escape(type(self).__name__)}</b>: "
                 f"{html.escape(self._repr_facts())}</p>"]
        table = self._repr_table()
        if table is not None and len(table):
            parts.append(table.head(HTML_ROWS).to_html(index=False, border=0, na_rep="—", float_format=_fmt))
            if len(table) > HTML_ROWS:
                parts.append(f"<p>… {len(table) - HTML_ROWS} more rows</p>")
        fig = self._repr_figure()
        if fig is not None:
            data = base64.b64encode(figure_png(fig)).decode("ascii")
            parts.append(f"<img src='data:image/png;base64,{data}' style='max-width:100%'/>")
        parts.append("</div>")
        return "\n".join(parts)
