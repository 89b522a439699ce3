"""Layers for ``conv-shape --net FILE`` (JSON) and ``--layer SPEC`` (a short syntax).

Both build the same `LayerSpec` as the single-layer options. The short syntax is a kind
followed by ``key=value`` words:

    conv k=3 s=1 p=1 out=64          convT k=4 s=2 p=1 out=32 op=1
    pool max k=2                     pool avg k=3 s=2 p=1 ceil
    conv k=3x1 p=same g=2 out=32 nobias name=block1

Keys (long forms in brackets): k (kernel), s (stride), p (padding), d (dilation),
out (out_channels), g (groups), op (output_padding), name, bias=true|false; flags
``ceil`` (ceil_mode) and ``nobias``. Values use the tuple syntax of the options
(``3x3``, ``3,3``, ``0:1,1:1``, ``same``).
"""

from __future__ import annotations

from typing import Any

from hw3cli.commands._options import parse_ints, parse_padding
from hw3cli.core.conv import LayerSpec
from hw3cli.core.network import check_layer_count
from hw3cli.errors import InputError, refuse_unknown
from hw3cli.tensor_io.files import parse_json, read_bytes

NET_KEYS = (
    "name",
    "kernel",
    "stride",
    "padding",
    "dilation",
    "out_channels",
    "groups",
    "transposed",
    "output_padding",
    "pool",
    "ceil_mode",
    "bias",
)

_SHORT = {
    "k": "kernel",
    "s": "stride",
    "p": "padding",
    "pad": "padding",
    "d": "dilation",
    "out": "out_channels",
    "c": "out_channels",
    "g": "groups",
    "op": "output_padding",
}
_KINDS: dict[str, dict[str, Any]] = {
    "conv": {},
    "convt": {"transposed": True},
    "deconv": {"transposed": True},
    "pool": {},
    "maxpool": {"pool": "max"},
    "avgpool": {"pool": "avg"},
}
_TRUE = ("true", "yes", "1", "on")
_FALSE = ("false", "no", "0", "off")


def _ints(value: Any, where: str) -> tuple[int, ...]:
    if isinstance(value, bool):
        raise InputError(f"expected whole numbers, got {str(value).lower()}", where=where)
    if isinstance(value, int):
        return (value,)
    if isinstance(value, str):
        return parse_ints(value, where)
    if (
        isinstance(value, list)
        and value
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        return tuple(value)
    raise InputError(f"expected a whole number or a list of them, got {value!r}", where=where)


def _padding(value: Any, where: str) -> Any:
    if isinstance(value, str):
        return parse_padding(value, where)
    if isinstance(value, list) and value and all(isinstance(v, list) for v in value):
        pads = []
        for pair in value:
            if len(pair) != 2 or not all(
                isinstance(v, int) and not isinstance(v, bool) for v in pair
            ):
                raise InputError(f"expected [before, after] pairs, got {pair!r}", where=where)
            pads.append((pair[0], pair[1]))
        return tuple(pads)
    return tuple((v, v) for v in _ints(value, where))


def _count(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and value.isascii() and value.isdecimal():
            return parse_ints(value, where)[0]  # (which refuses 2000 digits and more)
        raise InputError(f"expected a whole number, got {str(value)[:40]!r}", where=where)
    return value


def _flag(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in _TRUE + _FALSE:
        return value.lower() in _TRUE
    raise InputError(f"expected true or false, got {value!r}", where=where)


def spec_from_fields(fields: dict[str, Any], where: str) -> LayerSpec:
    """A LayerSpec from a dict of the long option names (``--net`` layers)."""
    refuse_unknown(fields, NET_KEYS, where=where)
    if "kernel" not in fields:
        raise InputError(
            "has no kernel", where=where, hint='e.g. {"kernel": 3, "out_channels": 16}'
        )
    pool = fields.get("pool")
    if pool not in (None, "max", "avg"):
        raise InputError(f'pool must be "max" or "avg", got {pool!r}', where=f"{where}: pool")
    name = fields.get("name")
    if name is not None and not isinstance(name, str):
        raise InputError(f"expected a string, got {name!r}", where=f"{where}: name")

    def get(key: str, convert: Any, default: Any) -> Any:
        return convert(fields[key], f"{where}: {key}") if key in fields else default

    out_channels = fields.get("out_channels")
    return LayerSpec(
        kernel=get("kernel", _ints, (1,)),
        stride=get("stride", _ints, None),
        padding=get("padding", _padding, "valid"),
        dilation=get("dilation", _ints, (1,)),
        out_channels=None
        if out_channels is None
        else _count(out_channels, f"{where}: out_channels"),
        groups=get("groups", _count, 1),
        transposed=get("transposed", _flag, False),
        output_padding=get("output_padding", _ints, (0,)),
        pool=pool,
        ceil_mode=get("ceil_mode", _flag, False),
        bias=get("bias", _flag, True),
        name=name,
    )


def read_net_or_model(path: str) -> list[LayerSpec] | Any:
    """A ``--net`` file: the layers of a JSON list, or the model PyTorch printed
    (`hw3cli.tensor_io.printed.Module`), told apart by content."""
    data = read_bytes(path, what="--net", hint="give a JSON file or what print(model) shows")
    from hw3cli.tensor_io.printed import first_line, looks_printed, looks_python, parse_printed

    text = data.decode("utf-8-sig", errors="replace")
    if path.endswith(".py") or looks_python(text):
        refuse_source(path)
    if looks_printed(text):
        return parse_printed(text, "stdin" if path == "-" else path)
    line = first_line(text)
    if line is not None and not line[1].startswith(("[", "{")):
        shown = line[1] if len(line[1]) <= 60 else line[1][:57] + "..."
        raise InputError(
            f"not a printed PyTorch model (line {line[0]}: {shown!r})",
            where=f"--net {path}",
            hint="--net reads the text print(model) shows (starting 'ClassName('), or a "
            "JSON list of layers",
        )
    layers = _json_layers(path, data)
    if any("kind" in layer for layer in layers):
        return model_from_json(layers, path)
    return [
        spec_from_fields(layer, f"--net {path}: layer {i + 1}") for i, layer in enumerate(layers)
    ]


def refuse_source(path: str) -> None:
    """Python source given to --net without a .py file name (on stdin): say how to give it."""
    raise InputError(
        "is Python source (model code); --net reads model source from a file named "
        "FILE.py, and from stdin the text print(model) shows or a JSON list of layers",
        where=f"--net {path}",
        hint="save the code as model.py and give --net model.py (or model.py:Net), or give "
        "what print(model) shows",
    )


def model_from_json(layers: list[dict[str, Any]], path: str) -> Any:
    """A JSON list whose layers name their PyTorch class (``"kind": "Conv2d"``) as a
    Sequential model; a layer without ``kind`` is read with the keys of a stack."""
    from hw3cli.tensor_io.printed import Module

    children = []
    for index, layer in enumerate(layers):
        where = f"--net {path}: layer {index + 1}"
        fields = dict(layer)
        name = fields.pop("name", None)
        if name is not None and (not isinstance(name, str) or not name or "." in name):
            raise InputError(
                f"name must be a non-empty text without '.', got {name!r}", where=where
            )
        kind = fields.pop("kind", None)
        if kind is None:
            kind, fields = _stack_fields_as_pytorch(fields, where)
        elif not isinstance(kind, str) or not kind.strip():
            raise InputError(f"kind must be a PyTorch class name, got {kind!r}", where=where)
        kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()}
        children.append(Module(name or str(index), kind.strip(), (), kwargs, (), index + 1))
    return Module("", "Sequential", (), {}, tuple(children), 0)


def _stack_fields_as_pytorch(fields: dict[str, Any], where: str) -> tuple[str, dict[str, Any]]:
    """A stack layer's keys (kernel, pool, transposed, ...) as PyTorch's class and names."""
    spec = spec_from_fields(fields, where)
    if isinstance(spec.padding, str):
        padding: Any = spec.padding
    elif all(before == after for before, after in spec.padding):
        padding = tuple(before for before, _ in spec.padding)
    else:
        raise InputError(
            "asymmetric padding has no PyTorch layer: give it a ZeroPad2d layer first",
            where=where,
        )
    out: dict[str, Any] = {"kernel_size": spec.kernel, "padding": padding}
    if spec.stride is not None:
        out["stride"] = spec.stride
    if spec.pool is not None:
        if padding == "same":
            raise InputError("pooling has no 'same' padding in PyTorch", where=where)
        out["padding"] = 0 if padding == "valid" else padding
        out.update(ceil_mode=spec.ceil_mode)
        if spec.pool == "max":
            out["dilation"] = spec.dilation
        return ("MaxPool" if spec.pool == "max" else "AvgPool"), out
    if spec.out_channels is None:
        raise InputError("a convolution among PyTorch layers needs out_channels", where=where)
    out.update(
        out_channels=spec.out_channels,
        dilation=spec.dilation,
        groups=spec.groups,
        bias=spec.bias,
    )
    if spec.transposed:
        out["output_padding"] = spec.output_padding
        return "ConvTranspose", out
    return "Conv", out


def _json_layers(path: str, data: bytes) -> list[dict[str, Any]]:
    """The objects of a --net JSON list (or of {"layers": [...]})."""
    parsed = parse_json(data, path)
    if isinstance(parsed, dict) and set(parsed) == {"layers"}:
        parsed = parsed["layers"]
    if not isinstance(parsed, list):
        raise InputError(
            "expected a JSON list of layers",
            where=f"--net {path}",
            hint='e.g. [{"kernel": 3, "padding": 1, "out_channels": 16}, {"pool": "max", '
            '"kernel": 2}]',
        )
    if not parsed:
        raise InputError("the list of layers is empty", where=f"--net {path}")
    check_layer_count(len(parsed), f"--net {path}")
    for index, layer in enumerate(parsed):
        if not isinstance(layer, dict):
            raise InputError(
                f"expected an object, got {layer!r}", where=f"--net {path}: layer {index + 1}"
            )
    return parsed


def read_net(path: str) -> list[LayerSpec]:
    """The layers of a ``--net`` JSON file of stack layers (`read_net_or_model`)."""
    net = read_net_or_model(path)
    if not isinstance(net, list):
        raise InputError("holds a model, not a list of stack layers", where=f"--net {path}")
    return net


def parse_layer(text: str, index: int) -> LayerSpec:
    """One ``--layer`` spec, e.g. ``conv k=3 s=1 p=1 out=64`` or ``pool max k=2``."""
    where = f"--layer {index + 1} {text!r}"
    words = text.split()
    if not words:
        raise InputError("is empty", where=where, hint="e.g. --layer 'conv k=3 out=16'")
    kind = words[0].lower()
    if kind not in _KINDS:
        raise InputError(
            f"unknown layer kind {words[0]!r}",
            where=where,
            hint="start with conv, convT, pool max, pool avg, maxpool or avgpool",
        )
    fields: dict[str, Any] = dict(_KINDS[kind])
    rest = words[1:]
    if kind == "pool":
        if not rest or rest[0].lower() not in ("max", "avg"):
            raise InputError("pool needs max or avg: 'pool max k=2'", where=where)
        fields["pool"] = rest[0].lower()
        rest = rest[1:]
    for word in rest:
        if "=" not in word:
            flag = word.lower()
            if flag in ("ceil", "ceil_mode"):
                fields["ceil_mode"] = True
            elif flag in ("nobias", "no-bias"):
                fields["bias"] = False
            else:
                raise InputError(
                    f"{word!r} is not key=value",
                    where=where,
                    hint="keys: k, s, p, d, out, g, op, name, bias; flags: ceil, nobias",
                )
            continue
        key, _, value = word.partition("=")
        key = _SHORT.get(key.lower(), key.lower().replace("-", "_"))
        if key not in NET_KEYS or key in ("transposed", "pool"):
            raise InputError(
                f"unknown key {word.partition('=')[0]!r}",
                where=where,
                hint="keys: k, s, p, d, out, g, op, name, bias; flags: ceil, nobias",
            )
        if not value:
            raise InputError(f"{key} has no value", where=where)
        fields[key] = value
    return spec_from_fields(fields, where)
