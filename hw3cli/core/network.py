"""Stacks of layers: shapes, receptive fields, parameters and MACs; the inverse solvers.

FORMULAS.md section 2. Per spatial axis, starting from jump j = 1, receptive field r = 1
and start = 0.5 (the centre of the first input pixel, pixel n covering [n, n + 1)), each
convolution or pooling layer gives

    j_out = j * s        r_out = r + (k' - 1) * j        start_out = start + ((k' - 1)/2 - p_b) * j

Through a transposed convolution the recurrence does not apply: from the first one on
the three are reported as not defined (None).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from hw3cli.core.conv import (
    LayerResult,
    LayerSpec,
    Padding,
    axis_output_size,
    axis_values,
    conv_layer,
    effective_kernel,
    per_axis,
    resolve_padding,
)
from hw3cli.errors import InputError


@dataclass(frozen=True)
class Field:
    """Receptive field, jump and start on one axis after a layer (None: not defined)."""

    receptive_field: int | None
    jump: int | None
    start: float | None


@dataclass(frozen=True)
class StackLayer:
    """One layer of a stack: its name, what it did, and the receptive field after it."""

    name: str
    result: LayerResult
    fields: tuple[Field, ...]


@dataclass(frozen=True)
class StackResult:
    input: tuple[int, ...]
    in_channels: int
    layers: tuple[StackLayer, ...]

    @property
    def output(self) -> tuple[int, ...]:
        return self.layers[-1].result.output if self.layers else self.input

    @property
    def out_channels(self) -> int:
        return self.layers[-1].result.out_channels if self.layers else self.in_channels

    @property
    def params(self) -> int:
        return sum(layer.result.params for layer in self.layers)

    @property
    def macs(self) -> int:
        return sum(layer.result.macs for layer in self.layers)

    @property
    def warnings(self) -> tuple[str, ...]:
        return tuple(f"{layer.name}: {w}" for layer in self.layers for w in layer.result.warnings)


def layer_name(spec: LayerSpec, index: int) -> str:
    """The layer's own name, or ``kind`` and its 1-based position: ``conv1``, ``maxpool2``."""
    return spec.name or f"{spec.kind}{index + 1}"


def next_field(field: Field, result: LayerResult, axis: int) -> Field:
    """The recurrence of FORMULAS.md section 2 through one layer, on one axis."""
    if result.spec.transposed or field.jump is None:
        return Field(None, None, None)
    assert field.receptive_field is not None and field.start is not None
    a = result.axes[axis]
    kk = a.effective_kernel
    j = field.jump
    return Field(
        receptive_field=field.receptive_field + (kk - 1) * j,
        jump=j * a.stride,
        start=field.start + ((kk - 1) / 2 - a.padding[0]) * j,
    )


def receptive_field_closed_form(kernels: Sequence[int], strides: Sequence[int]) -> int:
    """r = 1 + sum_l (k'_l - 1) * prod_{m<l} s_m (effective kernels k')."""
    r, product = 1, 1
    for k, s in zip(kernels, strides, strict=True):
        r += (k - 1) * product
        product *= s
    return r


def apply_stack(
    specs: Sequence[LayerSpec],
    input_size: tuple[int, ...],
    in_channels: int = 1,
    axis_names: tuple[str, ...] | None = None,
) -> StackResult:
    """Run the input through every layer; an InputError names the layer that fails."""
    if not specs:
        raise InputError("the network has no layers")
    fields = tuple(Field(1, 1, 0.5) for _ in input_size)
    size, channels = input_size, in_channels
    layers: list[StackLayer] = []
    for index, spec in enumerate(specs):
        name = layer_name(spec, index)
        try:
            result = conv_layer(spec, size, channels, axis_names)
        except InputError as e:
            raise e.at(f"layer {index + 1} ({name})") from None
        fields = tuple(next_field(f, result, a) for a, f in enumerate(fields))
        layers.append(StackLayer(name, result, fields))
        size, channels = result.output, result.out_channels
    return StackResult(input_size, in_channels, tuple(layers))


# --- solving ---------------------------------------------------------------------------


def _split(total: int) -> Padding:
    return total // 2, total - total // 2


def solve_padding(
    spec: LayerSpec,
    input_size: tuple[int, ...],
    target: tuple[int, ...],
    axis_names: tuple[str, ...],
) -> tuple[Padding, ...]:
    """Per axis, the smallest total padding that gives ``target``, split evenly with any
    odd pixel after; InputError naming the axis when no padding gives it.
    """
    n = len(input_size)
    kernel, stride, dilation, op = axis_values(spec, n)
    target = per_axis(target, n, "--target")
    pads: list[Padding] = []
    for a in range(n):
        i, k, s, d, t = input_size[a], kernel[a], stride[a], dilation[a], target[a]
        kk = effective_kernel(k, d)
        if spec.transposed:
            candidates = [(i - 1) * s + kk + op[a] - t]
        else:
            # floor((i + P - k') / s) + 1 = t needs (t - 1) s <= i + P - k' <= (t - 1) s + s - 1
            low = max(0, (t - 1) * s + kk - i - (s - 1))
            candidates = list(range(low, max(low, (t - 1) * s + kk - i) + s + 1))
        limit = k // 2 if spec.pool is not None else None
        found = None
        for total in candidates:
            if total < 0:
                continue
            pad = _split(total)
            if limit is not None and max(pad) > limit:
                continue
            if t >= 1 and axis_output_size(spec, i, k, s, d, pad, op[a]) == t:
                found = pad
                break
        if found is None:
            raise InputError(
                f"no padding gives output {t} from input {i} with kernel {k}, stride {s}, "
                f"dilation {d}" + (f" (pooling allows at most {limit} a side)" if limit else ""),
                where=f"axis {axis_names[a]}",
            )
        pads.append(found)
    return tuple(pads)


def _min_axis_input(spec: LayerSpec, a: int, n: int, need: int) -> int:
    """The smallest input on axis ``a`` for which this layer gives at least ``need``."""
    kernel, stride, dilation, output_padding = axis_values(spec, n)
    k, s, d, op = kernel[a], stride[a], dilation[a], output_padding[a]
    if k < 1 or s < 1 or d < 1:
        raise InputError("kernel, stride and dilation must be at least 1")
    padding = resolve_padding(spec.padding, n)
    least = k if spec.pool == "avg" and n == 3 else 1  # PyTorch's avg_pool3d rule

    def output(i: int) -> int:
        if padding == "same":
            return -(-i // s)
        return axis_output_size(spec, i, k, s, d, padding[a], op)

    kk = effective_kernel(k, d)
    if padding == "same":
        guess = (need - 1) * s + 1
    elif spec.transposed:
        p_total = sum(padding[a])
        guess = -(-(need - kk - op + p_total) // s) + 1
    else:
        guess = (need - 1) * s + kk - sum(padding[a]) - s
    i = max(least, guess)
    while output(i) < need:  # at most a few steps: the guess is within a stride
        i += 1
    return i


def min_input(specs: Sequence[LayerSpec], n: int) -> tuple[int, ...]:
    """Per axis, the smallest input for which every layer yields at least one pixel.

    Solved backwards from the last layer (each layer's output grows with its input).
    """
    sizes = []
    for a in range(n):
        need = 1
        for spec in reversed(specs):
            need = _min_axis_input(spec, a, n, need)
        sizes.append(need)
    return tuple(sizes)


def with_padding(spec: LayerSpec, padding: tuple[Padding, ...]) -> LayerSpec:
    return replace(spec, padding=padding)
