"""The course labs: one configuration per lab (the notes' settings), runs, comparisons and reproduction.

>>> from initlab.labs import get_lab, run_lab
>>> res = run_lab("mnist-softmax", epochs=1)          # doctest: +SKIP
>>> res.notes_table()                                  # the notes' 0.927 beside ours  # doctest: +SKIP

========================  =====================================================================================
:mod:`.config`            :class:`LabConfig` (frozen, validated, JSON), :class:`Note`, ``--set`` overrides
:mod:`.registry`          the labs at the notes' settings (:data:`LABS`), :func:`get_lab`
:mod:`.data`              loading, the notes' splits and preprocessing (:func:`load_lab_data`)
:mod:`.training`          settings checked before data, model drawn (dead outputs redrawn), fitted, evaluated
:mod:`.result`            :class:`RunResult`, the notes' numbers beside ours (:func:`notes_table`)
:mod:`.runs`              :func:`run_lab` → :class:`RunResult`; :func:`save_run` (run directory)
:mod:`.studies`           the study labs (init-histograms, activations, learning-rate, regularization, ...)
:mod:`.lessons`           mse-vs-ce and zero-centred: output gradients, same-sign weight gradients, the zig-zag
:mod:`.lessons_training`  preprocessing, dead-relu-lr, batchnorm-batch, model-size
:mod:`.compare`           :func:`compare_inits`: initializers × seeds beside the simulation at init
:mod:`.reproduce`         :func:`reproduce`: every lab at the notes' settings, notes vs ours
:mod:`.mistakes`          mistake analysis tables (wrong answers, confusion matrix)
========================  =====================================================================================
"""

from .compare import Comparison, compare_inits
from .data import LabData, load_lab_data
from .config import LabConfig, Note
from .registry import LABS, describe_lab, get_lab, lab_names
from .reproduce import reproduce
from .result import RunResult
from .runs import run_lab, save_run

__all__ = [
    "LABS", "LabConfig", "Note", "describe_lab", "get_lab", "lab_names",
    "LabData", "load_lab_data",
    "RunResult", "run_lab", "save_run",
    "Comparison", "compare_inits",
    "reproduce",
]
