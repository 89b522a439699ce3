"""JSON text for people and programs: objects indented, arrays of numbers on one line.

Floats are written by Python's ``repr`` (through ``json``): the shortest text that reads
back as the identical float64. A NumPy array (anything with ``tolist``) is written as
its list, made when it is written.
"""

from __future__ import annotations

import json
from typing import Any

_INLINE = (int, float, bool, type(None))


def dumps(obj: Any, indent: int = 2, level: int = 0) -> str:
    """``obj`` as JSON text ending in a newline (nested ``level`` deep: indented as a
    value inside that many objects); non-finite floats are refused."""
    return _dumps(obj, indent, level) + "\n"


def _dumps(obj: Any, step: int, level: int) -> str:
    if hasattr(obj, "tolist"):  # an array, made a list as it is written
        obj = obj.tolist()
    pad = " " * (step * (level + 1))
    end = " " * (step * level)
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [f"{pad}{json.dumps(str(k))}: {_dumps(v, step, level + 1)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + end + "}"
    if isinstance(obj, (list, tuple)):
        if all(isinstance(v, _INLINE) for v in obj):
            # one call: json's C encoder, not a call per number
            return json.dumps(list(obj), allow_nan=False, separators=(", ", ": "))
        items = [pad + _dumps(v, step, level + 1) for v in obj]
        return "[\n" + ",\n".join(items) + "\n" + end + "]"
    return json.dumps(obj, allow_nan=False)
