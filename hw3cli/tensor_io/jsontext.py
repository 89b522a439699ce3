"""JSON text for people and programs: objects indented, arrays of numbers on one line.

Floats are written by Python's ``repr`` (through ``json``): the shortest text that reads
back as the identical float64.
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
    pad = " " * (step * (level + 1))
    end = " " * (step * level)
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [f"{pad}{json.dumps(str(k))}: {_dumps(v, step, level + 1)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + end + "}"
    if isinstance(obj, (list, tuple)):
        if all(isinstance(v, _INLINE) for v in obj):
            return "[" + ", ".join(json.dumps(v, allow_nan=False) for v in obj) + "]"
        items = [pad + _dumps(v, step, level + 1) for v in obj]
        return "[\n" + ",\n".join(items) + "\n" + end + "]"
    return json.dumps(obj, allow_nan=False)
