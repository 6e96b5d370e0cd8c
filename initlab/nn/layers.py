"""Layers of a :class:`~initlab.nn.model.Sequential` model, each forward pass beside its backward pass.

Contract
--------
``build(input_shape, dtype) -> output_shape``
    Shapes exclude the batch axis. Declares the trainable parameters in :meth:`Layer.param_specs`.
``param_specs() -> [(name, shape, initializer), ...]``
    The model (or :func:`initlab.nn.params.ParamStore`) allocates every parameter of every layer in one
    flat buffer, draws it from its initializer, and calls ``bind(params, grads)`` with views.
``forward(x, training) -> y`` and ``backward(grad_y, need_grad_x=True) -> grad_x``
    ``backward`` writes the parameter gradients into the bound gradient views (overwriting them) and
    returns the gradient with respect to the input (None when ``need_grad_x`` is False).

For speed, outputs and gradients live in buffers the layer reuses for every batch of the same size:
an array returned by ``forward`` or ``backward`` is valid until that layer's next call (copy it to keep it).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._batchnorm import normalize_, normalize_backward
from .._spec import ConfigError
from ..activations import Activation as ActivationFn
from ..initializers import Initializer, get_initializer
from .regularizers import Regularizer, get_regularizer
from .softmax import resolve_activation

__all__ = ["Layer", "Input", "Dense", "Activation", "Dropout", "BatchNorm", "BatchNormalization", "Flatten"]

Shape = tuple[int, ...]


def _shape(shape: Any) -> Shape:
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    shape = tuple(shape)
    if shape and shape[0] is None:
        shape = shape[1:]
    if not shape or any(not isinstance(s, (int, np.integer)) or s < 1 for s in shape):
        raise ConfigError(f"input shape must be positive integers (without the batch axis), got {shape}")
    return tuple(int(s) for s in shape)


class Layer:
    """Base class: a differentiable map from a batch ``(n, *input_shape)`` to ``(n, *output_shape)``."""

    #: Default name stem (Keras': ``dense``, ``dropout``, …).
    kind = "layer"

    def __init__(self, *, name: str | None = None, input_shape: Any = None):
        self.name = name
        self.input_shape: Shape | None = None if input_shape is None else _shape(input_shape)
        self.output_shape: Shape | None = None
        self.dtype = np.dtype(np.float32)
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        #: Non-trainable arrays saved with the weights (BatchNorm's moving statistics).
        self.state: dict[str, np.ndarray] = {}
        self.rng: np.random.Generator | None = None
        self._cache: dict[tuple, np.ndarray] = {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, output_shape={self.output_shape})"

    # -- construction ----------------------------------------------------------------------------
    def build(self, input_shape: Shape, dtype: Any = np.float32) -> Shape:
        self.input_shape = _shape(input_shape)
        self.dtype = np.dtype(dtype)
        self._cache.clear()
        self.output_shape = self._output_shape(self.input_shape)
        return self.output_shape

    def _output_shape(self, input_shape: Shape) -> Shape:
        return input_shape

    def param_specs(self) -> list[tuple[str, Shape, Initializer]]:
        return []

    def bind(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        self.params, self.grads = params, grads

    def get_weights(self) -> list[np.ndarray]:
        """Copies of the parameters, then the non-trainable state (Keras' order: kernel, bias; γ, β, mean, var)."""
        return [a.copy() for a in (*self.params.values(), *self.state.values())]

    def set_weights(self, weights: list[np.ndarray]) -> None:
        """Copy ``weights`` (shaped like :meth:`get_weights`) into the layer's buffers."""
        dst = [*self.params.values(), *self.state.values()]
        if len(weights) != len(dst):
            raise ConfigError(f"{self.name} has {len(dst)} weight arrays, got {len(weights)}")
        for d, w in zip(dst, weights):
            w = np.asarray(w)
            if w.shape != d.shape:
                raise ConfigError(f"{self.name}: weight of shape {d.shape}, got {w.shape}")
            d[...] = w

    def count_params(self) -> tuple[int, int]:
        """``(trainable, non_trainable)`` parameter counts."""
        trainable = sum(math.prod(shape) for _, shape, _ in self.param_specs())
        return trainable, sum(a.size for a in self.state.values())

    # -- computation -----------------------------------------------------------------------------
    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad_y: np.ndarray, need_grad_x: bool = True) -> np.ndarray | None:
        raise NotImplementedError

    def penalty(self) -> float:
        """The regularization penalty this layer adds to the loss."""
        return 0.0

    def _buf(self, key: str, shape: Shape, dtype: Any = None) -> np.ndarray:
        """A reusable uninitialised buffer for ``key`` and ``shape``."""
        k = (key, shape)
        b = self._cache.get(k)
        if b is None:
            if len(self._cache) > 32:
                self._cache.clear()
            b = self._cache[k] = np.empty(shape, dtype=self.dtype if dtype is None else dtype)
        return b


class Input(Layer):
    """Declares the input shape (without the batch axis); removed by the model, like Keras' ``Input``."""

    kind = "input"

    def __init__(self, shape: Any, *, name: str | None = None):
        super().__init__(name=name, input_shape=shape)


class Dense(Layer):
    """Fully connected layer :math:`a = \\phi(x W + b)`, with :math:`W` of shape ``(fan_in, units·pieces)``.

    Parameters
    ----------
    units : int
        Output width.
    act : str or Activation, default linear
        Any activation of :data:`initlab.activations.ACTIVATIONS` or ``"softmax"``
        (Keras' name ``activation=`` is accepted too). ``maxout:k`` gives the kernel ``k·units`` columns.
    init : str or Initializer, default ``"glorot_uniform"`` (Keras')
        Kernel initializer (``kernel_initializer=`` accepted too); any of :data:`initlab.initializers.INITIALIZERS`.
    bias_init : str or Initializer, default ``"zeros"`` (``bias_initializer=`` accepted too).
    kernel_regularizer, bias_regularizer : str or Regularizer, optional
        Penalties added to the loss (``"l2:1e-4"``).
    use_bias : bool, default True
    input_dim : int, optional
        Input width for a first layer (Keras').

    Notes
    -----
    Forward: :math:`z = xW + b`, :math:`a = \\phi(z)`. Backward, from :math:`g_a = \\partial L/\\partial a`:
    :math:`g_z = \\phi\\text{.backward}(g_a)`, :math:`\\partial L/\\partial W = x^\\top g_z + \\nabla R(W)`,
    :math:`\\partial L/\\partial b = \\sum_i g_{z,i}`, :math:`\\partial L/\\partial x = g_z W^\\top`.
    """

    kind = "dense"

    def __init__(self, units: int, act: Any = None, init: Any = None, bias_init: Any = None,
                 kernel_regularizer: Any = None, bias_regularizer: Any = None, use_bias: bool = True, *,
                 activation: Any = None, kernel_initializer: Any = None, bias_initializer: Any = None,
                 input_dim: int | None = None, input_shape: Any = None, name: str | None = None):
        if input_dim is not None and input_shape is not None:
            raise ConfigError("give input_dim or input_shape, not both")
        super().__init__(name=name, input_shape=input_dim if input_dim is not None else input_shape)
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units < 1:
            raise ConfigError(f"Dense units must be a positive integer, got {units!r}")
        self.units = int(units)
        self.act: ActivationFn = resolve_activation(_one_of("act", act, "activation", activation))
        spelled = _one_of("init", init, "kernel_initializer", kernel_initializer) or "glorot_uniform"
        self.init: Initializer = get_initializer(spelled)
        self.init_spec: str = spelled.strip() if isinstance(spelled, str) else self.init.spec  # as spelled ("he")
        self.bias_init: Initializer = get_initializer(_one_of("bias_init", bias_init, "bias_initializer",
                                                              bias_initializer) or "zeros")
        self.kernel_regularizer: Regularizer | None = get_regularizer(kernel_regularizer)
        self.bias_regularizer: Regularizer | None = get_regularizer(bias_regularizer)
        self.use_bias = bool(use_bias)
        self.pieces = int(self.act.pieces)
        self._linear = self.act.name == "linear"
        #: LSUV passes used on this layer's kernel (0 for other initializers).
        self.lsuv_passes = 0
        self._x = self._z = self._a = self._gz = self._ctx = None

    def _output_shape(self, input_shape):
        if len(input_shape) != 1:
            raise ConfigError(f"Dense needs a flat input, got shape {input_shape}: put a Flatten() before it")
        return (self.units,)

    @property
    def columns(self) -> int:
        """Pre-activation columns: ``units · pieces``."""
        return self.units * self.pieces

    def param_specs(self):
        specs = [("kernel", (self.input_shape[0], self.columns), self.init)]
        if self.use_bias:
            specs.append(("bias", (self.columns,), self.bias_init))
        return specs

    def bind(self, params, grads):
        super().bind(params, grads)
        self.kernel, self.kernel_grad = params["kernel"], grads["kernel"]
        self.bias = params.get("bias")
        self.bias_grad = grads.get("bias")

    def forward(self, x, training=False):
        z = self._buf("z", (x.shape[0], self.columns))
        np.matmul(x, self.kernel, out=z)
        if self.use_bias:
            z += self.bias
        self._x, self._z = x, z
        if self._linear:
            self._a, self._ctx = z, None
        else:
            self._a, self._ctx = self.act.forward(z)
        return self._a

    def backward(self, grad_y, need_grad_x=True):
        gz = grad_y if self._linear else self.act.backward(self._ctx, grad_y)
        return self.backward_pre(gz, need_grad_x)

    def backward_pre(self, gz: np.ndarray, need_grad_x: bool = True) -> np.ndarray | None:
        """Backward from the gradient with respect to the pre-activation ``z`` (a fused loss starts here)."""
        self._gz = gz
        x = self._x
        np.matmul(x.T, gz, out=self.kernel_grad)
        if self.kernel_regularizer is not None:
            self.kernel_regularizer.add_grad(self.kernel, self.kernel_grad)
        if self.use_bias:
            np.matmul(self._ones(gz.shape[0]), gz, out=self.bias_grad)  # column sums (BLAS gemv: ~2x np.sum)
            if self.bias_regularizer is not None:
                self.bias_regularizer.add_grad(self.bias, self.bias_grad)
        if not need_grad_x:
            return None
        gx = self._buf("gx", x.shape)
        np.matmul(gz, self.kernel.T, out=gx)
        return gx

    def _ones(self, n: int) -> np.ndarray:
        ones = self._cache.get(("ones", n))
        if ones is None:
            ones = self._buf("ones", (n,))
            ones.fill(1)
        return ones

    def penalty(self):
        total = 0.0
        if self.kernel_regularizer is not None:
            total += self.kernel_regularizer.penalty(self.kernel)
        if self.use_bias and self.bias_regularizer is not None:
            total += self.bias_regularizer.penalty(self.bias)
        return total


def _one_of(name: str, value: Any, keras_name: str, keras_value: Any) -> Any:
    if value is not None and keras_value is not None:
        raise ConfigError(f"give {name}= or {keras_name}=, not both")
    return value if value is not None else keras_value


class Activation(Layer):
    """An activation as its own layer: ``Activation("relu")``, ``Activation("softmax")``."""

    kind = "activation"

    def __init__(self, act: Any, *, name: str | None = None, input_shape: Any = None):
        super().__init__(name=name, input_shape=input_shape)
        self.act: ActivationFn = resolve_activation(act)
        if self.act.pieces != 1:
            raise ConfigError(f"{self.act.spec} changes the width: use it as Dense(act='{self.act.spec}')")
        self._ctx = None

    def forward(self, x, training=False):
        a, self._ctx = self.act.forward(x)
        return a

    def backward(self, grad_y, need_grad_x=True):
        return self.act.backward(self._ctx, grad_y) if need_grad_x else None


class Dropout(Layer):
    """Inverted dropout: in training, zero each entry with probability ``rate`` and scale the rest by 1/(1−rate).

    .. math:: y = x \\odot m / (1-p), \\quad m_{ij} \\sim \\text{Bernoulli}(1-p); \\qquad
              \\partial L/\\partial x = g_y \\odot m / (1-p)

    Identity at inference, so the expected activation is the same in both modes. The mask is drawn
    from :attr:`rng` (the model sets it to the ``fit`` generator; standalone, ``seed`` seeds it).
    """

    kind = "dropout"

    def __init__(self, rate: float, *, seed: int | None = None, name: str | None = None, input_shape: Any = None):
        super().__init__(name=name, input_shape=input_shape)
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate < 1:
            raise ConfigError(f"dropout rate must be in [0, 1), got {rate!r}")
        self.rate = float(rate)
        self.seed = seed
        self._mask: np.ndarray | None = None

    def forward(self, x, training=False):
        if not training or self.rate == 0:
            self._mask = None
            return x
        if self.rng is None:
            self.rng = np.random.default_rng(self.seed if self.seed is not None else 0)
        u = self._buf("u", x.shape)
        self.rng.random(out=u, dtype=self.dtype.type)
        keep = self._buf("keep", x.shape, dtype=bool)
        np.greater_equal(u, self.rate, out=keep)
        mask = self._buf("mask", x.shape)
        np.multiply(keep, self.dtype.type(1.0 / (1.0 - self.rate)), out=mask)
        self._mask = mask
        y = self._buf("y", x.shape)
        np.multiply(x, mask, out=y)
        return y

    def backward(self, grad_y, need_grad_x=True):
        if not need_grad_x:
            return None
        if self._mask is None:
            return grad_y
        gx = self._buf("gx", grad_y.shape)
        np.multiply(grad_y, self._mask, out=gx)
        return gx


class BatchNorm(Layer):
    """Batch normalisation (Keras' BatchNormalization: momentum 0.99, ε 1e-3) over the feature axis.

    Training: :math:`\\hat x = (x - \\mu_B)/\\sqrt{\\sigma_B^2 + \\epsilon}`, :math:`y = \\gamma \\hat x + \\beta`
    with the batch mean and (biased) variance, and the moving statistics updated as
    :math:`\\bar\\mu \\leftarrow m \\bar\\mu + (1-m)\\mu_B`, :math:`\\bar\\sigma^2 \\leftarrow m \\bar\\sigma^2 + (1-m)\\sigma_B^2`.
    Inference: :math:`y = \\gamma (x - \\bar\\mu)/\\sqrt{\\bar\\sigma^2 + \\epsilon} + \\beta`.

    Backward (training): :math:`\\partial L/\\partial \\beta = \\sum_i g_i`,
    :math:`\\partial L/\\partial \\gamma = \\sum_i g_i \\hat x_i`, and with :math:`h = \\gamma g`,
    :math:`\\partial L/\\partial x = \\frac{1}{n\\sqrt{\\sigma_B^2+\\epsilon}}\\big(n h - \\sum_i h_i - \\hat x \\sum_i h_i \\hat x_i\\big)`.
    """

    kind = "batch_normalization"

    def __init__(
        self,
        momentum: float = 0.99,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        *,
        name: str | None = None,
        input_shape: Any = None,
    ):
        super().__init__(name=name, input_shape=input_shape)
        if not 0 <= momentum <= 1:
            raise ConfigError(f"BatchNorm momentum must be in [0, 1], got {momentum}")
        if not epsilon > 0:
            raise ConfigError(f"BatchNorm epsilon must be > 0, got {epsilon}")
        self.momentum, self.epsilon = float(momentum), float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self._train_ctx: tuple | None = None

    def build(self, input_shape, dtype=np.float32):
        out = super().build(input_shape, dtype)
        if len(out) != 1:
            raise ConfigError(f"BatchNorm needs a flat input, got shape {out}: put a Flatten() before it")
        d = out[0]
        self.state = {"moving_mean": np.zeros(d, self.dtype), "moving_variance": np.ones(d, self.dtype)}
        return out

    def param_specs(self):
        d = self.input_shape[0]
        specs = []
        if self.scale:
            specs.append(("gamma", (d,), get_initializer("constant:1")))
        if self.center:
            specs.append(("beta", (d,), get_initializer("zeros")))
        return specs

    def forward(self, x, training=False):
        gamma = self.params.get("gamma")
        beta = self.params.get("beta")
        y = self._buf("y", x.shape)
        if not training:
            self._train_ctx = None
            scale = 1.0 / np.sqrt(self.state["moving_variance"] + self.dtype.type(self.epsilon))
            if gamma is not None:
                scale = scale * gamma
            np.subtract(x, self.state["moving_mean"], out=y)
            y *= scale
            if beta is not None:
                y += beta
            return y
        xhat = self._buf("xhat", x.shape)
        np.copyto(xhat, x)
        mu, var, inv = normalize_(xhat, self.epsilon, self._buf("sq", x.shape))
        m = self.momentum
        mm, mv = self.state["moving_mean"], self.state["moving_variance"]
        mm *= m
        mm += (1 - m) * mu
        mv *= m
        mv += (1 - m) * var
        if gamma is not None:
            np.multiply(xhat, gamma, out=y)
        else:
            y[...] = xhat
        if beta is not None:
            y += beta
        self._train_ctx = (xhat, inv)
        return y

    def backward(self, grad_y, need_grad_x=True):
        if self._train_ctx is None:
            raise RuntimeError("BatchNorm.backward needs a training-mode forward pass first")
        xhat, inv = self._train_ctx
        gamma = self.params.get("gamma")
        if "beta" in self.grads:
            np.sum(grad_y, axis=0, out=self.grads["beta"])
        if gamma is not None:
            np.einsum("ij,ij->j", grad_y, xhat, out=self.grads["gamma"])
        if not need_grad_x:
            return None
        h = grad_y * gamma if gamma is not None else grad_y
        gx = normalize_backward(h, xhat, inv, self._buf("gx", grad_y.shape))
        return gx


#: Keras' name.
BatchNormalization = BatchNorm


class Flatten(Layer):
    """Reshape ``(n, d1, d2, …)`` to ``(n, d1·d2·…)`` (a view; the backward pass reshapes back)."""

    kind = "flatten"

    def _output_shape(self, input_shape):
        return (math.prod(input_shape),)

    def forward(self, x, training=False):
        self._in_shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, grad_y, need_grad_x=True):
        return grad_y.reshape(self._in_shape) if need_grad_x else None
