"""The BLAS thread choice (initlab.sim.threads): the rule, pinning, and the bits it keeps."""

from __future__ import annotations

import numpy as np
import pytest

from initlab.sim.engine import largest_product, simulate
from initlab.sim.config import SimConfig
from initlab.sim import threads as th


def test_small_products_get_one_thread_and_large_ones_the_free_cores():
    assert th.choose_threads(th.SMALL_PRODUCT - 1, limit=8, free=8) == 1
    assert th.choose_threads(th.SMALL_PRODUCT, limit=8, free=8) == 8
    assert th.choose_threads(th.SMALL_PRODUCT, limit=8, free=3) == 3   # other processes hold 5 cores
    assert th.choose_threads(th.SMALL_PRODUCT, limit=2, free=8) == 2   # a caller's limit is kept
    assert th.choose_threads(1 << 40, limit=4, free=0) == 1            # at least one


def test_free_cores_is_between_one_and_the_cores():
    assert 1 <= th.free_cores() <= th.cores()


def test_largest_product_counts_batch_fans_and_maxout_pieces():
    cfg = SimConfig(inits="he", acts="relu,maxout:3", batch=10, width=(4, 7, 5), depth=3, input_dim=6)
    assert largest_product(cfg) == 10 * 7 * 5 * 3  # fans 6-4-7-5: the 7 x 5 layer


def test_pinned_threads_switch_the_choice_off():
    with th.pinned(1, "blas"):
        with th.auto_threads(1 << 40) as n:
            assert n == 1 and th.blas_limit() == 1
    with th.auto_threads(1) as n:  # a small product: one thread, the limit restored afterwards
        assert n == 1 and th.blas_limit() == 1
    with pytest.raises(ValueError):
        with th.pinned(0):
            pass


def test_threads_argument_gives_the_same_bytes_as_a_pinned_block():
    kw = dict(init="he", act="tanh", depth=3, width=48, batch=40, progress=False)
    a = simulate(threads=1, **kw)
    with th.pinned(1):
        b = simulate(**kw)
    np.testing.assert_array_equal(a.layers.select_dtypes("number").to_numpy(),
                                  b.layers.select_dtypes("number").to_numpy())


def test_thread_bench_runs_on_a_tiny_shape_and_its_command_prints_the_table():
    from click.testing import CliRunner

    from initlab.cli import main
    from initlab.sim.bench_threads import bench_threads, format_thread_rows

    (row,) = bench_threads([(8, 6, 2, "tanh", "xavier")], repeats=1)
    assert row.chosen == 1 and row.one_ms > 0 and row.all_ms > 0 and row.vs_best > 0
    assert "default/best" in format_thread_rows([row])
    r = CliRunner().invoke(main, ["bench", "--what", "threads", "--shape", "8x6x2", "--repeats", "1"])
    assert r.exit_code == 0, r.output
    assert "8 x 6 x 2" in r.output


def test_the_sweep_bench_serial_rows_report_the_engine_choice():
    from initlab.sweep.bench import _serial_threads

    assert 1 <= _serial_threads(1) <= th.cores()
