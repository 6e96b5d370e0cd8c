"""When a new sweep definition extends a stored one, or is a part of it, and what differs when neither.

A definition *extends* a stored one when it has the same fields, zip groups and ``keep``, and every value list
(and every zip group's list of tuples) contains the stored one. Two relaxations keep a store useful as a sweep
grows:

- a one-value setting of the stored sweep may become an axis that holds that value (``--batch 1000,64`` on a
  store made at the default batch 1000); the stored points get that value (:func:`backfill`);
- a stored ``--bias-init``/``--init`` that one of the new ``--sigma-b2``/``--sigma-w2`` values means exactly
  (``zeros`` is :math:`\\sigma_b^2 = 0`) counts as that value.

Messages name the command-line options (``--sigma-b2``), not the config fields.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from .axes import Grid, _config_from, _field_value

__all__ = ["extension_of", "backfill", "option_name"]


def option_name(axis: str) -> str:
    """The command-line option of an axis (``bias_init`` -> ``--bias-init``), for messages."""
    return "--" + axis.replace("_", "-")


#: A native axis and the SimConfig field it sets (a store made without the one holds the other).
_NATIVE_FIELD = {"sigma_w2": "init", "sigma_b2": "bias_init"}


def _as_native(grid: Grid, other: Grid) -> Grid:
    """``grid`` with each one-value ``init``/``bias_init`` that ``other`` writes as its native axis rewritten as
    that axis's value (``bias_init`` zeros is ``sigma_b2`` 0), where one of ``other``'s values means exactly it."""
    fields = dict(grid.fields)
    for native, field in _NATIVE_FIELD.items():
        if native in other.fields and field in fields and native not in fields and field not in grid.given:
            for v in other.fields[native]:
                if _field_value(_config_from({field: fields[field]}, {native: v}), field) == fields[field][0]:
                    fields = {(native if k == field else k): ((v,) if k == field else x) for k, x in fields.items()}
                    break
    return dataclasses.replace(grid, fields=fields)


def extension_of(new: Grid, old: Grid) -> str:
    """'' when ``new`` equals or extends ``old`` (same axes, zip groups and keep; every value list a superset; a
    one-value setting of ``old`` may become an axis of ``new`` holding that value, ``--bias-init zeros`` may
    become ``--sigma-b2`` holding 0), else the first difference, in words that name the options."""
    old = _as_native(old, new)
    if new.keep != old.keep:
        return f"--keep is '{old.keep}' in the store, '{new.keep}' now"
    if set(new.fields) != set(old.fields):
        a = sorted(set(new.fields) ^ set(old.fields))[0]
        pair = next(((n, f) for n, f in _NATIVE_FIELD.items() if a in (n, f)), None)
        if pair:
            mine, theirs = pair if pair[0] in new.fields else pair[::-1]
            return (f"the store sets the {'weights' if pair[0] == 'sigma_w2' else 'biases'} by {option_name(theirs)} "
                    f"{', '.join(map(str, old.fields[theirs]))}, this command by {option_name(mine)} "
                    f"{', '.join(map(str, new.fields[mine]))}")
        here, there = ("here", "not in the store") if a in new.fields else ("in the store", "not here")
        return f"{option_name(a)} is given {here} but {there}"
    if sorted(map(sorted, new.zips)) != sorted(map(sorted, old.zips)):
        return "the --zip groups differ"
    for z in old.zips:
        zn = next(g for g in new.zips if sorted(g) == sorted(z))
        old_t = set(old.group_values(z))
        new_t = {tuple(t[zn.index(a)] for a in z) for t in new.group_values(zn)}
        if not old_t <= new_t:
            return f"--zip group {','.join(z)} drops pairs"
    for k, v in old.fields.items():
        missing = [x for x in v if x not in new.fields[k]]
        if missing:
            added = next(((a, x) for a, x in new.fields.items() if any(y not in old.fields[a] for y in x)), None)
            if added and added[0] != k:  # widening one axis while narrowing another
                extra = [y for y in added[1] if y not in old.fields[added[0]]]
                return (f"{option_name(added[0])} adds {', '.join(map(str, extra))} while {option_name(k)} leaves "
                        f"out {', '.join(map(str, missing))} of the store; to add points, give every stored value")
            return (f"{option_name(k)} is {', '.join(map(str, new.fields[k]))} here but "
                    f"{', '.join(map(str, v))} in the store")
    return ""


def backfill(new: Grid, old: Grid) -> dict[str, Any]:
    """The values that the points of ``old`` hold on the axes that ``new`` (which extends it) adds: the old
    one-value settings (e.g. ``batch`` 1000 when ``new`` sweeps ``--batch 1000,64``)."""
    old = _as_native(old, new)
    return {a: old.fields[a][0] for a in new.given if a not in old.given}
