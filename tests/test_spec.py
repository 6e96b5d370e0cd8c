import pytest

from initlab._spec import SpecError, UnknownNameError, parse_spec, split_specs
from initlab import get_activation, get_initializer


def test_parse_spec_positional_and_keyword():
    assert parse_spec("Variance_Scaling:2,mode=fan_in") == ("variance_scaling", ["2"], {"mode": "fan_in"})


def test_unknown_name_lists_valid_and_closest():
    with pytest.raises(UnknownNameError) as info:
        get_activation("rellu")
    msg = str(info.value)
    assert "did you mean 'relu'" in msg and "tanh" in msg and "\n" not in msg


@pytest.mark.parametrize(
    "bad", ["normal:std=-1", "normal:abc", "normal:1,2", "normal:nope=1", "", "normal:std=1,std=2"]
)
def test_bad_specs_are_one_line_errors(bad):
    with pytest.raises(SpecError) as info:
        get_initializer(bad)
    assert "\n" not in str(info.value)


def test_split_specs_keeps_parameter_commas():
    assert split_specs("xavier,he,normal:0.01,variance_scaling:scale=2,mode=fan_in,normal:1") == [
        "xavier",
        "he",
        "normal:0.01",
        "variance_scaling:scale=2,mode=fan_in",
        "normal:1",
    ]


def test_spec_roundtrip():
    init = get_initializer("normal:0.01")
    assert get_initializer(init.spec) == init
