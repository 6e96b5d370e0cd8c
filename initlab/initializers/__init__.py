"""Weight initializers that know their exact variance.

Every initializer is a frozen dataclass registered in :data:`INITIALIZERS` and built from a spec
string with :func:`get_initializer` (``"normal:0.01"``, ``"he_uniform"``,
``"variance_scaling:scale=2,mode=fan_in,distribution=truncated_normal"``). Weights have shape
``(fan_in, fan_out)`` and a layer computes ``z = a @ W``; the contract is in :mod:`.base`.

Modules (imports go one way: each family module imports only :mod:`.base`)

- :mod:`.base`: the :class:`Initializer` contract, the registry, :func:`fans`, shared samplers and checks;
- :mod:`.fixed`: ``zeros``, ``constant``, ``normal``, ``uniform``, ``truncated_normal``;
- :mod:`.scaled`: ``xavier_*``, ``glorot_*``, ``kaiming_*``, ``he_*``, ``lecun_*``, ``torch_default``, ``variance_scaling``;
- :mod:`.orthogonal`: ``orthogonal`` and ``lsuv`` (data-dependent), :func:`orthogonal_matrix`, :func:`lsuv_rescale`;
- :mod:`.gain`: :func:`gain`, :func:`torch_gain`, :func:`with_gain`, :func:`gain_initializers`.
"""

from .base import (
    INITIALIZERS,
    KERAS_TRUNCATION_STD,
    TRUNCATED_NORMAL_VARIANCE,
    Initializer,
    fans,
    get_initializer,
)
# The family modules register their entries on import: this order (fixed, scaled, orthogonal) is the
# registry order (`initlab list`, INITIALIZERS.names()); keep it.
# isort: off
from .fixed import Constant, Normal, TruncatedNormal, Uniform, Zeros
from .scaled import (
    NAMING,
    GlorotNormal,
    HeNormal,
    HeUniform,
    LecunNormal,
    LecunUniform,
    KaimingNormal,
    TorchDefault,
    VarianceScaling,
    XavierNormal,
    XavierUniform,
)
from .orthogonal import LSUV, Orthogonal, lsuv_rescale, orthogonal_matrix
# isort: on
from .gain import gain, gain_initializers, torch_gain, with_gain

__all__ = [
    "Initializer", "INITIALIZERS", "get_initializer", "fans", "with_gain", "gain", "torch_gain", "gain_initializers",
    "TRUNCATED_NORMAL_VARIANCE", "KERAS_TRUNCATION_STD", "Zeros", "Constant", "Normal", "Uniform", "TruncatedNormal",
    "XavierNormal", "GlorotNormal", "XavierUniform", "KaimingNormal", "HeNormal", "HeUniform", "LecunNormal", "LecunUniform",
    "VarianceScaling", "TorchDefault", "NAMING", "Orthogonal", "LSUV", "orthogonal_matrix", "lsuv_rescale",
]
