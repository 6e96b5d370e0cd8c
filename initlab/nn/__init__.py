"""A numpy trainer with Keras' vocabulary: ``Sequential``, layers, losses, optimizers, schedules, callbacks.

>>> from initlab import nn
>>> model = nn.Sequential([nn.Input((784,)), nn.Dense(256, act="relu", init="he_normal"),
...                        nn.Dense(10, act="softmax")], seed=0)
>>> model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
>>> history = model.fit(x_train, y_train, epochs=5, batch_size=100,
...                     validation_split=0.1, callbacks=[nn.ActivationStats()])  # doctest: +SKIP
"""

from .callbacks import (Callback, EarlyStopping, EpochLogger, LearningRateScheduler, ProgressBar,
                        ReduceLROnPlateau)
from .callbacks import TerminateOnNaN, TrainingDiverged
from .checkpoint import CSVLogger, ModelCheckpoint
from .layers import Activation, BatchNorm, BatchNormalization, Dense, Dropout, Flatten, Input, Layer
from .losses import (LOSSES, BinaryCrossentropy, CategoricalCrossentropy, Loss, MeanAbsoluteError,
                     MeanSquaredError, SparseCategoricalCrossentropy, get_loss, to_categorical)
from .metrics import (METRICS, Accuracy, BinaryAccuracy, CategoricalAccuracy, Metric, SparseCategoricalAccuracy,
                      get_metric)
from .model import History, Sequential
from .optimizers import OPTIMIZERS, SGD, Adagrad, Adam, Optimizer, RMSprop, get_optimizer
from .regularizers import L1, L1L2, L2, REGULARIZERS, Regularizer, get_regularizer
from .schedules import SCHEDULES, CosineDecay, CyclicLR, ExponentialDecay, Schedule, StepDecay, get_schedule
from .softmax import Softmax
from .stats import ActivationStats

__all__ = [
    # model
    "Sequential", "History",
    # layers
    "Layer", "Input", "Dense", "Activation", "Dropout", "BatchNorm", "BatchNormalization", "Flatten", "Softmax",
    # losses
    "Loss", "LOSSES", "get_loss", "BinaryCrossentropy", "CategoricalCrossentropy", "SparseCategoricalCrossentropy",
    "MeanSquaredError", "MeanAbsoluteError", "to_categorical",
    # optimizers and schedules
    "Optimizer", "OPTIMIZERS", "get_optimizer", "SGD", "Adagrad", "RMSprop", "Adam",
    "Schedule", "SCHEDULES", "get_schedule", "StepDecay", "ExponentialDecay", "CosineDecay", "CyclicLR",
    # regularizers
    "Regularizer", "REGULARIZERS", "get_regularizer", "L1", "L2", "L1L2",
    # metrics
    "Metric", "METRICS", "get_metric", "Accuracy", "BinaryAccuracy", "CategoricalAccuracy",
    "SparseCategoricalAccuracy",
    # callbacks
    "Callback", "EarlyStopping", "LearningRateScheduler", "ReduceLROnPlateau", "ProgressBar", "EpochLogger",
    "ModelCheckpoint", "CSVLogger",
    "ActivationStats",
]
__all__ += ["TerminateOnNaN", "TrainingDiverged"]
