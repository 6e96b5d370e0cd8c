"""The course labs: one configuration per lab (the notes' settings), runs, comparisons and reproduction."""

from .registry import LABS, LabConfig, Note, describe_lab, get_lab, lab_names

__all__ = ["LABS", "LabConfig", "Note", "describe_lab", "get_lab", "lab_names"]
