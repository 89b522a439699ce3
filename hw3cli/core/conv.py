"""Output size of convolution and pooling layers, per spatial axis (docs/formulas.md section 1).

Pure integer arithmetic: no NumPy, no Click, no files. Notation as in docs/formulas.md: i input
size, k kernel, s stride, d dilation, p_b / p_a padding before / after, op output padding,
k' = d*(k - 1) + 1 the effective kernel.

The records are NamedTuples: immutable as frozen dataclasses are, and made about eight
times as fast, which counts when ``hw3 conv-shape`` must answer as fast as Python starts.
For the same reason the annotations are evaluated (no ``from __future__ import
annotations``): typing.NamedTuple compiles every annotation given as text, a third of this
module's import time; the few naming types that exist only for the type checker are text.
"""

from math import prod
from typing import TYPE_CHECKING, NamedTuple

from hw3cli.errors import InputError

if TYPE_CHECKING:  # (for the annotations only: typing's Literal costs at start-up)
    from typing import Literal

    PoolKind = Literal["max", "avg"]
    PaddingRule = Literal["same", "valid"]
Padding = tuple[int, int]

MAX_AXES = 3
MAX_DIGITS = 2000
"""The most digits of any number a layer takes or gives. Python refuses to turn an int of
more than 4300 digits into text, and an explanation multiplies two of these numbers."""


class LayerSpec(NamedTuple):
    """One convolution, transposed convolution or pooling layer.

    Tuples hold one value per spatial axis, or a single value for every axis. ``stride``
    ``None`` means 1 for a convolution and the kernel for pooling (PyTorch's defaults).
    ``padding`` is ``"valid"`` (none), ``"same"`` (TensorFlow's rule) or ``(before, after)``
    pairs. ``out_channels`` ``None`` keeps the input's channels.
    """

    kernel: tuple[int, ...]
    stride: tuple[int, ...] | None = None
    padding: "tuple[Padding, ...] | PaddingRule" = "valid"
    dilation: tuple[int, ...] = (1,)
    out_channels: int | None = None
    groups: int = 1
    transposed: bool = False
    output_padding: tuple[int, ...] = (0,)
    pool: "PoolKind | None" = None
    ceil_mode: bool = False
    bias: bool = True
    name: str | None = None

    @property
    def kind(self) -> str:
        """``conv``, ``convT``, ``maxpool`` or ``avgpool``."""
        if self.pool is not None:
            return f"{self.pool}pool"
        return "convT" if self.transposed else "conv"


class AxisResult(NamedTuple):
    """What one layer does to one spatial axis."""

    name: str
    input: int
    kernel: int
    stride: int
    dilation: int
    padding: Padding
    output: int
    dropped: int = 0
    output_padding: int = 0
    same: bool = False
    ceil_dropped_window: bool = False
    remainder: int = 0  # (i + p_b + p_a - k') mod s: positions after the last window
    ceil_window: bool = False  # ceil mode gave a window more than floor mode would

    @property
    def effective_kernel(self) -> int:
        return effective_kernel(self.kernel, self.dilation)


class LayerResult(NamedTuple):
    """A layer applied to an input: shapes per axis, channels, parameters and MACs."""

    spec: LayerSpec
    in_channels: int
    out_channels: int
    axes: tuple[AxisResult, ...]
    params: int
    macs: int
    warnings: tuple[str, ...] = ()

    @property
    def input(self) -> tuple[int, ...]:
        return tuple(a.input for a in self.axes)

    @property
    def output(self) -> tuple[int, ...]:
        return tuple(a.output for a in self.axes)

    @property
    def dropped(self) -> int:
        return sum(a.dropped for a in self.axes)


# --- the formulas, one function each -------------------------------------------------


def effective_kernel(k: int, d: int) -> int:
    """k' = d*(k - 1) + 1: the span of a dilated kernel."""
    return d * (k - 1) + 1


def conv_output_size(i: int, k: int, s: int, d: int, p_b: int, p_a: int) -> int:
    """o = floor((i + p_b + p_a - k') / s) + 1 (the source document's formula, generalised)."""
    return (i + p_b + p_a - effective_kernel(k, d)) // s + 1


def transposed_output_size(i: int, k: int, s: int, d: int, p_b: int, p_a: int, op: int) -> int:
    """o = (i - 1)*s - (p_b + p_a) + k' + op."""
    return (i - 1) * s - (p_b + p_a) + effective_kernel(k, d) + op


def pool_output_size(
    i: int, k: int, s: int, d: int, p_b: int, p_a: int, ceil_mode: bool
) -> tuple[int, bool]:
    """Pooling output size and whether PyTorch's last-window rule removed a window.

    Floor mode is the convolution formula. Ceil mode: o = floor((i + p_b + p_a - k' + s - 1)
    / s) + 1, then minus 1 if (o - 1)*s >= i + p_b (the last window would start in the
    trailing padding).
    """
    if not ceil_mode:
        return conv_output_size(i, k, s, d, p_b, p_a), False
    o = (i + p_b + p_a - effective_kernel(k, d) + s - 1) // s + 1
    if (o - 1) * s >= i + p_b:
        return o - 1, True
    return o, False


def same_padding(i: int, k: int, s: int, d: int = 1) -> Padding:
    """TensorFlow's ``same``: o = ceil(i / s); total = max((o - 1)*s + k' - i, 0).

    The odd pixel goes after: p_b = floor(total / 2), p_a = total - p_b.
    """
    o = -(-i // s)
    total = max((o - 1) * s + effective_kernel(k, d) - i, 0)
    return total // 2, total - total // 2


def dropped_pixels(i: int, k: int, s: int, d: int, p_b: int, p_a: int, o: int) -> int:
    """Input pixels after the last window: max(0, r - p_a), r the uncovered tail.

    In floor mode r = (i + p_b + p_a - k') mod s; in ceil mode the last window may reach
    past the end, and then nothing is dropped.
    """
    tail = (p_b + i + p_a) - ((o - 1) * s + effective_kernel(k, d))
    return min(i, max(0, tail - p_a))


def conv_params(kernel: tuple[int, ...], c_in: int, c_out: int, groups: int, bias: bool) -> int:
    """prod(k) * (C_in / g) * C_out, plus C_out for the bias."""
    return prod(kernel) * (c_in // groups) * c_out + (c_out if bias else 0)


def conv_macs(
    kernel: tuple[int, ...],
    size: tuple[int, ...],
    c_in: int,
    c_out: int,
    groups: int,
) -> int:
    """Multiply-accumulates per sample: prod(size) * C_out * prod(k) * C_in / g.

    ``size`` is the output for a convolution and the input for a transposed convolution
    (every input pixel scatters its kernel into the output).
    """
    return prod(size) * c_out * prod(kernel) * c_in // groups


# --- validation and assembly ----------------------------------------------------------


_DIGITS_LIMIT = 10**MAX_DIGITS


def check_digits(value: int, what: str, where: str | None = None) -> int:
    """``value`` itself, or an InputError when |value| >= 10**MAX_DIGITS (too long to print).

    The message does not show the number: text of more than 4300 digits is what fails.
    """
    if value.bit_length() > 6000 and abs(value) >= _DIGITS_LIMIT:  # (2^6000 < 10^2000)
        raise InputError(
            f"{what} has more than {MAX_DIGITS} digits",
            where=where,
            hint="use smaller numbers",
        )
    return value


def per_axis(values: tuple[int, ...], n: int, what: str) -> tuple[int, ...]:
    """Broadcast one value to n axes, or check that there is one value per axis."""
    if len(values) == 1:
        return values * n
    if len(values) != n:
        raise InputError(
            f"{len(values)} values for an input with {n} spatial axes",
            where=what,
            hint=f"give one value for every axis or exactly {n}",
        )
    return values


def axis_values(
    spec: LayerSpec, n: int
) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """Kernel, stride, dilation and output padding with one value per axis (the stride
    defaulting to 1, or to the kernel for pooling)."""
    kernel = per_axis(spec.kernel, n, "kernel")
    if spec.stride is not None:
        stride = per_axis(spec.stride, n, "stride")
    else:
        stride = kernel if spec.pool is not None else (1,) * n
    dilation = per_axis(spec.dilation, n, "dilation")
    return kernel, stride, dilation, per_axis(spec.output_padding, n, "output-padding")


def axis_output_size(spec: LayerSpec, i: int, k: int, s: int, d: int, pad: Padding, op: int) -> int:
    """One axis's output size by the layer's own formula, without validation."""
    p_b, p_a = pad
    if spec.pool is not None:
        return pool_output_size(i, k, s, d, p_b, p_a, spec.ceil_mode)[0]
    if spec.transposed:
        return transposed_output_size(i, k, s, d, p_b, p_a, op)
    return conv_output_size(i, k, s, d, p_b, p_a)


def resolve_padding(
    padding: "tuple[Padding, ...] | PaddingRule", n: int
) -> 'tuple[Padding, ...] | Literal["same"]':
    if padding == "valid":
        return ((0, 0),) * n
    if padding == "same":
        return "same"
    if len(padding) == 1:
        return padding * n
    if len(padding) != n:
        raise InputError(
            f"{len(padding)} values for an input with {n} spatial axes",
            where="padding",
            hint=f"give one value for every axis or exactly {n}",
        )
    return padding


def _axis(
    name: str,
    i: int,
    k: int,
    s: int,
    d: int,
    pad: Padding | None,
    op: int,
    spec: LayerSpec,
) -> tuple[AxisResult, list[str]]:
    """One axis of one layer, or an InputError that names the axis and the numbers."""
    where = f"axis {name}"
    for label, value in (
        ("input size", i),
        ("kernel", k),
        ("stride", s),
        ("dilation", d),
        ("output padding", op),
    ):
        check_digits(value, label, where)
    for label, value, least in (("input size", i, 1), ("kernel", k, 1), ("stride", s, 1)):
        if value < least:
            raise InputError(f"{label} must be at least {least}, got {value}", where=where)
    if d < 1:
        raise InputError(f"dilation must be at least 1, got {d}", where=where)
    same = pad is None
    p_b, p_a = same_padding(i, k, s, d) if pad is None else pad
    kk = check_digits(effective_kernel(k, d), "the effective kernel d*(k - 1) + 1", where)
    check_digits(p_b, "padding before", where)
    check_digits(p_a, "padding after", where)
    if p_b < 0 or p_a < 0:
        raise InputError(f"padding must not be negative, got {p_b}:{p_a}", where=where)
    warnings: list[str] = []
    ceil_cut = False

    if spec.pool is not None:
        if spec.pool == "avg" and d != 1:
            raise InputError(
                f"average pooling has no dilation, got {d}",
                where=where,
                hint="drop --dilation, or use --pool max",
            )
        half = k // 2
        if p_b > half or p_a > half:
            raise InputError(
                f"pooling padding {p_b}:{p_a} exceeds half the kernel "
                f"(floor({k}/2) = {half}); PyTorch refuses it",
                where=where,
                hint=f"use padding of at most {half} on each side",
            )
        o, ceil_cut = pool_output_size(i, k, s, d, p_b, p_a, spec.ceil_mode)
    elif spec.transposed:
        if op < 0:
            raise InputError(f"output padding must not be negative, got {op}", where=where)
        if op and not (op < s or op < d):
            raise InputError(
                f"output padding {op} must be smaller than the stride ({s}) or the dilation ({d})",
                where=where,
                hint=f"use an output padding below {max(s, d)}",
            )
        o = transposed_output_size(i, k, s, d, p_b, p_a, op)
    else:
        o = conv_output_size(i, k, s, d, p_b, p_a)

    check_digits(o, "the output size", where)
    if o < 1:
        if spec.transposed:
            formula = f"({i} - 1)*{s} - ({p_b} + {p_a}) + {kk} + {op} = {o}"
            raise InputError(
                f"output size would be {o}: {formula}",
                where=where,
                hint="use less padding or a larger kernel or stride",
            )
        kernel_text = f"the effective kernel {kk} = {d}*({k} - 1) + 1" if d > 1 else f"kernel {k}"
        raise InputError(
            f"output size would be {o}: the padded input {i} + {p_b} + {p_a} = "
            f"{i + p_b + p_a} is smaller than {kernel_text}",
            where=where,
            hint="use a smaller kernel or dilation, more padding, or a larger input",
        )

    dropped = 0 if spec.transposed else dropped_pixels(i, k, s, d, p_b, p_a, o)
    remainder = 0 if spec.transposed else (i + p_b + p_a - kk) % s
    ceil_window = spec.pool is not None and o != conv_output_size(i, k, s, d, p_b, p_a)
    if dropped:
        first = i - dropped
        pixels = f"pixel {first}" if dropped == 1 else f"pixels {first}..{i - 1}"
        tail = dropped + p_a
        warnings.append(
            f"axis {name}: {dropped} input {pixels} (from 0) covered by no window and "
            f"dropped: the last {tail} of the padded axis {p_b} + {i} + {p_a} follow the last "
            f"window; pad {s - tail % s} more after (padding {p_b}:{p_a + s - tail % s})"
            + (", use ceil mode" if spec.pool is not None and not spec.ceil_mode else "")
            + f", or crop the input to {first}"
        )
    axis = AxisResult(
        name=name,
        input=i,
        kernel=k,
        stride=s,
        dilation=d,
        padding=(p_b, p_a),
        output=o,
        dropped=dropped,
        output_padding=op,
        same=same,
        ceil_dropped_window=ceil_cut,
        remainder=remainder,
        ceil_window=ceil_window,
    )
    return axis, warnings


def _channels(spec: LayerSpec, c_in: int) -> int:
    """Check channels and groups; return the output channels."""
    check_digits(c_in, "in-channels")
    if spec.out_channels is not None:
        check_digits(spec.out_channels, "out-channels")
    check_digits(spec.groups, "groups")
    if c_in < 1:
        raise InputError(f"must be at least 1, got {c_in}", where="in-channels")
    if spec.pool is not None:
        if spec.out_channels is not None and spec.out_channels != c_in:
            raise InputError(
                f"pooling keeps the channels ({c_in}); got out-channels {spec.out_channels}",
                where="out-channels",
            )
        if spec.groups != 1:
            raise InputError(f"pooling has no groups, got {spec.groups}", where="groups")
        return c_in
    c_out = c_in if spec.out_channels is None else spec.out_channels
    if c_out < 1:
        raise InputError(f"must be at least 1, got {c_out}", where="out-channels")
    if spec.groups < 1:
        raise InputError(f"must be at least 1, got {spec.groups}", where="groups")
    if c_in % spec.groups or c_out % spec.groups:
        raise InputError(
            f"{spec.groups} must divide both in-channels ({c_in}) and out-channels ({c_out})",
            where="groups",
        )
    return c_out


def conv_layer(
    spec: LayerSpec,
    input_size: tuple[int, ...],
    in_channels: int = 1,
    axis_names: tuple[str, ...] | None = None,
) -> LayerResult:
    """Apply one layer to an input of 1 to 3 spatial axes.

    Raises InputError, naming the axis and the numbers, for every layer PyTorch refuses
    (and for ``same`` padding on a transposed convolution, which has no such rule).
    """
    n = len(input_size)
    if not 1 <= n <= MAX_AXES:
        raise InputError(f"1 to {MAX_AXES} spatial axes, got {n}", where="input")
    names = axis_names or ("W", "H", "D")[:n]
    kernel, stride, dilation, output_padding = axis_values(spec, n)
    padding = resolve_padding(spec.padding, n)

    if spec.pool is not None and spec.transposed:
        raise InputError("a layer is either pooling or a transposed convolution, not both")
    if spec.ceil_mode and spec.pool is None:
        raise InputError("ceil mode applies only to pooling", where="ceil-mode")
    if not spec.transposed and any(output_padding):
        raise InputError(
            "output padding applies only to a transposed convolution", where="output-padding"
        )
    if spec.transposed and padding == "same":
        raise InputError(
            "'same' padding is not defined for a transposed convolution",
            where="padding",
            hint="give the padding as numbers, e.g. --padding 1",
        )
    c_out = _channels(spec, in_channels)
    if spec.pool == "avg" and n == 3:
        # PyTorch's avg_pool3d (alone among the pools) checks the unpadded input.
        for a in range(n):
            if input_size[a] < kernel[a]:
                raise InputError(
                    f"input size {input_size[a]} is smaller than the kernel {kernel[a]}; "
                    "PyTorch's 3-D average pooling refuses this whatever the padding",
                    where=f"axis {names[a]}",
                )

    axes: list[AxisResult] = []
    warnings: list[str] = []
    for a in range(n):
        pad = None if padding == "same" else padding[a]
        axis, notes = _axis(
            names[a], input_size[a], kernel[a], stride[a], dilation[a], pad, output_padding[a], spec
        )
        axes.append(axis)
        warnings.extend(notes)

    if spec.pool is not None:
        params = macs = 0
    else:
        params = conv_params(kernel, in_channels, c_out, spec.groups, spec.bias)
        size = input_size if spec.transposed else tuple(ax.output for ax in axes)
        macs = conv_macs(kernel, size, in_channels, c_out, spec.groups)
        check_digits(params, "the number of parameters")
        check_digits(macs, "the number of MACs per sample")
    return LayerResult(
        spec=spec,
        in_channels=in_channels,
        out_channels=c_out,
        axes=tuple(axes),
        params=params,
        macs=macs,
        warnings=tuple(warnings),
    )
