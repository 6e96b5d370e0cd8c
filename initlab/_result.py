"""The one result contract: a result's frames written and read back bit for bit, and its figures built lazily.

Every result of initlab (:class:`~initlab.SimResult`, :class:`~initlab.SpectrumResult`,
:class:`~initlab.TrainabilityResult`, :class:`~initlab.SweepResult`, the labs' ``Comparison``) has

- ``.points``: a tidy frame (one row per measured point);
- ``.summary()``: a string;
- ``.figures()``: a name → Figure mapping whose figures are built when first read (:class:`LazyFigures`);
- ``.report(path)``: its PDF, through :func:`initlab.report.pdf.write_pdf` (for the results of the wings above
  the report's: sweep and study; the simulation's and the labs' PDFs are :func:`initlab.report.sim.write_report`
  and :func:`initlab.report.labs.write_compare_report`, so that no import runs back up);
- ``.to_dir(path)`` and ``Cls.from_dir(path)``: a run folder written as a unit
  (:func:`initlab._io.staged_dir`) that reads back bit for bit.

:func:`write_frames` and :func:`read_frames` are how the frames of a run folder round-trip: each frame is a
CSV with every float at full precision (Python's shortest round-trip repr: ``0.1`` stays ``0.1``, and reading
it back gives the same double), and ``frames.json`` records each column's dtype, so integers, booleans and
text come back as they were (an empty text cell stays ``""``, not NaN; text keeps pandas' ``str`` or
``object`` dtype).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

__all__ = ["LazyFigures", "write_frames", "read_frames", "FRAMES_FILE", "exact_floats"]

#: The dtypes of the frames of a run folder.
FRAMES_FILE = "frames.json"


class LazyFigures(Mapping):
    """A read-only mapping name → Figure; each figure is built (by its builder) when first read, then kept."""

    def __init__(self, builders: Mapping[str, Callable[[], Any]]):
        self._builders = dict(builders)
        self._built: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in self._built:
            self._built[name] = self._builders[name]()
        return self._built[name]

    def __contains__(self, name: object) -> bool:  # Mapping's default would build the figure
        return name in self._builders

    def __iter__(self) -> Iterator[str]:
        return iter(self._builders)

    def __len__(self) -> int:
        return len(self._builders)

    def __repr__(self) -> str:
        return f"LazyFigures({list(self._builders)})"


def _kind(dtype: Any) -> str:
    name = str(dtype)
    if name in ("float64", "int64", "bool", "Int64", "boolean"):
        return name
    if name.startswith("float"):
        return "float64"
    if name.startswith("int"):
        return "int64"
    return "object" if name == "object" else "str"


def write_frames(folder: str | Path, frames: Mapping[str, Any]) -> None:
    """Write each frame as ``NAME.csv`` (full precision) into ``folder`` and their dtypes as ``frames.json``.

    ``folder`` is a folder being built (a :func:`~initlab._io.staged_dir`): the files are plain writes.
    """
    folder = Path(folder)
    dtypes = {}
    for name, df in frames.items():
        dtypes[name] = {str(c): _kind(df[c].dtype) for c in df.columns}
        df.to_csv(folder / f"{name}.csv", index=False)
    (folder / FRAMES_FILE).write_text(json.dumps(dtypes, indent=1) + "\n", encoding="utf-8")


def exact_floats() -> dict[str, str]:
    """``pandas.read_csv`` arguments that read back every float a CSV holds bit for bit: pandas before 3.0
    parses with its fast "high" precision, which can miss the last bit of a 17-digit number."""
    import pandas as pd

    return {"float_precision": "round_trip"} if int(pd.__version__.split(".")[0]) < 3 else {}


def read_frames(folder: str | Path) -> dict[str, Any]:
    """The frames :func:`write_frames` wrote into ``folder``, with their dtypes."""
    import pandas as pd

    folder = Path(folder)
    dtypes = json.loads((folder / FRAMES_FILE).read_text(encoding="utf-8"))
    out = {}
    for name, cols in dtypes.items():
        text = [c for c, k in cols.items() if k in ("str", "object")]
        df = pd.read_csv(folder / f"{name}.csv", dtype={c: str for c in text}, keep_default_na=False,
                         na_values={c: ["", "NaN", "nan"] for c in cols if c not in text}, **exact_floats())
        for c, k in cols.items():
            df[c] = df[c].astype(k)
        out[name] = df[list(cols)]
    return out
