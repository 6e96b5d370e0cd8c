"""A store's points or per-layer rows as a Parquet file (through pyarrow) or CSV.

Both are written atomically (a temporary name beside the target, then a rename).
"""

from __future__ import annotations

import io
from pathlib import Path

from .._io import atomic_write
from .._spec import ConfigError
from .store import Store

__all__ = ["export", "have_pyarrow", "check_format"]


def have_pyarrow() -> bool:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


def check_format(out: str | Path) -> None:
    """A :class:`ConfigError` (one line) unless ``out`` ends in ``.csv``, or ``.parquet`` with pyarrow installed."""
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".parquet", ".csv"):
        raise ConfigError(f"export writes FILE.parquet or FILE.csv, got '{out.name}'")
    if suffix == ".parquet" and not have_pyarrow():
        raise ConfigError(f"writing Parquet needs pyarrow (pip install pyarrow); or write CSV: "
                          f"-o {out.with_suffix('.csv')}")


def export(store: str | Path, out: str | Path, table: str = "points") -> Path:
    """Write ``table`` (``points`` or ``layers``) of ``store`` to ``out`` (``.parquet`` or ``.csv``); returns the
    path written.

    Raises
    ------
    ConfigError
        Another suffix, or ``.parquet`` without pyarrow (:func:`check_format`; one line).
    """
    out = Path(out)
    check_format(out)
    suffix = out.suffix.lower()
    if table not in ("points", "layers"):
        raise ConfigError(f"table must be points or layers, got '{table}'")
    with Store(store, readonly=True) as st:
        df = st.points_frame() if table == "points" else st.layers_frame()
    if suffix == ".csv":
        text = df.to_csv(index=False)
        with atomic_write(out, "w") as fh:
            fh.write(text)
    else:
        for c in df.columns:  # mixed-type axis columns (e.g. gain None or a number) as text
            if df[c].dtype == object:
                df[c] = df[c].map(lambda v: v if v is None or isinstance(v, str) else str(v))
        buf = io.BytesIO()
        df.to_parquet(buf, index=False, engine="pyarrow")
        with atomic_write(out, "wb") as fh:
            fh.write(buf.getvalue())
    return out
