"""The result of a simulation: a tidy per-layer frame, histograms and the config that made them."""

from __future__ import annotations

import datetime as _dt
import io
import json
import math
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .._format import fmt_number
from .._repr import ShowsItself
from .._result import exact_floats
from .._io import atomic_write_text, reproducible_time
from .._spec import ConfigError
from .config import SimConfig
from ..schema import (
    BACKWARD_COLUMNS, FORWARD_COLUMNS, FRAME_DTYPES, LAYER_COLUMNS, STATUS_COLUMNS, THEORY_COLUMNS, Histograms,
)

__all__ = ["SimResult", "build_frame", "build_histograms", "run_time"]

# pandas < 3 parses floats approximately unless told otherwise; pandas 3 is exact and deprecates the flag


def run_time() -> _dt.datetime:
    """The time to record with a new run: ``$SOURCE_DATE_EPOCH`` when set (reproducible builds), else now
    (UTC, whole seconds)."""
    return reproducible_time()


def build_frame(config: SimConfig, outputs: Sequence[Sequence], theory: pd.DataFrame | None = None) -> pd.DataFrame:
    """The tidy frame from ``outputs[run][trial]`` (:class:`initlab.sim.trial.TrialOutput`), schema order.

    ``theory`` (from :func:`initlab.sim.predict.predict_layers`: columns ``config``, ``layer`` and
    :data:`~initlab.schema.THEORY_COLUMNS`) fills the theory columns; every trial of a config shares its
    prediction. Without it, or where the theory has no prediction, they are NaN.
    """
    L = config.depth
    cols: dict[str, list[np.ndarray]] = {c: [] for c in LAYER_COLUMNS}
    for run, outs in zip(config.runs(), outputs):
        init, act = run.config.run_inits()[0], run.config.acts[0]
        init_spec, act_spec = run.config.init_specs[0], run.config.act_specs[0]
        for t, out in enumerate(outs):
            cols["config"].append(np.full(L, run.index, dtype=np.int64))
            cols["label"].append(np.full(L, run.label, dtype=object))
            cols["init_spec"].append(np.full(L, init_spec, dtype=object))
            cols["init"].append(np.full(L, init, dtype=object))
            cols["act_spec"].append(np.full(L, act_spec, dtype=object))
            cols["act"].append(np.full(L, act, dtype=object))
            cols["trial"].append(np.full(L, t, dtype=np.int64))
            cols["layer"].append(np.arange(1, L + 1, dtype=np.int64))
            cols["width"].append(np.asarray(config.widths, dtype=np.int64))
            for c in FORWARD_COLUMNS + BACKWARD_COLUMNS + STATUS_COLUMNS:
                if c != "grad_diverged":
                    cols[c].append(np.asarray(out.columns[c]))
            # no finite gradient here: the backward pass overflowed, or it did not run (the forward pass diverged
            # in a later layer of this trial), so every NaN gradient carries a flag
            finite = np.isfinite(out.columns["grad_pre_norm"]) & np.isfinite(out.columns["grad_w_norm"])
            cols["grad_diverged"].append(~finite)
            pred = None if theory is None else theory[theory["config"] == run.index].sort_values("layer")
            for c in THEORY_COLUMNS:
                cols[c].append(np.full(L, np.nan) if pred is None else pred[c].to_numpy(dtype=np.float64))
    data = {c: pd.Series(np.concatenate(v), dtype=FRAME_DTYPES[c]) for c, v in cols.items()}
    return pd.DataFrame(data, columns=list(LAYER_COLUMNS))


def _backward_overflowed(df: pd.DataFrame) -> pd.Series:
    """The rows whose gradient overflowed in a backward pass that ran (``grad_diverged`` in a trial whose
    forward pass stayed finite)."""
    forward = df["diverged"].astype(bool).groupby([df["config"], df["trial"]]).transform("any")
    return df["grad_diverged"].astype(bool) & ~forward


def build_histograms(config: SimConfig, outputs: Sequence[Sequence]) -> Histograms:
    """The :class:`Histograms` from ``outputs[run][trial]``: each run's ranges are its trial 0's."""
    B = config.bins
    pre_edges = np.stack([np.linspace(-o[0].pre_range, o[0].pre_range, B + 1) for o in outputs])
    act_edges = np.stack([np.linspace(-o[0].act_range, o[0].act_range, B + 1) for o in outputs])
    pre = np.stack([np.stack([t.pre_counts for t in o]) for o in outputs]).astype(np.int64)
    act = np.stack([np.stack([t.act_counts for t in o]) for o in outputs]).astype(np.int64)
    return Histograms(tuple(config.labels()), pre_edges, pre, act_edges, act)


class SimResult(ShowsItself):
    """What :func:`initlab.simulate` returns.

    Attributes
    ----------
    config : SimConfig
    layers : pandas.DataFrame
        One row per config × trial × layer, columns :data:`initlab.schema.LAYER_COLUMNS` in that
        order, dtypes :data:`FRAME_DTYPES`.
    histograms : Histograms
        Counts per config, trial and layer on one shared range per config (see
        :class:`initlab.schema.Histograms`).
    created : datetime or None
        When the run was made (UTC, whole seconds; ``$SOURCE_DATE_EPOCH`` when that is set). It is not
        in any file's bytes: :meth:`to_dir` records it as the modification time of ``config.json`` and
        :meth:`from_dir` reads it back, so a report of a saved run carries the run's date.
    """

    def __init__(self, config: SimConfig, layers: pd.DataFrame, histograms: Histograms,
                 created: _dt.datetime | None = None):
        self.config = config
        self.layers = layers
        self.histograms = histograms
        self.created = created

    # -- views -------------------------------------------------------------------------------
    @property
    def labels(self) -> list[str]:
        return list(self.histograms.labels)

    @property
    def diverged_at_layer(self) -> dict[str, int | None]:
        """``{label: first diverged layer (over all trials) or None}``, one entry per config, in order."""
        out: dict[str, int | None] = {}
        df = self.layers
        for label in self.labels:
            rows = df[(df["label"] == label) & df["diverged"]]
            out[label] = int(rows["layer"].min()) if len(rows) else None
        return out

    @property
    def grad_diverged_layers(self) -> dict[str, int]:
        """``{label: number of (trial, layer) rows whose backward pass overflowed}``, one entry per config."""
        df = self.layers
        over = _backward_overflowed(df)
        return {label: int(over[df["label"] == label].sum()) for label in self.labels}

    @property
    def points(self) -> pd.DataFrame:
        """The tidy points: one row per config × trial × layer (:attr:`layers`)."""
        return self.layers

    def figures(self):
        """The standard figures (:func:`initlab.plots.figure_plan`), name → Figure, built lazily. (Its PDF is
        :func:`initlab.report.sim.write_report`: the report wing sits above the simulation's.)"""
        from .._result import LazyFigures
        from ..plots.plan import figure_plan

        return LazyFigures({name: make for name, _caption, make in figure_plan(self)})

    def summary(self) -> str:
        """A text table per config and layer (means over trials): output mean and std, saturated and
        dead fractions, and the pre-activation gradient norm relative to the last layer.

        Where the config has a mean-field prediction, ``q vs theory`` is the measured pre-activation second
        moment's deviation from it, marked ``!`` where neither the trials' spread nor the predicted finite-width
        spread can explain it; where the finite-width theory applies, ``sd ln q`` is the trials' standard
        deviation of ln q beside ``(1/n)``, its prediction (:func:`initlab.sim.finite_width.predicted_spread`). The
        flag is set (:func:`initlab.sim.predict.theory_deviation` with
        :func:`initlab.sim.finite_width.predicted_spread`: 3 sigma on the trials' log q after the predicted 1/n
        shift, and 1%)."""
        from .finite_width import predicted_spread
        from .predict import FLAG_MIN_REL, FLAG_SIGMAS, theory_deviation

        df = self.layers
        cols = ["act_mean", "act_std", "saturated", "dead", "grad_pre_ratio"]
        dev = theory_deviation(df, predicted_spread(self.config, df)).set_index(["label", "layer"])
        head = f"{'layer':>5} {'width':>6} {'mean':>11} {'std':>11} {'saturated':>9} {'dead':>6} {'grad ratio':>11}"
        lines: list[str] = []
        T = self.config.trials
        flagged = 0
        for label, div in self.diverged_at_layer.items():
            sub = df[df["label"] == label]
            note = f"  (diverged at layer {div})" if div is not None else ""
            nbad = int(_backward_overflowed(sub).sum())
            if nbad:
                note += f"  (gradient overflowed in {nbad} layer{'s' * (nbad != 1)})"
            has_theory = bool(sub["theory_pre_q"].notna().any())
            sub_dev = dev.loc[label] if has_theory and label in dev.index.get_level_values(0) else None
            has_spread = sub_dev is not None and bool(np.isfinite(sub_dev["sd_pred"].to_numpy(dtype=float)).any())
            lines.append(f"{label}{note}" + (f"  [mean of {T} trials]" if T > 1 else ""))
            lines.append(head + (f" {'q vs theory':>12}" if has_theory else "")
                         + (f" {'sd ln q':>8} {'(1/n)':>6}" if has_spread else ""))
            g = sub.groupby("layer", sort=True)
            means = g[cols].mean()
            widths = g["width"].first()
            diverged = g["diverged"].any()
            for layer in means.index:
                w = int(widths[layer])
                if diverged[layer]:
                    lines.append(f"{layer:>5} {w:>6} {'diverged':>11}")
                    continue
                r = means.loc[layer]
                extra = ""
                if has_theory and (label, layer) in dev.index:
                    d = dev.loc[(label, layer)]
                    if math.isfinite(d["dev"]):
                        extra = f" {d['dev']:>+11.1%}{'!' if d['flag'] else ' '}"
                        flagged += bool(d["flag"])
                    if has_spread:  # the trials' spread of ln q beside the finite-width prediction (issue 21)
                        sd = f"{d['log_sd']:.3f}" if math.isfinite(d["log_sd"]) else "—"
                        pred = f"{d['sd_pred']:.3f}" if math.isfinite(d["sd_pred"]) else "—"
                        extra += f" {sd:>8} {pred:>6}"
                lines.append(
                    f"{layer:>5} {w:>6} {_num(r['act_mean']):>11} {_num(r['act_std']):>11} "
                    f"{r['saturated']:>9.1%} {r['dead']:>6.1%} {_num(r['grad_pre_ratio']):>11}{extra}"
                )
            lines.append("")
        if flagged:
            lines.append(f"! {flagged} layer(s): measured q differs from the mean-field prediction by more than the "
                         f"trials' spread and the predicted finite-width spread explain ({FLAG_SIGMAS:g}-sigma t-test "
                         f"on log q and {FLAG_SIGMAS:g} predicted standard errors after the predicted 1/n shift) and "
                         f"by more than {FLAG_MIN_REL:.0%}")
        return "\n".join(lines).rstrip("\n") + "\n"

    def _repr_facts(self) -> str:
        c = self.config
        return (f"{c.n_runs} config{'s' * (c.n_runs != 1)} × {c.trials} trial{'s' * (c.trials != 1)} × "
                f"{c.depth} layers, width {c.width if isinstance(c.width, int) else list(c.width)}, "
                f"batch {c.batch}, {c.dtype}, seed {c.seed}")

    def _repr_table(self) -> pd.DataFrame:
        """Per config (means over trials): the layer-output std at the first and last layer, the gradient
        ratio at layer 1 and the first diverged layer."""
        df, L = self.layers, self.config.depth
        g = df.groupby(["config", "layer"], sort=True)[["act_std", "grad_pre_ratio"]].mean()
        first = df.drop_duplicates("config").set_index("config")
        div = self.diverged_at_layer
        return pd.DataFrame({
            "label": first["label"], "init_spec": first["init_spec"], "act_spec": first["act_spec"],
            "act_std L1": [g.loc[(c, 1), "act_std"] for c in first.index],
            f"act_std L{L}": [g.loc[(c, L), "act_std"] for c in first.index],
            "grad ratio L1": [g.loc[(c, 1), "grad_pre_ratio"] for c in first.index],
            "diverged at": ["—" if div[lab] is None else str(div[lab]) for lab in first["label"]],
        }).reset_index(drop=True)

    def _repr_figure(self):
        from ..plots.layers import moments_vs_layer

        return moments_vs_layer(self.layers)

    # -- equality ----------------------------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SimResult):
            return NotImplemented
        return (self.config == other.config and self.histograms == other.histograms
                and self.layers.equals(other.layers))

    __hash__ = None  # type: ignore[assignment]

    # -- files -------------------------------------------------------------------------------
    def to_csv(self) -> str:
        """The frame as CSV text (exact float round trip, empty fields for NaN)."""
        buf = io.StringIO()
        self.layers.to_csv(buf, index=False, lineterminator="\n")
        return buf.getvalue()

    def to_json(self) -> dict[str, Any]:
        """The config, the first diverged layer per config, the backward overflows per config and the
        per-layer rows as plain JSON-able data (NaN becomes ``None``)."""
        rows = self.layers.to_dict(orient="records")
        clean = [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()} for r in rows]
        return {"config": self.config.to_dict(), "diverged_at_layer": self.diverged_at_layer,
                "grad_diverged_layers": self.grad_diverged_layers, "layers": clean}

    def to_json_text(self) -> str:
        """:meth:`to_json` as text (indented, ``inf`` written as the strings ``"inf"``/``"-inf"``)."""
        def fix(v: Any) -> Any:
            if isinstance(v, float) and math.isinf(v):
                return "inf" if v > 0 else "-inf"
            if isinstance(v, dict):
                return {k: fix(x) for k, x in v.items()}
            if isinstance(v, list):
                return [fix(x) for x in v]
            return v
        return json.dumps(fix(self.to_json()), indent=1, allow_nan=False)

    def to_dir(self, path: str | Path) -> Path:
        """Write ``layers.csv``, ``config.json`` and ``histograms.npz`` into ``path`` (created), each atomically.

        The same config and seed give byte-identical files; :attr:`created` becomes the modification
        time of ``config.json``. To replace a run folder as a unit use :func:`initlab.report.export`.
        """
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path / "layers.csv", self.to_csv())
        atomic_write_text(path / "config.json", self.config.to_json())
        self.histograms.save(path / "histograms.npz")
        if self.created is not None:
            ts = self.created.timestamp()
            os.utime(path / "config.json", (ts, ts))
        return path

    @classmethod
    def from_dir(cls, path: str | Path) -> "SimResult":
        """Read a run written by :meth:`to_dir`; equal to the original.

        The folder is validated before it is used: ``config.json`` must be a small, flat JSON object
        that makes a valid :class:`SimConfig`, ``layers.csv`` must have the schema's columns and exactly
        one row per config × trial × layer of that config (labels, trials and depth agreeing), and
        ``histograms.npz`` must hold counts of shape (configs, trials, depth, bins) for the same labels.
        Any disagreement is one :class:`~initlab._spec.ConfigError` line.
        """
        path = Path(path)
        cfg_file = path / "config.json"
        if cfg_file.stat().st_size > _MAX_CONFIG_BYTES:
            raise ConfigError(f"{cfg_file} is {cfg_file.stat().st_size} bytes, too large for a run's config")
        try:
            config = SimConfig.from_json(cfg_file.read_text(encoding="utf-8"))
        except RecursionError:
            raise ConfigError(f"{cfg_file} is nested too deeply to be a run's config") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{cfg_file} is not UTF-8 text") from None
        rows = config.n_runs * config.trials * config.depth
        if rows > _MAX_ROWS:
            raise ConfigError(f"{cfg_file} describes {rows} layer rows (depth {config.depth}), more than a saved "
                              f"run can hold")
        dtypes = {c: t for c, t in FRAME_DTYPES.items() if t != "bool"}
        with open(path / "layers.csv", encoding="utf-8", errors="replace") as fh:
            header = fh.readline().strip().split(",")
            n_lines = sum(1 for line in fh if line.strip())
        derived = ("grad_diverged", "init_spec", "act_spec")  # saved before these columns existed: derived below
        need = [c for c in LAYER_COLUMNS if c not in derived]
        missing = [c for c in need if c not in header]
        extra = [c for c in header if c not in LAYER_COLUMNS]
        if missing or extra:
            what = f"missing column '{missing[0]}'" if missing else f"unknown column '{extra[0]}'"
            raise ConfigError(f"{path / 'layers.csv'} does not have the run schema: {what}")
        if n_lines != rows:
            raise ConfigError(f"{path / 'layers.csv'} has {n_lines} rows but config.json describes {rows} "
                              f"({config.n_runs} configs × {config.trials} trials × {config.depth} layers)")
        df = pd.read_csv(path / "layers.csv", dtype=dtypes, keep_default_na=False, na_values=[""], **exact_floats())
        if "grad_diverged" not in df.columns:  # saved before the column existed: derive it as build_frame does
            df["grad_diverged"] = ~(np.isfinite(df["grad_pre_norm"]) & np.isfinite(df["grad_w_norm"]))
        for col, field in (("init_spec", "init_specs"), ("act_spec", "act_specs")):
            if col not in df.columns:  # the config's record of the spelling (the canonical spec when it has none)
                spelled = {r.index: getattr(r.config, field)[0] for r in config.runs()}
                df[col] = df["config"].map(spelled).astype(str)
        for c in (c for c, t in FRAME_DTYPES.items() if t == "bool"):
            if df[c].dtype != bool:
                raise ConfigError(f"{path / 'layers.csv'}: column '{c}' must hold True/False")
        df = df[list(LAYER_COLUMNS)]
        _check_frame(path, config, df)
        _check_npz_size(path / "histograms.npz", 2 * 8 * rows * (config.bins + 1) + (1 << 20))
        hist = Histograms.load(path / "histograms.npz")
        want = (config.n_runs, config.trials, config.depth, config.bins)
        for name in ("pre_counts", "act_counts"):
            if getattr(hist, name).shape != want:
                raise ConfigError(f"{path / 'histograms.npz'}: {name} has shape {getattr(hist, name).shape}, "
                                  f"config.json describes {want} (configs, trials, depth, bins)")
        for name in ("pre_edges", "act_edges"):
            if getattr(hist, name).shape != (config.n_runs, config.bins + 1):
                raise ConfigError(f"{path / 'histograms.npz'}: {name} has shape {getattr(hist, name).shape}, "
                                  f"expected {(config.n_runs, config.bins + 1)}")
            edges = np.asarray(getattr(hist, name), dtype=np.float64)
            if not (np.isfinite(edges).all() and (np.diff(edges, axis=-1) > 0).all()):
                raise ConfigError(f"{path / 'histograms.npz'}: {name} must be finite and increasing (a damaged file)")
        for name in ("pre_counts", "act_counts"):
            if (np.asarray(getattr(hist, name)) < 0).any():
                raise ConfigError(f"{path / 'histograms.npz'}: {name} holds negative counts (a damaged file)")
        if list(hist.labels) != config.labels():
            raise ConfigError(f"{path / 'histograms.npz'}: its labels differ from config.json's")
        mtime = int(cfg_file.stat().st_mtime)
        return cls(config, df, hist, created=_dt.datetime.fromtimestamp(mtime, _dt.timezone.utc))


#: Limits of a saved run that ``from_dir`` accepts (a config is a few hundred bytes).
_MAX_CONFIG_BYTES = 1 << 20
_MAX_ROWS = 50_000_000


def _check_npz_size(path: Path, limit: int) -> None:
    """Refuse an ``.npz`` whose members declare more uncompressed bytes than the run can need."""
    import zipfile

    with zipfile.ZipFile(path) as z:
        declared = sum(i.file_size for i in z.infolist())
    if declared > limit:
        raise ConfigError(f"{path} declares {declared} bytes uncompressed, more than the run's {limit}")


def _check_frame(path: Path, config: SimConfig, df: pd.DataFrame) -> None:
    """The CSV's identity columns must be those the config implies, row for row."""
    L, T = config.depth, config.trials
    labels = config.labels()
    runs = config.runs()
    exp_config = np.repeat(np.arange(len(runs)), T * L)
    exp_trial = np.tile(np.repeat(np.arange(T), L), len(runs))
    exp_layer = np.tile(np.arange(1, L + 1), len(runs) * T)
    widths = config.width if isinstance(config.width, tuple) else [config.width] * L
    exp_width = np.tile(np.asarray(widths), len(runs) * T)
    checks = (("config", exp_config), ("trial", exp_trial), ("layer", exp_layer), ("width", exp_width))
    for col, exp in checks:
        if not np.array_equal(df[col].to_numpy(), exp):
            raise ConfigError(f"{path / 'layers.csv'}: column '{col}' disagrees with config.json "
                              f"(depth {L}, {T} trial(s), {len(runs)} config(s))")
    if list(df["label"].to_numpy()) != [labels[i] for i in exp_config]:
        raise ConfigError(f"{path / 'layers.csv'}: its labels differ from config.json's ({', '.join(labels)})")


def _num(v: float) -> str:
    """Compact number: fixed point for moderate magnitudes, scientific otherwise."""
    return fmt_number(v, nan="nan", inf=("inf", "-inf"), none="None")
