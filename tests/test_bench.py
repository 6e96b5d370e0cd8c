"""Smoke test of the benchmark (no timing assertions: times depend on the machine)."""

import math

from click.testing import CliRunner

from initlab.sim.bench import BenchRow, breakdown, format_breakdown, format_memory, format_rows, run_bench
from initlab.cli import main


def test_bench_functions_run_on_a_tiny_shape():
    rows = run_bench([(8, 6, 3)], repeats=1)
    (row,) = rows
    assert isinstance(row, BenchRow) and (row.batch, row.width, row.depth) == (8, 6, 3)
    assert all(math.isfinite(v) and v > 0 for v in (row.floor_ms, row.engine_ms, row.core_ms, row.ratio,
                                                     row.simulate_ms, row.e2e_ratio))
    assert row.target is None and row.e2e_target is None and "8 x 6 x 3" in format_rows(rows)
    try:
        import torch  # noqa: F401
    except ImportError:
        assert math.isnan(row.torch_ms)
    else:
        assert math.isfinite(row.torch_ms) and row.torch_ms > 0
    (bare,) = run_bench([(8, 6, 3)], repeats=1, end_to_end=False)
    assert math.isnan(bare.simulate_ms) and math.isnan(bare.torch_ms)
    parts = breakdown(8, 6, 3, repeats=1)
    assert {"forward matmuls", "backward matmuls", "histograms"} <= set(parts)
    assert all(v >= 0 for v in parts.values())
    assert "floor" in format_breakdown(parts, row)


def test_bench_command_with_a_shape_and_bad_shape():
    r = CliRunner().invoke(main, ["bench", "--what", "engine", "--shape", "8x6x3", "--repeats", "1", "--breakdown"])
    assert r.exit_code == 0, r.output
    assert "8 x 6 x 3" in r.stdout and "histograms" in r.stdout
    r = CliRunner().invoke(main, ["bench", "--what", "engine", "--shape", "8x6"])
    assert r.exit_code == 2 and r.stderr.startswith("Error: ")


def test_bench_command_runs_the_trainer_benchmark(monkeypatch):
    import pandas as pd
    import initlab.nn.bench as nb

    calls = {}

    def fake(n, repeats):
        calls.update(n=n, repeats=repeats)
        return pd.DataFrame({"what": ["initlab", "gemm floor"], "best_s": [0.2, 0.1], "vs_gemm": [2.0, 1.0]})

    monkeypatch.setattr(nb, "bench_trainer", fake)
    r = CliRunner().invoke(main, ["bench", "--what", "trainer", "--quick"])
    assert r.exit_code == 0, r.output
    assert calls == {"n": 6000, "repeats": 2}
    assert "784-256-256-256-256-10" in r.stdout and "gemm floor" in r.stdout


def test_peak_memory_is_flat_in_depth_when_weights_are_redrawn():
    import tracemalloc

    from initlab.sim.engine import simulate

    def peak(depth, keep):
        tracemalloc.start()
        simulate(init="he", act="relu", depth=depth, width=256, batch=4, progress=False, keep_weights=keep)
        got = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return got / 2**20

    layer = 256 * 256 * 4 / 2**20  # 0.25 MiB of weights a layer
    kept = peak(8, True), peak(32, True)
    redrawn = peak(8, False), peak(32, False)
    assert kept[1] - kept[0] > 0.9 * 24 * layer  # all 24 extra layers held
    assert redrawn[1] - redrawn[0] < 0.2 * 24 * layer  # only the small activations grow
    assert "redrawn" in format_memory(())


def test_device_cuda_without_cupy_is_a_clear_error():
    try:
        import cupy  # noqa: F401
    except ImportError:
        pass
    else:  # pragma: no cover - a machine with CuPy
        return
    for args in (["bench", "--what", "engine", "--device", "cuda"],
                 ["simulate", "--depth", "2", "--width", "4", "--batch", "4", "--device", "cuda"]):
        r = CliRunner().invoke(main, args)
        assert r.exit_code == 2 and "initlab[gpu]" in r.stderr, r.output
