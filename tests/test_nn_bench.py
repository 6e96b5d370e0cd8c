"""The trainer benchmark runs and reports its table (a smoke test on a tiny model: nothing is timed here)."""

from __future__ import annotations

import numpy as np

from initlab.nn._parallel import blas_threads
from initlab.nn.bench import bench_trainer


def test_bench_trainer_table_structure():
    df = bench_trainer(n=300, batch=100, sizes=(20, 16, 4), repeats=1, torch=False)
    assert list(df["what"]) == ["initlab", "gemm floor"]
    assert {"best_s", "median_s", "best_ms_per_step", "vs_gemm", "vs_torch", "threads"} <= set(df.columns)
    assert (df["best_s"] > 0).all() and df["vs_torch"].isna().all()
    assert df.loc[1, "vs_gemm"] == 1.0
    assert (df["threads"] == blas_threads()).all() and df.attrs["sizes"] == (20, 16, 4)
    assert np.isfinite(df["best_ms_per_step"]).all()
