"""The one number formatter, in the styles its call sites use."""

import math

import pytest

from initlab._format import fmt_number


@pytest.mark.parametrize("v, kw, want", [
    (0.123456, {}, "0.1235"),
    (1.5e-5, {}, "1.500e-05"),
    (2e5, {}, "2.000e+05"),
    (0.0, {}, "0.0000"),
    (math.nan, {}, "—"),
    (math.inf, {}, "∞"),
    (-math.inf, {}, "−∞"),
    (None, {}, "—"),
    (None, {"none": "None"}, "None"),
    ("text", {}, "text"),
    (3, {"inside": ".6g", "band": (0.0, math.inf)}, "3"),
    (0.0, {"inside": ".2f", "outside": ".2g", "band": (1e-2, 1e3), "zero": "0"}, "0"),
    (0.004, {"inside": ".2f", "outside": ".2g", "band": (1e-2, 1e3)}, "0.004"),
    (12.345, {"inside": ".4f", "outside": ".4g", "band": (0.0, 10.0)}, "12.35"),
    (9.87654, {"inside": ".4f", "outside": ".4g", "band": (0.0, 10.0)}, "9.8765"),
])
def test_styles(v, kw, want):
    assert fmt_number(v, **kw) == want
