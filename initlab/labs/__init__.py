"""The course labs: one configuration per lab (the notes' settings), runs, comparisons and reproduction.

>>> from initlab.labs import get_lab, run_lab
>>> res = run_lab("mnist-softmax", epochs=1)          # doctest: +SKIP
>>> res.notes_table()                                  # the notes' 0.927 beside ours  # doctest: +SKIP

==================  ===========================================================================
:mod:`.registry`    :class:`LabConfig` per lab (:data:`LABS`), :func:`get_lab`, overrides, JSON
:mod:`.data`        loading, the notes' splits and preprocessing (:func:`load_lab_data`)
:mod:`.runs`        :func:`run_lab` → :class:`RunResult`; :func:`save_run` (run directory)
:mod:`.studies`     init-histograms, activations, learning-rate, regularization, loss-comparison
:mod:`.compare`     :func:`compare_inits`: initializers × seeds beside the simulation at init
:mod:`.reproduce`   :func:`reproduce`: every lab at the notes' settings, notes vs ours
:mod:`.mistakes`    mistake analysis tables (wrong answers, confusion matrix)
==================  ===========================================================================
"""

from .compare import Comparison, compare_inits
from .data import LabData, load_lab_data
from .registry import LABS, LabConfig, Note, describe_lab, get_lab, lab_names
from .reproduce import reproduce
from .runs import RunResult, run_lab, save_run

__all__ = [
    "LABS", "LabConfig", "Note", "describe_lab", "get_lab", "lab_names",
    "LabData", "load_lab_data",
    "RunResult", "run_lab", "save_run",
    "Comparison", "compare_inits",
    "reproduce",
]
