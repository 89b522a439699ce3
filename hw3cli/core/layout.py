"""Where batch and channels stand in a full shape, and what the spatial axes are called.

``bwhc`` is the source document's (B, W, H, C); ``nhwc`` also puts channels last and
``nchw`` puts them second. Spatial sizes always stay in the order the user gave them.
"""

from __future__ import annotations

from typing import Literal

Layout = Literal["bwhc", "nhwc", "nchw"]
LAYOUTS: tuple[Layout, ...] = ("bwhc", "nhwc", "nchw")


def axis_names(n: int, layout: Layout) -> tuple[str, ...]:
    """W, H, D for ``bwhc``; H, W (2-D) and D, H, W (3-D) otherwise; W alone in 1-D."""
    if n == 1:
        return ("W",)
    if layout == "bwhc":
        return ("W", "H", "D")[:n]
    return ("H", "W") if n == 2 else ("D", "H", "W")


def layout_name(n: int, layout: Layout) -> str:
    """E.g. ``BWHC``, ``NHWC``, ``NCDHW``."""
    batch = "B" if layout == "bwhc" else "N"
    spatial = "".join(axis_names(n, layout))
    return f"{batch}C{spatial}" if layout == "nchw" else f"{batch}{spatial}C"


def full_shape(
    batch: int, channels: int, spatial: tuple[int, ...], layout: Layout
) -> tuple[int, ...]:
    """The whole tensor shape in the chosen layout."""
    if layout == "nchw":
        return (batch, channels, *spatial)
    return (batch, *spatial, channels)


def channel_axis(rank: int, layout: Layout) -> int:
    """Index of the channel axis in a tensor of the given rank."""
    return 1 if layout == "nchw" else rank - 1
