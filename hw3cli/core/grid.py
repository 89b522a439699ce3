"""The cells a layer's windows slide over, one axis at a time: the geometry of its
drawings (`hw3cli.output.svg`), kept apart from the shape arithmetic of `hw3cli.core.conv`
so that a plain ``conv-shape`` does not build it.

Pure integer arithmetic, in the notation of docs/formulas.md.
"""

from __future__ import annotations

from typing import NamedTuple

from hw3cli.core.conv import AxisResult, effective_kernel


class Grid(NamedTuple):
    """One axis of a layer as conv_arithmetic draws it: the cells its windows slide over.

    A convolution or pooling layer: ``before`` padding cells, the ``cells`` = i input
    pixels, ``after`` padding cells; window w starts at cell w*s. A transposed convolution
    is drawn as its equivalent direct convolution (docs/formulas.md section 1): s - 1 zeros
    between input pixels (``cells`` = (i - 1)*s + 1, a pixel every ``spacing`` = s cells),
    k' - 1 - p_b zeros before and k' - 1 - p_a + op after, windows of stride 1. Where that
    padding would be negative (p > k' - 1) the direct convolution crops: ``crop_before`` /
    ``crop_after`` cells of the zero-inserted input lie before the first window / after the
    last. ``beyond``: cells past the padding that ceil mode's last window reaches.
    """

    before: int
    cells: int
    after: int
    spacing: int
    stride: int
    kernel: int
    dilation: int
    output: int
    dropped: int
    crop_before: int = 0
    crop_after: int = 0

    @property
    def span(self) -> int:
        """k', the cells one window spans."""
        return effective_kernel(self.kernel, self.dilation)

    @property
    def length(self) -> int:
        """Padding, input and padding: the cells drawn before any ceil-mode extra."""
        return self.before + self.cells + self.after

    def window(self, w: int) -> int:
        """The first cell of window w: crop_before + w * stride."""
        return self.crop_before + w * self.stride

    def taps(self, w: int) -> range:
        """The cells window w reads: start, start + d, ..., start + (k - 1)*d."""
        start = self.window(w)
        return range(start, start + self.span, self.dilation)

    @property
    def beyond(self) -> int:
        """Cells past the padding that the last window reaches (ceil mode), else 0."""
        return max(0, self.window(self.output - 1) + self.span - self.length)

    def cell(self, x: int) -> str:
        """What cell x holds: ``pad``, ``input``, ``zero`` (inserted between the pixels of a
        transposed convolution), ``dropped`` (an input pixel no window covers), ``cropped``
        or ``beyond``."""
        if x < 0 or x >= self.length:
            return "beyond"
        if x < self.before or x >= self.before + self.cells:
            return "pad"
        offset = x - self.before
        if offset < self.crop_before or offset >= self.cells - self.crop_after:
            return "cropped"
        if offset % self.spacing:
            return "zero"
        if offset // self.spacing >= self.first_dropped:
            return "dropped"
        return "input"

    def pixel(self, x: int) -> int:
        """The input pixel at cell x (an ``input`` or ``dropped`` cell), from 0."""
        return (x - self.before) // self.spacing

    @property
    def pixels(self) -> int:
        """The input's pixels: i = (cells - 1) / spacing + 1."""
        return (self.cells - 1) // self.spacing + 1

    @property
    def first_dropped(self) -> int:
        """The first input pixel no window covers (= pixels when none is dropped)."""
        return self.pixels - self.dropped


def grid(axis: AxisResult, transposed: bool) -> Grid:
    """The cells of `Grid` for one axis of a layer (for a transposed convolution, those of
    the equivalent direct convolution)."""
    k, s, d = axis.kernel, axis.stride, axis.dilation
    if not transposed:
        p_b, p_a = axis.padding
        return Grid(p_b, axis.input, p_a, 1, s, k, d, axis.output, axis.dropped)
    kk = effective_kernel(k, d)
    before = kk - 1 - axis.padding[0]
    after = kk - 1 - axis.padding[1] + axis.output_padding
    return Grid(
        before=max(0, before),
        cells=(axis.input - 1) * s + 1,
        after=max(0, after),
        spacing=s,
        stride=1,
        kernel=k,
        dilation=d,
        output=axis.output,
        dropped=0,
        crop_before=max(0, -before),
        crop_after=max(0, -after),
    )
