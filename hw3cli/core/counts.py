"""The number each profiling tool reports for a model, rule by rule (docs/formulas.md
section 6).

One table per tool: a layer kind (PyTorch's class without its 1d/2d/3d suffix, or a
functional step) -> the count that tool adds for one call, at batch 1 and in eval mode
(``model.eval()``; thop switches to it itself). Kinds a table lacks count 0, as in the
tool. Read from each tool's source:

- torchinfo 1.8 ``total_mult_adds`` (layer_info.py ``calculate_macs``): a layer whose
  class name holds "Conv" adds its parameters (weight and bias) times its output
  positions; any other layer adds its parameters once per sample.
- fvcore 0.1.5 ``FlopCountAnalysis.total()`` (jit_handles.py): one per multiply of a
  convolution or linear layer (no bias); eval batch norm 1 per element, 2 when affine;
  group and layer norm 5 per element (4 without affine), instance norm likewise;
  adaptive_avg_pool2d 1 per input element; nearest upsampling 1, bilinear 4 per output
  element; everything else (activations, pooling, adds) 0.
- ptflops 0.7.5 ``get_model_complexity_info`` (pytorch backend, pytorch_ops.py): its
  module hooks, plus the functionals it patches (``F.relu``, ``F.max_pool2d``,
  ``F.adaptive_avg_pool2d``, ``F.interpolate``, ...), which the modules' own forward
  calls too, so that ReLU, ELU, GELU, PReLU, pooling and Upsample count twice.
- thop: ultralytics-thop 2.2.3 ``profile`` (vision/basic_hooks.py), which installs as
  ``thop``; the older thop 0.1.1 agrees on the layers of torchvision's classifiers.
- ``torch.utils.flop_counter.FlopCounterMode``: 2 per multiply-accumulate of
  convolutions and matrix products, nothing else.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import NamedTuple

from hw3cli.core.ops import Op, numel

TOOLS = ("macs", "flops", "torchinfo", "fvcore", "ptflops", "thop", "flop_counter")

Rule = Callable[[Op], float]


class Counts(NamedTuple):
    """hw3's MACs and FLOPs, and each tool's total, for one sample."""

    macs: int
    flops: int
    torchinfo: int
    fvcore: int
    ptflops: int
    thop: int
    flop_counter: int

    def of(self, tool: str) -> int:
        value: int = getattr(self, tool)
        return value


# --- hw3 -------------------------------------------------------------------------------


def hw3_macs(op: Op) -> int:
    """docs/formulas.md section 2: a convolution's prod(size) * C_out * prod(k) * C_in / g
    (size: output, or input when transposed) and a Linear's rows * in * out; no bias."""
    if op.family == "Conv":
        k = math.prod(op.ints("kernel_size"))
        return numel(op.output) * k * op.input[0] // op.groups
    if op.family == "ConvTranspose":
        k = math.prod(op.ints("kernel_size"))
        return numel(op.input) * k * op.output[0] // op.groups
    if op.family == "Linear":
        return numel(op.input) * op.output[-1]
    return 0


def _bias_positions(op: Op) -> int:
    """One add per output element for a layer with a bias."""
    return numel(op.output) if op.params and op.bias else 0


# --- torchinfo -------------------------------------------------------------------------


def _torchinfo(op: Op) -> float:
    if "Conv" in op.kind:
        return op.params * numel(op.output[1:])
    return op.params


# --- fvcore ----------------------------------------------------------------------------


def _fvcore_norm(scale_affine: int, scale_plain: int, affine_key: str, default: bool) -> Rule:
    def rule(op: Op) -> float:
        return numel(op.input) * (scale_affine if op.arg(affine_key, default) else scale_plain)

    return rule


def _fvcore_upsample(op: Op) -> float:
    mode = op.arg("mode", "nearest")
    if op.dims == 2 and mode == "nearest":
        return numel(op.output)
    if op.dims == 2 and mode == "bilinear":
        return 4 * numel(op.output)
    return 0


FVCORE: dict[str, Rule] = {
    "Conv": hw3_macs,
    "ConvTranspose": hw3_macs,
    "Linear": hw3_macs,
    "BatchNorm": _fvcore_norm(2, 1, "affine", True),
    "GroupNorm": _fvcore_norm(5, 4, "affine", True),
    "LayerNorm": _fvcore_norm(5, 4, "elementwise_affine", True),
    "InstanceNorm": _fvcore_norm(5, 4, "affine", False),
    "Upsample": _fvcore_upsample,
    "UpsamplingNearest": _fvcore_upsample,
    "UpsamplingBilinear": _fvcore_upsample,
    "AdaptiveAvgPool": lambda op: numel(op.input) if op.dims == 2 else 0,
    "global_avg_pool": lambda op: numel(op.input) if op.dims == 2 else 0,
}


# --- ptflops ---------------------------------------------------------------------------


def _ptflops_conv(op: Op) -> float:
    k = math.prod(op.ints("kernel_size"))
    positions = numel(op.input[1:] if op.family == "ConvTranspose" else op.output[1:])
    per_position = k * op.input[0] * (op.output[0] // op.groups)
    return per_position * positions + _bias_positions(op)


def _ptflops_interpolate(op: Op) -> float:
    """ptflops' F.interpolate hook: the output size times N x C, or the input elements
    times the scale factor to the power of the spatial axes."""
    size = op.arg("size")
    if size is not None:
        sizes = size if isinstance(size, (tuple, list)) else (size,) * op.dims
        return math.prod(sizes) * op.input[0]
    factor = op.arg("scale_factor")
    if isinstance(factor, (tuple, list)) and len(factor) == op.dims:
        return numel(op.input) * int(math.prod(float(f) for f in factor))
    return numel(op.input) * float(factor) ** op.dims


def _twice(rule: Rule) -> Rule:
    """A module hook, plus the patched functional its forward calls."""
    return lambda op: 2 * rule(op)


def _ptflops_norm(op: Op) -> float:
    # the hook asks for `affine`, which LayerNorm has not (it has elementwise_affine)
    return numel(op.input) * (
        2 if op.family != "LayerNorm" and op.arg("affine", _AFFINE[op.family]) else 1
    )


_AFFINE = {"BatchNorm": True, "InstanceNorm": False, "GroupNorm": True, "LayerNorm": True}

PTFLOPS: dict[str, Rule] = {
    "Conv": _ptflops_conv,
    "ConvTranspose": _ptflops_conv,
    "Linear": lambda op: hw3_macs(op) + _bias_positions(op),
    "ReLU": _twice(lambda op: numel(op.output)),
    "PReLU": _twice(lambda op: numel(op.output)),
    "ELU": _twice(lambda op: numel(op.output)),
    "GELU": _twice(lambda op: numel(op.output)),
    "LeakyReLU": lambda op: numel(op.output),
    "ReLU6": lambda op: numel(op.output),
    "SiLU": lambda op: numel(op.input),  # F.silu only: SiLU has no module hook
    "Softmax": lambda op: numel(op.input),  # F.softmax only
    **{
        k: _twice(lambda op: numel(op.input))
        for k in ("MaxPool", "AvgPool", "AdaptiveMaxPool", "AdaptiveAvgPool")
    },
    "global_avg_pool": lambda op: numel(op.input),  # F.adaptive_avg_pool2d in forward
    "BatchNorm": _ptflops_norm,
    "InstanceNorm": _ptflops_norm,
    "GroupNorm": _ptflops_norm,
    "LayerNorm": _ptflops_norm,
    "Upsample": lambda op: numel(op.output) + _ptflops_interpolate(op),
    # subclasses of Upsample get no module hook (ptflops matches the exact class)
    "UpsamplingNearest": _ptflops_interpolate,
    "UpsamplingBilinear": _ptflops_interpolate,
}


# --- thop (ultralytics-thop) -------------------------------------------------------------


def _thop_conv(op: Op) -> float:
    k = math.prod(op.ints("kernel_size"))
    if op.family == "ConvTranspose":
        return numel(op.input) * (op.output[0] // op.groups) * k
    return numel(op.output) * (op.input[0] // op.groups) * k


def _thop_norm(op: Op) -> float:
    affine = op.arg(
        "elementwise_affine" if op.family == "LayerNorm" else "affine", _AFFINE[op.family]
    )
    return 2 * numel(op.input) * (2 if affine else 1)


def _windows(size: int, outputs: int, k: int, s: int, pad: tuple[int, int], include: bool) -> int:
    """Input elements the windows along one axis add up (thop's count_avgpool): the sum
    over windows i of |[i s - p_b, i s - p_b + k) n [lower, upper)|, in closed form.

    The windows' ends are capped at ``upper`` from the first that passes it, and their
    starts raised to ``lower`` until the first that reaches it: two arithmetic series.
    """
    lower, upper = (-pad[0], size + pad[1]) if include else (0, size)
    a = -pad[0]  # the first window's start

    def series(first: int, count: int) -> int:  # sum of a + i s for i in [first, first + count)
        return count * a + s * (count * (2 * first + count - 1) // 2)

    uncapped = min(outputs, max(0, (upper - a - k) // s + 1))  # windows ending by upper
    ends = series(0, uncapped) + uncapped * k + (outputs - uncapped) * upper
    unraised = min(outputs, max(0, -(-(lower - a) // s)))  # windows starting before lower
    starts = unraised * lower + series(unraised, outputs - unraised)
    return max(0, ends - starts)


def _thop_avgpool(op: Op) -> float:
    kernel = op.ints("kernel_size")
    stride = op.ints("stride", op.arg("kernel_size"))
    padding = [p if isinstance(p, tuple) else (p, p) for p in op.ints("padding", 0)]
    include = bool(op.arg("count_include_pad", True))
    windows = math.prod(
        _windows(i, o, k, s, p, include)
        for i, o, k, s, p in zip(op.input[1:], op.output[1:], kernel, stride, padding, strict=True)
    )
    return op.input[0] * windows + numel(op.output)


def _thop_adaptive_avgpool(op: Op) -> float:
    """thop adds, per axis, the sizes of the o windows ceil((j + 1) i / o) - floor(j i / o),
    which sum to i + o - gcd(i, o) (i where i = o)."""
    windows = math.prod(i + o - math.gcd(i, o) for i, o in zip(op.input, op.output, strict=True))
    return windows + numel(op.output)


def _thop_softmax(op: Op) -> float:
    dim = op.arg("dim")
    full = (1, *op.input)  # with the batch axis, as the hook sees it
    if op.kind == "Softmax2d":
        dim = -3
    elif dim is None:
        dim = 0 if len(full) in (0, 1, 3) else 1
    features = full[dim]
    rows = numel(full) // features if features else 0
    ops = rows * (features + max(features - 1, 0) + features)
    if op.family == "Softmin":
        ops += numel(full)
    elif op.family == "LogSoftmax":
        ops += rows
    return int(ops)


_UPSAMPLE_THOP = {
    "nearest": 0,
    "nearest-exact": 0,
    "linear": 5,
    "bilinear": 11,
    "bicubic": 259,
    "trilinear": 31,
}

THOP: dict[str, Rule] = {
    "Conv": _thop_conv,
    "ConvTranspose": _thop_conv,
    "Linear": lambda op: op.input[-1] * numel(op.output),
    **{k: _thop_norm for k in ("BatchNorm", "InstanceNorm", "GroupNorm", "LayerNorm")},
    "PReLU": lambda op: numel(op.input),
    **{k: _thop_softmax for k in ("Softmax", "LogSoftmax", "Softmin", "Softmax2d")},
    "AvgPool": _thop_avgpool,
    "AdaptiveAvgPool": _thop_adaptive_avgpool,
    **{
        k: lambda op: _UPSAMPLE_THOP.get(op.arg("mode", "nearest"), 0) * numel(op.output)
        for k in ("Upsample", "UpsamplingNearest", "UpsamplingBilinear")
    },
}


# --- torch.utils.flop_counter ----------------------------------------------------------


FLOP_COUNTER: dict[str, Rule] = {
    k: lambda op: 2 * hw3_macs(op) for k in ("Conv", "ConvTranspose", "Linear")
}


# --- functional calls (a model read from source) ----------------------------------------

# ptflops 0.7.5 pytorch_ops.py FUNCTIONAL_MAPPING and TENSOR_OPS_MAPPING: the functions it
# patches, by the name hw3 records for the call (torch.relu, F.leaky_relu, F.log_softmax,
# F.dropout and the operators + and * are not among them)
_PTFLOPS_NUMEL = ("relu", "prelu", "elu", "relu6", "gelu", "silu", "softmax") + tuple(
    f"{kind}_pool{d}d" for kind in ("avg", "max", "adaptive_avg", "adaptive_max") for d in (1, 2, 3)
)
PTFLOPS_FUNCTIONAL: dict[str, Rule] = {
    **{f"F.{name}": lambda op: numel(op.input) for name in _PTFLOPS_NUMEL},
    "F.interpolate": _ptflops_interpolate,
    "F.upsample": _ptflops_interpolate,
    "F.linear": lambda op: hw3_macs(op) + (op.output[-1] if op.bias else 0),
    **{
        k: lambda op: numel(op.output)
        for k in ("torch.add", "Tensor.add", "torch.mul", "Tensor.mul")
    },
}


def _functional(tool: str, op: Op) -> float | None:
    """A functional call: torchinfo and thop hook modules only (0); ptflops counts the
    functions it patches; fvcore and FlopCounterMode trace the operators, as a module's."""
    if op.functional is None:
        return None
    if tool in ("torchinfo", "thop"):
        return 0
    if tool == "ptflops":
        rule = PTFLOPS_FUNCTIONAL.get(op.functional)
        return rule(op) if rule is not None else 0
    return None


def tool_count(tool: str, op: Op) -> float:
    """What ``tool`` counts for one call ``op`` (at batch 1)."""
    if tool == "macs":
        return hw3_macs(op)
    if tool == "flops":
        return 2 * hw3_macs(op)
    functional = _functional(tool, op)
    if functional is not None:
        return functional
    if tool == "torchinfo":
        return _torchinfo(op)
    table = {"fvcore": FVCORE, "ptflops": PTFLOPS, "thop": THOP, "flop_counter": FLOP_COUNTER}[tool]
    rule = table.get(op.kind, table.get(op.family))
    return rule(op) if rule is not None else 0


def count_all(ops: Sequence[Op]) -> Counts:
    """Every tool's total over the calls ``ops``."""
    return Counts(*(int(sum(tool_count(tool, op) for op in ops)) for tool in TOOLS))
