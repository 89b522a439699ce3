"""A full tensor shape given as conv-shape's ``--input`` (``1x3x224x224``, ``3x224x224``).

``--input`` is the spatial size. Four or five numbers can only be a full shape: batch,
channels and 2 or 3 spatial axes, where the layout puts them (NCHW: channels second;
BWHC and NHWC: channels last). Three numbers are either a 3-D volume or channels and a
2-D image; the layers decide when they name their axes (``--kernel 3x3`` is 2-D,
``3x3x3`` is 3-D), as does an ``--in-channels`` equal to or different from the number
where channels stand. Otherwise a number of channels where channels stand (at most 4:
grey, RGB, RGBA) is a question hw3 cannot answer (exit 3, with both readings), and a
volume is read as such with a warning: a third spatial axis is never taken silently.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hw3cli.errors import InputError, Undecided, plural
from hw3cli.output import formats

if TYPE_CHECKING:
    from hw3cli.core.conv import LayerSpec
    from hw3cli.core.layout import Layout

LIKELY_CHANNELS = 4  # grey, RGB, RGBA: a number this small where channels stand


@dataclass(frozen=True)
class Reading:
    """What --input says: the spatial size, and the batch and channels a full shape gave."""

    spatial: tuple[int, ...]
    batch: int | None = None
    channels: int | None = None


def _split(size: tuple[int, ...], layout: Layout, batch: bool) -> Reading:
    """``size`` as (batch,) channels and space, where ``layout`` puts them."""
    rest = size[1:] if batch else size
    b = size[0] if batch else None
    if layout == "nchw":
        return Reading(tuple(rest[1:]), b, rest[0])
    return Reading(tuple(rest[:-1]), b, rest[-1])


def read_input(
    size: tuple[int, ...],
    layout: Layout,
    specs: Sequence[LayerSpec],
    in_channels: int | None,
) -> Reading:
    """--input read as a spatial size or a full shape (see the module's docstring).
    ``in_channels``: the --in-channels the user gave, or None."""
    text = "x".join(map(str, size))
    shape_name = {"nchw": "N, C, spatial", "nhwc": "N, spatial, C", "bwhc": "B, W, H, C"}
    if len(size) in (4, 5):
        reading = _split(size, layout, batch=True)
        formats.warn(
            f"--input {text} read as a full {layout.upper()} shape ({shape_name[layout]}): "
            f"batch {reading.batch}, {plural(reading.channels or 0, 'channel')}, spatial "
            f"{'x'.join(map(str, reading.spatial))}"
        )
        return reading
    if len(size) != 3:
        return Reading(size)
    from hw3cli.core.network import declared_axes

    image = _split(size, layout, batch=False)
    axes = declared_axes(specs)
    assert image.channels is not None
    spatial = "x".join(map(str, image.spatial))
    two_d = f"--input {spatial} --in-channels {image.channels}"
    if axes == 2 or (axes is None and in_channels == image.channels):
        why = "the layers have 2 axes" if axes == 2 else "--in-channels says so"
        formats.warn(
            f"--input {text} read as {plural(image.channels, 'channel')} and a {spatial} "
            f"image ({why})"
        )
        return image
    if axes == 3 or in_channels is not None:
        if image.channels <= LIKELY_CHANNELS:
            formats.warn(
                f"--input {text} has 3 spatial axes: a 3-D input (a volume, Conv3d). If "
                f"{image.channels} is the number of channels, give {two_d}"
            )
        return Reading(size)
    if image.channels <= LIKELY_CHANNELS:
        raise Undecided(
            f"{text} reads two ways with --layout {layout}: {plural(image.channels, 'channel')} "
            f"and a {spatial} image (a 2-D layer), or a {text} volume (a 3-D layer)",
            where="--input",
            hint=f"for the image give {two_d} (or --kernel with two sizes, e.g. 3x3); "
            f"for the volume give the kernel's three sizes, e.g. --kernel 3x3x3",
        )
    formats.warn(
        f"--input {text} has 3 spatial axes: read as a 3-D input (a volume, Conv3d). If "
        f"{image.channels} is the number of channels, give {two_d}"
    )
    return Reading(size)


def merged(
    reading: Reading, batch: int, in_channels: int, given: frozenset[str]
) -> tuple[int, int]:
    """The batch and channels of a full shape, checked against --batch and --in-channels
    given on the command line."""
    out = []
    for value, option, name, read in (
        (batch, "--batch", "batch", reading.batch),
        (in_channels, "--in-channels", "in_channels", reading.channels),
    ):
        if read is not None and name in given and value != read:
            raise InputError(
                f"{option} {value} contradicts --input, whose full shape says {read}",
                where=option,
                hint="give --input as the spatial size alone, or leave the option out",
            )
        out.append(read if read is not None else value)
    return out[0], out[1]
