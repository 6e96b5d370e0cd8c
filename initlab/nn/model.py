"""``Sequential``: a Keras-like model (compile, fit, evaluate, predict, summary, weights) and its ``History``.

Reproducibility: the model's ``seed`` seeds a :class:`numpy.random.SeedSequence`; the weights are drawn
from its first child and every ``fit`` without ``seed=`` draws its shuffling and dropout masks from
the next child, so the same model seed (or the same ``fit(seed=…)``) gives the same history bit for bit.

Speed: all trainable parameters (and gradients, and optimizer state) live in one flat buffer
(:class:`~initlab.nn.params.ParamStore`); layers reuse per-batch-size buffers; a shuffled batch is
gathered with ``np.take(..., out=)`` into a preallocated array; a final sigmoid or softmax is fused
with its cross-entropy (stable, and one pass instead of three).
"""

from __future__ import annotations

from typing import Any, Sequence


import numpy as np
import pandas as pd

from .._spec import ConfigError
from .callbacks import Callback, CallbackList, EpochLogger, ProgressBar
from .epochs import Batches, History, check_fit_numbers
from .layers import Dense, Input, Layer, _shape
from .losses import Loss, get_loss
from .metrics import Metric, get_metric
from .optimizers import Optimizer, get_optimizer
from .params import ParamStore
from .summary import find_layer, summary_table
from .weights_file import copy_into, load_weights, named_arrays, save_weights

__all__ = ["Sequential", "History"]

_DTYPES = {"float32": np.float32, "float64": np.float64}


def _dtype(dtype: Any) -> np.dtype:
    key = np.dtype(dtype).name if not isinstance(dtype, str) else dtype
    if key not in _DTYPES:
        raise ConfigError(f"dtype must be float32 or float64, got {dtype!r}")
    return np.dtype(_DTYPES[key])


class Sequential:
    """A stack of layers trained with a loss and an optimizer, Keras style.

    Parameters
    ----------
    layers : list of Layer
        ``Input(shape)`` first, or ``input_shape=``/``input_dim=`` on the first layer, or build later
        (``build(input_shape)``, or the first ``fit``/``predict`` builds from the data).
    seed : int or None, default 0
        Seeds the weight initialization and, unless ``fit(seed=…)`` is given, shuffling and dropout
        (None draws fresh OS entropy: not reproducible).
    dtype : {"float32", "float64"}
        Parameters and activations (float64 for gradient checks).
    """

    def __init__(self, layers: Sequence[Layer] | None = None, *, seed: int | None = 0, dtype: Any = "float32",
                 name: str = "sequential", input_shape: Any = None):
        self.dtype = _dtype(dtype)
        self.name = name
        self.seed = seed
        seeds = np.random.SeedSequence(seed).spawn(2)
        self._init_seq, self._fit_seq = seeds
        self.layers: list[Layer] = []
        self._input_shape = None if input_shape is None else _shape(input_shape)
        self._counts: dict[str, int] = {}
        self.built = False
        self.store: ParamStore | None = None
        self.loss: Loss | None = None
        self.optimizer: Optimizer | None = None
        self.metrics: list[tuple[str, Metric]] = []
        self.stop_training = False
        self.history: History | None = None
        self._fused = False
        self._metric_specs: list[tuple[str, Metric]] = []
        for layer in layers or []:
            self._append(layer)
        if self._input_shape is not None and self.layers:
            self.build()

    # -- construction ----------------------------------------------------------------------------
    def add(self, layer: Layer) -> None:
        """Append a layer (an ``Input`` only sets the input shape).

        The model builds as soon as it knows its input shape, as Keras; adding a layer to a built model
        rebuilds it, redrawing every weight from the model's seed (the earlier layers get the same values).
        """
        if self.built:
            self.built, self.store = False, None
        self._append(layer)
        if self._input_shape is not None and self.layers:
            self.build()

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """The layer called ``name`` (``"dense_1"``) or at position ``index`` (Keras' ``get_layer``).

        Raises
        ------
        ConfigError
            For a name that is not a layer (the message lists the layers' names) or an index out of range.
        """
        return find_layer(self.layers, name, index)

    def _append(self, layer: Layer) -> None:
        if not isinstance(layer, Layer):
            raise ConfigError(f"Sequential takes layers, got {type(layer).__name__}")
        if isinstance(layer, Input) or (not self.layers and layer.input_shape is not None):
            if self.layers and isinstance(layer, Input):
                raise ConfigError("Input must come first")
            self._input_shape = layer.input_shape
            if isinstance(layer, Input):
                return
        if layer.name is None:
            k = self._counts.get(layer.kind, 0)
            self._counts[layer.kind] = k + 1
            layer.name = layer.kind if k == 0 else f"{layer.kind}_{k}"
        if any(layer.name == other.name for other in self.layers):
            raise ConfigError(f"two layers named '{layer.name}'")
        self.layers.append(layer)

    def build(self, input_shape: Any = None) -> None:
        """Build every layer for ``input_shape`` (without the batch axis) and draw the weights."""
        if input_shape is not None:
            input_shape = _shape(input_shape)
            if self.built and input_shape != self._input_shape:
                raise ConfigError(f"model built for input {self._input_shape}, got {input_shape}")
            self._input_shape = input_shape
        if self.built:
            return
        if self._input_shape is None:
            raise ConfigError("the model has no input shape yet: give Input(shape), input_shape=, or fit it first")
        if not self.layers:
            raise ConfigError("the model has no layers")
        shape = self._input_shape
        self.shapes = [shape]
        for layer in self.layers:
            shape = layer.build(shape, self.dtype)
            self.shapes.append(shape)
        self.store = ParamStore(self.layers, self.dtype, np.random.default_rng(self._init_seq))
        first = next((i for i, l in enumerate(self.layers) if l.param_specs()), len(self.layers))
        self._need_grad_x = [i > first for i in range(len(self.layers))]
        self._outs: list[Any] = [None] * len(self.layers)
        self._gouts: list[Any] = [None] * len(self.layers)
        self.built = True
        self._lsuv_pending = any(isinstance(l, Dense) and l.init.data_dependent for l in self.layers)
        self._has_penalty = any(getattr(l, "kernel_regularizer", None) or getattr(l, "bias_regularizer", None)
                                for l in self.layers)
        self._setup_loss()

    @property
    def output_shape(self) -> tuple[int, ...]:
        return self.shapes[-1]

    # -- compile ---------------------------------------------------------------------------------
    def compile(self, optimizer: Any = "rmsprop", loss: Any = None, metrics: Sequence[Any] | None = None) -> None:
        """Set the loss, the optimizer (a name, a spec or an instance) and the metrics (Keras' defaults)."""
        if loss is None:
            raise ConfigError("compile needs a loss, e.g. loss='categorical_crossentropy'")
        self.loss = get_loss(loss)
        self.optimizer = get_optimizer(optimizer)
        self._metric_specs = []
        for m in metrics or []:
            name = m.lower() if isinstance(m, str) else get_metric(m).name
            self._metric_specs.append((name, get_metric(m)))
        if len({n for n, _ in self._metric_specs}) != len(self._metric_specs):
            raise ConfigError("the same metric is given twice")
        self._setup_loss()

    def _setup_loss(self) -> None:
        """Resolve metrics against the loss and decide whether the last activation fuses with the loss."""
        if not self.built or self.loss is None:
            return
        units = self.output_shape[-1]
        self.metrics = [(n, m.resolve(self.loss, units)) for n, m in self._metric_specs]
        last = self.layers[-1]
        act = getattr(last, "act", None)
        self._fused = (not getattr(self.loss, "from_logits", True) and act is not None
                       and act.name == self.loss.fuses_with)
        self._loss_logits = self.loss.logits_form() if self._fused else None

    def higher_is_better(self, monitor: str) -> bool:
        """Whether a larger value of the log ``monitor`` is better (accuracies) — EarlyStopping's auto mode."""
        name = monitor[4:] if monitor.startswith("val_") else monitor
        for n, m in self.metrics:
            if n == name:
                return m.higher_is_better
        return "acc" in name

    # -- one step --------------------------------------------------------------------------------
    def _forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        outs = self._outs
        for i, layer in enumerate(self.layers):
            x = layer.forward(x, training)
            outs[i] = x
        return x

    def _loss_grad(self, y: np.ndarray, out: np.ndarray) -> tuple[float, np.ndarray, int]:
        """Loss value, gradient, and the index of the layer whose backward receives it."""
        last = len(self.layers) - 1
        if not self._fused:
            value, g = self.loss.value_and_grad(y, out)
            return value, g, last
        layer = self.layers[last]
        logits = layer._z if isinstance(layer, Dense) else (self._outs[last - 1] if last else self._input)
        value, g = self._loss_logits.value_and_grad(y, logits)
        return value, g, last

    def _backward(self, g: np.ndarray, start: int) -> None:
        gouts, need = self._gouts, self._need_grad_x
        layers = self.layers
        if self._fused:
            layer = layers[start]
            gouts[start] = None
            if isinstance(layer, Dense):
                g = layer.backward_pre(g, need[start])
            start -= 1
        for i in range(start, -1, -1):
            gouts[i] = g
            g = layers[i].backward(g, need[i])

    def _penalty(self) -> float:
        return sum(layer.penalty() for layer in self.layers) if self._has_penalty else 0.0

    def train_step(self, x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        """Forward, loss, backward and one optimizer update on a prepared batch → ``(loss, output)``."""
        self._input = x
        out = self._forward(x, True)
        value, g, start = self._loss_grad(y, out)
        self._backward(g, start)
        value += self._penalty()
        self.optimizer.apply(self.store.params, self.store.grads)
        return value, out

    # -- data --------------------------------------------------------------------------------------
    def _prepare(self, x: Any, y: Any = None, need_loss: bool = True) -> tuple[np.ndarray, Any]:
        x = np.asarray(x)
        if x.ndim < 2:
            raise ConfigError(f"inputs need a batch axis: got shape {x.shape}")
        if not self.built:
            self.build(x.shape[1:])
        if tuple(x.shape[1:]) != self._input_shape:
            raise ConfigError(f"inputs of shape {x.shape} do not match the model input {(None, *self._input_shape)}")
        x = np.ascontiguousarray(x, dtype=self.dtype)
        if need_loss and self.loss is None:
            raise ConfigError("compile the model first (model.compile(optimizer=..., loss=...))")
        if y is None:
            return x, None
        n_y = len(y) if hasattr(y, "__len__") else None
        if n_y is not None and np.ndim(y) >= 1 and n_y != x.shape[0]:
            raise ConfigError(f"x and y disagree: x has {x.shape[0]} samples, y has {n_y}")
        y = self.loss.prepare_targets(y, (x.shape[0], *self.output_shape), self.dtype)
        return x, y

    def _check_optimizer(self) -> None:
        size, dtype = self.store.params.shape[0], self.dtype
        if self.optimizer.built_for != (size, dtype):
            self.optimizer.build(size, dtype)

    # -- fit -----------------------------------------------------------------------------------
    def fit(self, x: Any, y: Any, batch_size: int | None = None, epochs: int = 1, verbose: int = 1,
            callbacks: Sequence[Callback] | None = None, validation_split: float = 0.0,
            validation_data: tuple | None = None, shuffle: bool = True, seed: int | None = None,
            initial_epoch: int = 0) -> History:
        """Train for ``epochs`` epochs of mini-batches and return the :class:`History`.

        Parameters follow Keras: ``validation_split`` takes the *last* fraction of ``x``/``y`` (before
        shuffling); ``validation_data=(x_val, y_val)`` overrides it. ``verbose`` 0 is silent, 1 shows a
        progress bar per epoch (after 1 s), 2 prints one line per epoch. ``seed`` seeds shuffling and
        dropout (default: the model's next seed).
        """
        x, y = self._prepare(x, y)
        check_fit_numbers(batch_size, epochs, validation_split)
        x, y, val = self._split_validation(x, y, validation_split, validation_data)
        n = x.shape[0]
        if n == 0:
            raise ConfigError("no training samples")
        bs = min(batch_size or 32, n)
        steps = -(-n // bs)
        rng = np.random.default_rng(seed if seed is not None else self._fit_seq.spawn(1)[0])
        for layer in self.layers:
            layer.rng = rng
        self._check_optimizer()
        cbs = list(callbacks or [])
        if verbose == 1:
            cbs.append(ProgressBar())
        elif verbose >= 2:
            cbs.append(EpochLogger())
        clist = CallbackList(cbs, self, {"epochs": epochs, "steps": steps, "batch_size": bs, "samples": n})
        batches = Batches(x, y, bs, shuffle)
        rows: list[dict[str, float]] = []
        self.stop_training = False
        clist.on_train_begin()
        if self._lsuv_pending:
            self._lsuv(x[:bs])
        for epoch in range(initial_epoch, epochs):
            clist.on_epoch_begin(epoch)
            logs = self._train_epoch(batches, rng, clist)
            if val is not None:
                logs.update((f"val_{k}", v) for k, v in self._evaluate(*val, batch_size=None).items())
            logs["learning_rate"] = self.optimizer.last_lr
            clist.on_epoch_end(epoch, logs)
            rows.append(logs)
            if self.stop_training:
                break
        clist.on_train_end()
        index = pd.Index(range(initial_epoch + 1, initial_epoch + len(rows) + 1), name="epoch")
        self.history = History(rows, index=index)
        return self.history

    def _split_validation(self, x: np.ndarray, y: np.ndarray, split: float, data: tuple | None):
        """``(x, y, val)``: ``val`` is the prepared ``validation_data``, else the last ``split`` of ``x``/``y``
        (then removed from the training data), else None."""
        if data is not None:
            if len(data) != 2:
                raise ConfigError("validation_data must be (x_val, y_val)")
            return x, y, self._prepare(*data)
        if split:
            cut = int(x.shape[0] * (1 - split))
            if cut == 0 or cut == x.shape[0]:
                raise ConfigError(f"validation_split {split} leaves an empty split of {x.shape[0]} samples")
            return x[:cut], y[:cut], (x[cut:], y[cut:])
        return x, y, None

    def _train_epoch(self, batches: "Batches", rng: np.random.Generator, clist: CallbackList) -> dict[str, float]:
        """One pass over the (reshuffled) batches; returns the epoch's mean loss and metrics."""
        metrics = self.metrics
        loss_sum, seen = 0.0, 0
        totals = [0.0] * len(metrics)
        batch_logs = bool(clist.batch_end)
        for b, (xb, yb) in enumerate(batches.epoch(rng)):
            for cb in clist.batch_begin:
                cb.on_train_batch_begin(b)
            value, out = self.train_step(xb, yb)
            m = xb.shape[0]
            loss_sum += value * m
            seen += m
            for k, (_, metric) in enumerate(metrics):
                totals[k] += metric.batch_total(yb, out)
            if batch_logs:
                logs = {"loss": loss_sum / seen}
                logs.update((name, t / seen) for (name, _), t in zip(metrics, totals))
                for cb in clist.batch_end:
                    cb.on_train_batch_end(b, logs)
        logs = {"loss": loss_sum / seen}
        logs.update((name, t / seen) for (name, _), t in zip(metrics, totals))
        return logs

    def _lsuv(self, xb: np.ndarray) -> None:
        """Rescale every data-dependent (LSUV) kernel in order, on the inference-mode input it sees."""
        h = xb
        for layer in self.layers:
            if isinstance(layer, Dense) and layer.init.data_dependent:
                w, passes, _ = layer.init.rescale(layer.kernel, h, layer.bias)
                layer.kernel[...] = w
                layer.lsuv_passes = int(passes)
            h = layer.forward(h, False)
        self._lsuv_pending = False

    # -- inference -------------------------------------------------------------------------------
    def predict(self, x: Any, batch_size: int | None = None, verbose: int = 0) -> np.ndarray:
        """Model outputs in inference mode (probabilities after a sigmoid/softmax), shape (n, *output_shape)."""
        x, _ = self._prepare(x, need_loss=False)
        n = x.shape[0]
        out = np.empty((n, *self.output_shape), dtype=self.dtype)
        bs = batch_size or 1024
        for lo in range(0, n, bs):
            out[lo:lo + bs] = self._forward(x[lo:lo + bs], False)
        return out

    def _evaluate(self, x: np.ndarray, y: np.ndarray, batch_size: int | None) -> dict[str, float]:
        n = x.shape[0]
        bs = batch_size or 1024
        loss_sum = 0.0
        totals = [0.0] * len(self.metrics)
        for lo in range(0, n, bs):
            xb, yb = x[lo:lo + bs], y[lo:lo + bs]
            self._input = xb
            out = self._forward(xb, False)
            value = self._loss_grad(yb, out)[0]
            loss_sum += value * xb.shape[0]
            for k, (_, metric) in enumerate(self.metrics):
                totals[k] += metric.batch_total(yb, out)
        logs = {"loss": loss_sum / n + self._penalty()}
        logs.update((name, t / n) for (name, _), t in zip(self.metrics, totals))
        return logs

    def evaluate(self, x: Any, y: Any, batch_size: int | None = None, verbose: int = 0) -> pd.Series:
        """Loss (with the regularization penalty, as Keras) and metrics in inference mode.

        Returns a :class:`pandas.Series` indexed ``loss``, then the metric names: ``loss, acc =
        model.evaluate(x, y)`` unpacks like Keras, and ``result["accuracy"]`` works too.
        """
        x, y = self._prepare(x, y)
        return pd.Series(self._evaluate(x, y, batch_size), name="evaluate", dtype=float)

    # -- weights -------------------------------------------------------------------------------
    def _named_arrays(self) -> list[tuple[str, np.ndarray]]:
        self._require_built()
        return named_arrays(self.layers)

    def _require_built(self) -> None:
        """Build now if the input shape is known (as Keras does for a model with an ``Input``)."""
        if not self.built:
            if self._input_shape is None:
                raise ConfigError("the model is not built yet (fit it, or call build(input_shape))")
            self.build()

    def get_weights(self) -> list[np.ndarray]:
        """Copies of every weight, layer by layer (kernel, bias; BatchNorm: gamma, beta, moving mean, variance)."""
        return [a.copy() for _, a in self._named_arrays()]

    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        """Set every weight from a list shaped like :meth:`get_weights` (copied into the model's buffers)."""
        copy_into(self._named_arrays(), weights)

    def save_weights(self, path: Any) -> None:
        """Write every weight to an ``.npz`` file atomically (``layer/param`` keys, no pickled objects)."""
        save_weights(self, path)

    def load_weights(self, path: Any) -> None:
        """Read weights written by :meth:`save_weights`, validated before anything large is allocated
        (:func:`initlab.nn.weights_file.load_weights`)."""
        load_weights(self, path)

    # -- description ---------------------------------------------------------------------------
    def count_params(self) -> int:
        """Total parameters (trainable and non-trainable)."""
        self._require_built()
        return sum(sum(layer.count_params()) for layer in self.layers)

    def summary_str(self) -> str:
        """The Keras-style table of layers, output shapes and parameter counts."""
        self._require_built()
        rows = [(layer.name, type(layer).__name__, (None, *shape), *layer.count_params())
                for layer, shape in zip(self.layers, self.shapes[1:])]
        return summary_table(self.name, rows, self.dtype.itemsize)

    def summary(self, print_fn: Any = print) -> None:
        """Print :meth:`summary_str` (Keras' ``model.summary()``)."""
        print_fn(self.summary_str())

    def __repr__(self) -> str:
        return f"Sequential(name={self.name!r}, layers={[l.name for l in self.layers]}, built={self.built})"

