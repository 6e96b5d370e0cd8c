"""The course labs with the notes' settings as defaults: :data:`LABS`, :func:`get_lab`, :func:`describe_lab`.

Every lab of the course notes is one :class:`~initlab.labs.config.LabConfig`. Its defaults are the settings
of the notes' code (model, preprocessing, initializers, optimizer, epochs, batch, split, metric); where the
notes say nothing, Keras' defaults apply: Glorot-uniform kernels, zero biases and the optimizers' default
learning rates. The notes ran two frameworks, and their defaults differ:

* TensorFlow 2.0 beta (``pima-logreg``): ``tf.random_normal_initializer()`` has stddev 0.05, not 1.
* TensorFlow 1.x (``mnist-mlp``, ``boston-tf``, ``iris-tf``): ``tf.random_normal(shape)`` has stddev 1;
  ``tf.contrib.layers.xavier_initializer()`` is uniform by default (``xavier_uniform``); TF's
  ``he_normal`` is a *truncated* normal, i.e. Keras' ``variance_scaling:scale=2`` (fan-in, truncated at
  2σ and rescaled so the variance is 2/fan_in; initlab's ``he_normal`` draws the same law).

Each lab keeps the notes' numbers (:attr:`LabConfig.notes`) and a sentence on how the notes ran it
(:attr:`LabConfig.notes_text`); ``initlab labs`` shows both.
"""

from __future__ import annotations

from typing import Any

from .._spec import UnknownNameError
from .config import KINDS, LabConfig, Note, parse_override

__all__ = ["LabConfig", "Note", "LABS", "KINDS", "get_lab", "lab_names", "parse_override", "describe_lab",
           "TF_HE_NORMAL"]

#: TensorFlow's ``he_normal``: fan-in variance 2/n from a normal truncated at 2σ (Keras' VarianceScaling).
TF_HE_NORMAL = "variance_scaling:scale=2"

_TRAINING_LABS = [
    LabConfig(
        name="pima-logreg", title="Logistic regression on Pima diabetes, full-batch gradient descent",
        dataset="pima", preprocess="minmax", task="binary", hidden=(), out_act="sigmoid",
        init="normal:0.05", bias_init="normal:0.05", loss="binary_crossentropy", optimizer="sgd", lr=0.1,
        epochs=1000, batch_size=None, validation="none", eval_on="train", metrics=("accuracy",),
        notes=(Note("train_accuracy", 0.720), Note("train_loss", 0.559), Note("loss@10", 0.6707),
               Note("loss@100", 0.6451)),
        notes_text="TF 2.0 beta: min-max scaling (eps 1e-7), W and b from tf.random_normal_initializer() "
                   "(stddev 0.05), gradient descent lr 0.1, 1000 steps; the notes' loss is 0.6707 at step 10 "
                   "and 0.6451 at step 100",
    ),
    LabConfig(
        name="mnist-softmax", title="Softmax regression 784->10 on MNIST, Adam",
        dataset="mnist", preprocess="scale255", task="multiclass", hidden=(), out_act="softmax",
        init="normal:0.05", loss="categorical_crossentropy", optimizer="adam", lr=1e-3,
        epochs=20, batch_size=100, notes=(Note("test_accuracy", 0.927),),
        notes_text="784->10 softmax, RandomNormal(0, 0.05) kernel, Adam 1e-3, batch 100, 20 epochs; the notes "
                   "then switch it to Fashion-MNIST (--set dataset=fashion-mnist) and quote no number",
    ),
    LabConfig(
        name="mnist-mlp", title="784-256-256-256-256-10 ReLU MLP on MNIST, Xavier or He init (TF 1.x)",
        dataset="mnist", preprocess="scale255", task="multiclass", hidden=(256, 256, 256, 256), act="relu",
        out_act="softmax", init="xavier_uniform", bias_init="normal:1", loss="categorical_crossentropy",
        optimizer="adam", lr=1e-3, epochs=15, batch_size=100,
        notes=(Note("test_accuracy", 0.9805, "init=xavier_uniform"),
               Note("test_accuracy", 0.9784, f"init={TF_HE_NORMAL}")),
        notes_text="TF 1.x: 4 x 256 ReLU, kernels tf.contrib.layers.xavier_initializer() (uniform: "
                   f"--init xavier_uniform) or TF's he_normal (truncated: --init {TF_HE_NORMAL}), biases "
                   "tf.random_normal (stddev 1), Adam 1e-3, batch 100, 15 epochs",
    ),
    LabConfig(
        name="pima-mlp", title="8-12-8-1 MLP on Pima diabetes, evaluated on its training data",
        dataset="pima", preprocess="none", task="binary", hidden=(12, 8), act="relu", out_act="sigmoid",
        loss="binary_crossentropy", optimizer="adam", epochs=200, batch_size=10, validation="none",
        eval_on="train", notes=(Note("train_accuracy", 0.784),),
        notes_text="raw features, 12-8 ReLU + sigmoid, Adam, 200 epochs, batch 10, accuracy on the training data",
    ),
    LabConfig(
        name="mnist-dense512", title="784-512-10 ReLU/softmax on MNIST, RMSprop",
        dataset="mnist", preprocess="scale255", task="multiclass", hidden=(512,), act="relu",
        out_act="softmax", loss="categorical_crossentropy", optimizer="rmsprop", epochs=5, batch_size=128,
        notes=(Note("test_accuracy", 0.9787),),
        notes_text="pixels / 255, 512 ReLU + softmax, RMSprop (lr 1e-3), 5 epochs, batch 128",
    ),
    LabConfig(
        name="imdb-mlp", title="Multi-hot 10,000-word sentiment MLP 16-16-1, RMSprop",
        dataset="imdb", preprocess="multi_hot", task="binary", hidden=(16, 16), act="relu", out_act="sigmoid",
        loss="binary_crossentropy", optimizer="rmsprop", epochs=20, batch_size=512, validation="holdout:10000",
        num_words=10000, notes=(Note("test_accuracy", 0.849),),
        notes_text="Keras IMDB (25k/25k), multi-hot 10,000 words, 16-16 ReLU + sigmoid, RMSprop, 20 epochs, "
                   "batch 512, first 10,000 training reviews held out; without it: the movie-review polarity set",
    ),
    LabConfig(
        name="boston-regression", title="13-8-8-8-8-1 ReLU regression on Boston housing, RMSprop + MSE",
        dataset="boston", preprocess="none", task="regression", hidden=(8, 8, 8, 8), act="relu", out_act="relu",
        loss="mse", optimizer="rmsprop", lr=1e-3, epochs=200, batch_size=16, validation="test",
        metrics=("mae",), redraw_dead=10, notes=(Note("test_mse", 32.2), Note("test_mae", 4.01)),
        notes_text="Keras 404/102 split, raw features, 4 x 8 ReLU, ReLU output (as in the notes), "
                   "RMSprop 1e-3, MSE, 200 epochs, batch 16; a network whose ReLU output is 0 for every input "
                   "at init (dead: it can never learn) is shown and redrawn with the next seed (up to 10 draws)",
    ),
    LabConfig(
        name="boston-tf", title="The notes' plain-TensorFlow Boston regression: full-batch RMSprop, 200 steps",
        dataset="boston", preprocess="none", task="regression", hidden=(8, 8, 8, 8), act="relu", out_act="relu",
        bias_init="normal:1", loss="mse", optimizer="rmsprop", lr=1e-3, epochs=200, batch_size=None,
        validation="test", metrics=("mae",), redraw_dead=10, notes=(Note("test_mse", 94.78),),
        notes_text="TF 1.x: raw features, full-batch RMSprop 1e-3 for 200 steps, biases tf.random_normal "
                   "(stddev 1); network, split and kernels as the Keras lab (tf.get_variable's Glorot-uniform)",
    ),
    LabConfig(
        name="iris-mlp", title="4-32-32-32-3 ReLU/softmax on iris, 30% test split",
        dataset="iris", preprocess="none", task="multiclass", hidden=(32, 32, 32), act="relu", out_act="softmax",
        loss="categorical_crossentropy", optimizer="adam", epochs=200, batch_size=16, test_split=0.3,
        split_seed=1234, notes=(Note("test_accuracy", 0.978),),
        notes_text="one-hot species, 3 x 32 ReLU + softmax, Adam, 200 epochs, batch 16, 30% test split "
                   "(scikit-learn train_test_split order, random_state 1234)",
    ),
    LabConfig(
        name="iris-tf", title="The notes' plain-TensorFlow iris: a ReLU on the logits before softmax cross-entropy",
        dataset="iris", preprocess="none", task="multiclass", hidden=(32, 32, 32), act="relu", out_act="relu",
        loss="categorical_crossentropy:from_logits=true", optimizer="adam", epochs=200, batch_size=16,
        test_split=0.3, split_seed=1234, notes=(Note("test_accuracy", 0.9778),),
        notes_text="TF 1.x: logits = relu(x W + b), loss softmax_cross_entropy_with_logits on them; network, "
                   "split, Adam, epochs and batch as the Keras lab",
    ),
]

_STUDY_LABS = [
    LabConfig(
        name="init-histograms",
        title="Activation histograms at init: tanh with N(0,0.01), N(0,1), Xavier; ReLU with Xavier, He",
        kind="study", task="none", validation="none",
        variants=("tanh/normal:0.01", "tanh/normal:1", "tanh/xavier", "relu/xavier", "relu/he"),
        params=(("depth", 10), ("width", 500), ("batch", 1000)),
        notes_text="10 layers of 500 units, 1000 Gaussian inputs; per-layer activation histograms",
    ),
    LabConfig(
        name="activations",
        title="Every activation and its derivative, with saturation, centring and dead units measured",
        kind="study", task="none", validation="none",
        params=(("depth", 10), ("width", 256), ("batch", 512), ("range", 6.0)),
        notes_text="sigmoid/tanh saturate, sigmoid is not zero-centred, ReLU units can die",
    ),
    LabConfig(
        name="learning-rate", title="Learning rates (too small, good, too large) and schedules on an MNIST subset",
        kind="study", dataset="mnist", preprocess="scale255", task="multiclass", hidden=(128,), act="relu",
        optimizer="sgd", lr=0.1, epochs=10, batch_size=64, subset=6000,
        variants=("lr=0.001", "lr=0.1", "lr=3", "step", "exponential", "cyclic"),
        params=(("step_every", 3), ("step_factor", 0.5), ("exp_rate", 0.8), ("cyc_low", 0.01),
                ("cyc_high", 0.3), ("cyc_half", 2)),
        notes_text="plain SGD on 6,000 MNIST digits: 0.001 crawls, 0.1 learns, 3 blows up (loss jumps, then chance "
                   "level); the schedules start at 0.1 (the cyclic one swings between 0.01 and 0.3)",
    ),
    LabConfig(
        name="regularization", title="None vs L2 vs dropout vs BatchNorm vs early stopping: generalization gap",
        kind="study", dataset="mnist", preprocess="scale255", task="multiclass", hidden=(256, 256), act="relu",
        optimizer="adam", lr=1e-3, epochs=20, batch_size=64, subset=3000, validation="split:0.2",
        variants=("none", "l1", "l2", "elastic_net", "dropout", "batchnorm", "early_stopping"),
        params=(("l1", 1e-4), ("l2", 1e-3), ("dropout", 0.5), ("patience", 3)),
        notes_text="a small MNIST subset to make overfitting visible; train/validation curves and the final gap; "
                   "dropout's training accuracy with the masks on (train mode) beside inference mode's",
    ),
    LabConfig(
        name="loss-comparison", title="Same 33% error, different losses: cross-entropy vs squared error",
        kind="study", task="none", validation="none",
        notes=(Note("ce_model_a", 1.38), Note("ce_model_b", 0.64), Note("mse_model_a", 0.81),
               Note("mse_model_b", 0.34), Note("error_model_a", 1 / 3), Note("error_model_b", 1 / 3)),
        notes_text="3 samples, 3 classes; both models get one wrong, B is more confident where right",
    ),
]

_LESSON_LABS = [
    LabConfig(
        name="preprocessing", title="Zero-centring, normalisation, PCA and whitening: the first layer at init and "
                                    "training speed, on Pima and MNIST",
        kind="study", task="none", hidden=(32,), act="relu", optimizer="sgd", lr=0.01, epochs=5, batch_size=32,
        variants=("none", "minmax", "center", "standardize", "pca", "whiten"),
        params=(("datasets", "pima,mnist"), ("pima_hidden", 12), ("mnist_hidden", 64), ("mnist_subset", 2000),
                ("bins", 40)),
        notes_text="the same network from the same init under each preprocessing; z = xW + b of the first layer "
                   "at init, then plain SGD (lr 0.01, 5 epochs): raw features give huge pre-activations",
    ),
    LabConfig(
        name="zero-centred", title="Sigmoid is not zero-centred: same-sign weight gradients and the zig-zag",
        kind="study", task="none", validation="none", variants=("sigmoid", "tanh"),
        params=(("depth", 4), ("width", 64), ("batch", 64), ("steps", 60), ("lr", 0.2)),
        notes_text="after a sigmoid every input of the next layer is > 0, so the gradient on a unit's weights "
                   "has one sign for one sample; the 2-parameter toy then zig-zags",
    ),
    LabConfig(
        name="mse-vs-ce", title="MSE against cross-entropy far from the answer: the output gradient against p",
        kind="study", task="none", validation="none", params=(("classes", 10),),
        notes_text="with a sigmoid or softmax output, MSE's gradient vanishes when the model is confidently "
                   "wrong (p -> 0); cross-entropy's stays near 1",
    ),
    LabConfig(
        name="dead-relu-lr", title="Large learning rates kill ReLUs: dead hidden units over training",
        kind="study", dataset="mnist", preprocess="scale255", task="multiclass", hidden=(256, 256), act="relu",
        optimizer="sgd", epochs=5, batch_size=64, subset=3000, validation="none",
        variants=("lr=0.01", "lr=0.1", "lr=1", "lr=3"), params=(("probe", 1000),),
        notes_text="plain SGD on 3,000 MNIST digits; a unit is dead when it is 0 for all 1,000 probe inputs",
    ),
    LabConfig(
        name="batchnorm-batch", title="Batch norm with small batches: noisy batch statistics, accuracy against batch",
        kind="study", dataset="mnist", preprocess="scale255", task="multiclass", hidden=(128, 128), act="relu",
        optimizer="adam", lr=1e-3, epochs=2, batch_size=32, subset=2000, validation="none",
        variants=("none", "batchnorm"), params=(("batches", "2,4,16,64"), ("draws", 200)),
        notes_text="batch mean/variance noise of the first layer at init against 1/sqrt(B); the same MLP with and "
                   "without BatchNorm trained at each batch size (2 epochs, Adam, 2,000 digits)",
    ),
    LabConfig(
        name="model-size", title="Model size against the generalisation gap",
        kind="study", dataset="mnist", preprocess="scale255", task="multiclass", act="relu", optimizer="adam",
        lr=1e-3, epochs=20, batch_size=64, subset=1000, validation="split:0.2",
        variants=("4", "16", "64", "256", "1024"),
        notes_text="one hidden layer of each width on 800 MNIST digits (200 held out), 20 epochs of Adam",
    ),
]

_LAB_LIST = _TRAINING_LABS + _STUDY_LABS + _LESSON_LABS


#: Lab name -> default configuration (the notes' settings).
LABS: dict[str, LabConfig] = {lab.name: lab for lab in _LAB_LIST}


def lab_names() -> list[str]:
    """Lab names in the order of the notes."""
    return list(LABS)


def get_lab(name: str | LabConfig, **overrides: Any) -> LabConfig:
    """The default configuration of lab ``name`` with ``overrides`` applied.

    Raises
    ------
    UnknownNameError
        For a name that is not a lab (the message gives the closest match).
    """
    if isinstance(name, LabConfig):
        return name.replace(**overrides) if overrides else name
    key = str(name).strip().lower().replace("_", "-")
    if key not in LABS:
        raise UnknownNameError("lab", str(name), lab_names())
    cfg = LABS[key]
    return cfg.replace(**overrides) if overrides else cfg


def describe_lab(cfg: LabConfig) -> str:
    """One line of settings: ``784-256-...-10 relu/softmax, init, optimizer lr, epochs x batch``."""
    if cfg.kind == "study":
        return cfg.notes_text
    layers = "-".join(str(h) for h in cfg.hidden) or "linear"
    lr = "default lr" if cfg.lr is None else f"lr {cfg.lr:g}"
    batch = "full batch" if cfg.batch_size is None else f"batch {cfg.batch_size}"
    return (f"{cfg.dataset}: {layers} {cfg.act if cfg.hidden else ''}{'/' if cfg.hidden else ''}{cfg.out_act}, "
            f"init {cfg.init}, bias {cfg.bias_init}, {cfg.optimizer} {lr}, {cfg.epochs} epochs, {batch}")
