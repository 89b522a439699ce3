"""Stacks of layers: shapes, receptive fields, parameters and MACs; the inverse solvers.

docs/formulas.md section 2. Per spatial axis, starting from jump j = 1, receptive field r = 1
and start = 0.5 (the centre of the first input pixel, pixel n covering [n, n + 1)), each
convolution or pooling layer gives

    j_out = j * s        r_out = r + (k' - 1) * j        start_out = start + ((k' - 1)/2 - p_b) * j

Through a transposed convolution the recurrence does not apply: from the first one on
the three are reported as not defined (None).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hw3cli.core.conv import (
    LayerResult,
    LayerSpec,
    Padding,
    axis_output_size,
    axis_values,
    check_digits,
    conv_layer,
    effective_kernel,
    per_axis,
    resolve_padding,
)
from hw3cli.errors import InputError

MAX_LAYERS = 10_000  # layers of a stack (--net and --layer); real networks have hundreds


def check_layer_count(count: int, where: str) -> None:
    """An InputError for a stack of more than `MAX_LAYERS` layers, before any is run."""
    if count > MAX_LAYERS:
        raise InputError(
            f"holds {count:,} layers, more than the {MAX_LAYERS:,} hw3 reads in one stack",
            where=where,
            hint="split the network, and give the output of one part as --input of the next",
        )


@dataclass(frozen=True)
class Field:
    """Receptive field, jump and start on one axis after a layer (None: not defined).

    The start is a multiple of half a pixel, kept exactly as ``halves`` = 2 * start.
    """

    receptive_field: int | None
    jump: int | None
    halves: int | None

    @property
    def start(self) -> float | None:
        """halves / 2 as a float; past the float range (1.8e308) the whole number below it."""
        if self.halves is None:
            return None
        try:
            return self.halves / 2
        except OverflowError:  # an int: a float cannot hold it, and half a pixel is nothing
            return self.halves // 2


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


def axes_of(specs: Sequence[LayerSpec]) -> int:
    """The number of spatial axes the layers describe (2 when every value is a scalar)."""
    return declared_axes(specs) or 2


def declared_axes(specs: Sequence[LayerSpec]) -> int | None:
    """The number of spatial axes the layers name (a kernel of 3x3: 2), or None when
    every value is one number for every axis."""
    lengths = [
        len(t)
        for spec in specs
        for t in (spec.kernel, spec.stride or (), spec.dilation, spec.output_padding)
    ]
    lengths += [len(spec.padding) for spec in specs if not isinstance(spec.padding, str)]
    longest = max(lengths, default=1)
    return longest if longest > 1 else None


def layer_name(spec: LayerSpec, index: int) -> str:
    """The layer's own name, or ``kind`` and its 1-based position: ``conv1``, ``maxpool2``."""
    return spec.name or f"{spec.kind}{index + 1}"


def next_field(field: Field, result: LayerResult, axis: int) -> Field:
    """The recurrence of docs/formulas.md section 2 through one layer, on one axis."""
    if result.spec.transposed or field.jump is None:
        return Field(None, None, None)
    assert field.receptive_field is not None
    assert field.halves is not None
    a = result.axes[axis]
    kk = a.effective_kernel
    j = field.jump
    return Field(
        receptive_field=field.receptive_field + (kk - 1) * j,
        jump=j * a.stride,
        halves=field.halves + (kk - 1 - 2 * a.padding[0]) * j,  # 2*start, in whole numbers
    )


def receptive_field_closed_form(kernels: Sequence[int], strides: Sequence[int]) -> int:
    """r = 1 + sum_l (k'_l - 1) * prod_{m<l} s_m (effective kernels k')."""
    r, product = 1, 1
    for k, s in zip(kernels, strides, strict=True):
        r += (k - 1) * product
        product *= s
    return r


def stack_of(
    input_size: tuple[int, ...], in_channels: int, layers: Sequence[tuple[str, LayerResult]]
) -> StackResult:
    """A stack from layers already applied (a model's path): each one's receptive field,
    jump and start by `next_field`."""
    fields = tuple(Field(1, 1, 1) for _ in input_size)
    out: list[StackLayer] = []
    for name, result in layers:
        fields = tuple(next_field(f, result, a) for a, f in enumerate(fields))
        out.append(StackLayer(name, result, fields))
    return StackResult(input_size, in_channels, tuple(out))


def apply_stack(
    specs: Sequence[LayerSpec],
    input_size: tuple[int, ...],
    in_channels: int = 1,
    axis_names: tuple[str, ...] | None = None,
) -> StackResult:
    """Run the input through every layer; an InputError names the layer that fails."""
    if not specs:
        raise InputError("the network has no layers")
    fields = tuple(Field(1, 1, 1) for _ in input_size)  # start 0.5 = 1 half pixel
    size, channels = input_size, in_channels
    layers: list[StackLayer] = []
    for index, spec in enumerate(specs):
        name = layer_name(spec, index)
        try:
            result = conv_layer(spec, size, channels, axis_names)
            fields = tuple(next_field(f, result, a) for a, f in enumerate(fields))
            for f in fields:
                for what, value in (
                    ("the receptive field", f.receptive_field),
                    ("the jump", f.jump),
                    ("the start", f.halves),
                ):
                    if value is not None:
                        check_digits(value, what)
        except InputError as e:
            raise e.at(f"layer {index + 1} ({name})") from None
        layers.append(StackLayer(name, result, fields))
        size, channels = result.output, result.out_channels
    return StackResult(input_size, in_channels, tuple(layers))


# --- solving ---------------------------------------------------------------------------


def _split(total: int) -> Padding:
    return total // 2, total - total // 2


def padding_candidates(i: int, kk: int, s: int, t: int) -> tuple[int, ...]:
    """The totals P >= 0 among which lies the smallest that gives output ``t`` (or none).

    With base = (t - 1)*s + k' - i: in floor mode floor((i + P - k')/s) + 1 = t exactly for
    P in [base, base + s - 1]. In ceil mode (A = i + P - k', q = ceil(A/s)) the output is
    q + 1, less one when q*s >= i + p_b, p_b = floor(P/2); it is t for P in
    [base - s + 1, base] with floor(P/2) >= (t - 1)*s - i + 1, and for P in
    [base + 1, base + s] with floor(P/2) <= t*s - i. Each of these is an interval of P, so
    its smallest member P >= 0 is one of max(0, base - s + 1, 2*((t - 1)*s - i + 1)),
    max(0, base) and max(0, base + 1). Pooling's limit ceil(P/2) <= floor(k/2) only bounds
    P from above: when the smallest member of an interval breaks it, so do the others.
    """
    base = (t - 1) * s + kk - i
    ceil_lower = max(0, base - s + 1, 2 * ((t - 1) * s - i + 1))
    return tuple(sorted({ceil_lower, max(0, base), max(0, base + 1)}))


def solve_padding(
    spec: LayerSpec,
    input_size: tuple[int, ...],
    target: tuple[int, ...],
    axis_names: tuple[str, ...],
) -> tuple[Padding, ...]:
    """Per axis, the smallest total padding that gives ``target``, split evenly with any
    odd pixel after; InputError naming the axis when no padding gives it.

    Closed form: at most three candidate totals per axis (`padding_candidates`; a
    transposed convolution has one, P = (i - 1)*s + k' + op - t), each checked by the
    layer's own output formula.
    """
    n = len(input_size)
    kernel, stride, dilation, op = axis_values(spec, n)
    target = per_axis(target, n, "--target")
    pads: list[Padding] = []
    for a in range(n):
        i, k, s, d, t = input_size[a], kernel[a], stride[a], dilation[a], target[a]
        if s < 1:
            raise InputError(f"stride must be at least 1, got {s}", where=f"axis {axis_names[a]}")
        kk = effective_kernel(k, d)
        if spec.transposed:
            candidates: tuple[int, ...] = ((i - 1) * s + kk + op[a] - t,)
        else:
            candidates = padding_candidates(i, kk, s, t)
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


def symmetric_padding(
    spec: LayerSpec,
    input_size: tuple[int, ...],
    target: tuple[int, ...],
) -> tuple[int | None, ...]:
    """Per axis, the smallest p for which padding p on both sides (PyTorch's
    ``nn.Conv2d(padding=p)``) gives ``target``, or None where none does.

    The output is monotone in the total padding P = 2p, and the totals that give the
    target form the intervals of `padding_candidates` (one value for a transposed
    convolution): p is ceil(P/2) for the smallest P of an interval, or one more, checked
    by the layer's own formula.
    """
    n = len(input_size)
    kernel, stride, dilation, op = axis_values(spec, n)
    found: list[int | None] = []
    for a in range(n):
        i, k, s, d, t = input_size[a], kernel[a], stride[a], dilation[a], target[a]
        kk = effective_kernel(k, d)
        if spec.transposed:
            total = (i - 1) * s + kk + op[a] - t
            choices = [total // 2] if total >= 0 and total % 2 == 0 else []
        else:
            totals = padding_candidates(i, kk, s, t)
            choices = sorted({max(0, -(-c // 2)) + extra for c in totals for extra in (0, 1)})
        limit = k // 2 if spec.pool is not None else None
        best = None
        for p in choices:
            if limit is not None and p > limit:
                continue
            if t >= 1 and axis_output_size(spec, i, k, s, d, (p, p), op[a]) == t:
                best = p
                break
        found.append(best)
    return tuple(found)


def smallest_input(
    spec: LayerSpec, k: int, s: int, d: int, pad: Padding | None, op: int, need: int
) -> int:
    """The smallest whole i (of any sign) for which the layer's output on an axis is at
    least ``need`` (s >= 1; ``pad`` None is 'same'). With P = p_b + p_a:

        same        ceil(i/s) >= need:                  i = (need - 1)*s + 1
        transposed  (i - 1)*s - P + k' + op >= need:    i = ceil((need - k' - op + P)/s) + 1
        conv, pool  floor((i + P - k')/s) + 1 >= need:  i = (need - 1)*s + k' - P
        ceil pool                                       i = (need - 1)*s + 1 + k' - P
                                                            - min(s, max(0, k' - p_a))

    Ceil pool: with A = i + P - k', q = ceil(A/s), r = q*s - A in [0, s), the output is
    q + 1 - [r >= k' - p_a]; for A in ((need - 2)*s, (need - 1)*s] it is need exactly when
    A > (need - 1)*s - (k' - p_a), below that range it is less, and at A = (need - 1)*s + 1
    it is at least need.
    """
    kk = effective_kernel(k, d)
    if pad is None:
        return (need - 1) * s + 1
    total = pad[0] + pad[1]
    if spec.transposed:
        return -(-(need - kk - op + total) // s) + 1
    if spec.pool is not None and spec.ceil_mode:
        return (need - 1) * s + 1 - min(s, max(0, kk - pad[1])) + kk - total
    return (need - 1) * s + kk - total


def _min_axis_input(spec: LayerSpec, a: int, n: int, need: int) -> int:
    """The smallest input on axis ``a`` for which this layer gives at least ``need``."""
    kernel, stride, dilation, output_padding = axis_values(spec, n)
    k, s, d, op = kernel[a], stride[a], dilation[a], output_padding[a]
    if k < 1 or s < 1 or d < 1:
        raise InputError("kernel, stride and dilation must be at least 1")
    padding = resolve_padding(spec.padding, n)
    least = k if spec.pool == "avg" and n == 3 else 1  # PyTorch's avg_pool3d rule
    pad = None if padding == "same" else padding[a]
    # every output formula grows with i, so no smaller input reaches ``need`` either
    return max(least, smallest_input(spec, k, s, d, pad, op, need))


def min_input(specs: Sequence[LayerSpec], n: int) -> tuple[int, ...]:
    """Per axis, the smallest input for which every layer yields at least one pixel.

    Solved backwards from the last layer (each layer's output grows with its input), in
    closed form per layer (`smallest_input`).
    """
    sizes = []
    for a in range(n):
        need = 1
        for spec in reversed(specs):
            need = check_digits(_min_axis_input(spec, a, n, need), "the smallest input")
        sizes.append(need)
    return tuple(sizes)


def with_padding(spec: LayerSpec, padding: tuple[Padding, ...]) -> LayerSpec:
    return spec._replace(padding=padding)


# --- where one output looks ----------------------------------------------------------------


def centre(sizes: tuple[int, ...]) -> tuple[int, ...]:
    """The middle output position per axis, (o - 1) // 2 (the earlier one of two)."""
    return tuple((o - 1) // 2 for o in sizes)


def field_region(field: Field, unit: int) -> tuple[int, int] | None:
    """The input pixels [first, last] in the receptive field of unit ``unit`` of a layer
    (docs/formulas.md section 2): its centre is start + unit*j, and it spans r pixels, so
    first = start + unit*j - r/2 = (2*start + 2*unit*j - r) / 2 (a whole number: 2*start - r
    is even). It may reach into the padding (below 0 or past the input). None where the
    receptive field is not defined."""
    if field.halves is None or field.jump is None or field.receptive_field is None:
        return None
    first = (field.halves + 2 * unit * field.jump - field.receptive_field) // 2
    return first, first + field.receptive_field - 1


def path_to(stack: StackResult, at: tuple[int, ...]) -> tuple[tuple[int, ...], ...]:
    """Per layer, the unit on the way to output position ``at`` of the last layer: the
    last layer's is ``at``; each earlier one is the middle tap of the window that the unit
    after it reads, u*s - p_b + d*((k - 1) // 2), moved into the layer's output where that
    tap falls in the padding."""
    units = [at]
    for index in range(len(stack.layers) - 1, 0, -1):
        result = stack.layers[index].result
        before = stack.layers[index - 1].result.output
        units.append(
            tuple(
                min(max(u * a.stride - a.padding[0] + a.dilation * ((a.kernel - 1) // 2), 0), n - 1)
                for u, a, n in zip(units[-1], result.axes, before, strict=True)
            )
        )
    return tuple(reversed(units))
