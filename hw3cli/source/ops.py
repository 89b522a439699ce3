"""Shape rules of tensor operations that are not modules: broadcasting, views, joins.

Each takes full shapes (batch axis included) and returns the result's shape, or raises
`ShapeError` with PyTorch's own words for the failure (so that a user can search them).
The layers' rules (convolution, pooling, linear, norms) are not here: they live once in
`hw3cli.core.model.KINDS`, and functional calls reach them through that table.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

Shape = tuple[int, ...]


class ShapeError(Exception):
    """A shape PyTorch would refuse: its message, and a hint when one helps."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(message)


def dim_index(dim: int, rank: int) -> int:
    """A dim argument (negative counts from the end) as an index, as PyTorch checks it."""
    if not -max(rank, 1) <= dim < max(rank, 1):
        raise ShapeError(
            f"Dimension out of range (expected to be in range of [{-max(rank, 1)}, "
            f"{max(rank, 1) - 1}], but got {dim})"
        )
    return dim % max(rank, 1)


def broadcast(a: Shape, b: Shape) -> Shape:
    """NumPy's broadcasting, with PyTorch's message for sizes that do not match."""
    out: list[int] = []
    for i in range(1, max(len(a), len(b)) + 1):
        x = a[-i] if i <= len(a) else 1
        y = b[-i] if i <= len(b) else 1
        if x != y and 1 not in (x, y):
            axis = max(len(a), len(b)) - i
            raise ShapeError(
                f"The size of tensor a ({x}) must match the size of tensor b ({y}) at "
                f"non-singleton dimension {axis}"
            )
        out.append(max(x, y) if 1 in (x, y) else x)
    return tuple(reversed(out))


def view(shape: Shape, sizes: Sequence[int]) -> Shape:
    """x.view(*sizes) / x.reshape: one -1 is inferred; the number of values must agree."""
    total = math.prod(shape)
    spelled = "[" + ", ".join(map(str, sizes)) + "]"
    unknown = [i for i, s in enumerate(sizes) if s == -1]
    if len(unknown) > 1:
        raise ShapeError("only one dimension can be inferred")
    known = math.prod(s for s in sizes if s != -1)
    if any(s < -1 for s in sizes):
        raise ShapeError(f"invalid shape dimension {min(sizes)}")
    if unknown:
        if known == 0 or total % known:
            raise ShapeError(f"shape '{spelled}' is invalid for input of size {total}")
        out = list(sizes)
        out[unknown[0]] = total // known
        return tuple(out)
    if known != total:
        raise ShapeError(f"shape '{spelled}' is invalid for input of size {total}")
    return tuple(sizes)


def flatten(shape: Shape, start: int = 0, end: int = -1) -> Shape:
    if not shape:
        return (1,)
    s, e = dim_index(start, len(shape)), dim_index(end, len(shape))
    if s > e:
        raise ShapeError("flatten() has invalid args: start_dim cannot come after end_dim")
    return (*shape[:s], math.prod(shape[s : e + 1]), *shape[e + 1 :])


def cat(shapes: Sequence[Shape], dim: int) -> Shape:
    """torch.cat: equal ranks, equal sizes everywhere but ``dim``."""
    if not shapes:
        raise ShapeError("torch.cat(): expected a non-empty list of Tensors")
    first = shapes[0]
    d = dim_index(dim, len(first))
    for i, s in enumerate(shapes[1:], start=1):
        if len(s) != len(first):
            raise ShapeError(
                f"Tensors must have same number of dimensions: got {len(first)} and {len(s)}"
            )
        for axis in range(len(first)):
            if axis != d and s[axis] != first[axis]:
                raise ShapeError(
                    f"Sizes of tensors must match except in dimension {d}. Expected size "
                    f"{first[axis]} but got size {s[axis]} for tensor number {i} in the list.",
                    hint=f"the tensors joined are {', '.join(map(text, shapes))}",
                )
    return (*first[:d], sum(s[d] for s in shapes), *first[d + 1 :])


def stack(shapes: Sequence[Shape], dim: int) -> Shape:
    if not shapes:
        raise ShapeError("stack expects a non-empty TensorList")
    for i, s in enumerate(shapes[1:], start=1):
        if s != shapes[0]:
            raise ShapeError(
                f"stack expects each tensor to be equal size, but got {list(shapes[0])} at "
                f"entry 0 and {list(s)} at entry {i}"
            )
    d = dim_index(dim, len(shapes[0]) + 1)
    return (*shapes[0][:d], len(shapes), *shapes[0][d:])


def reduce(shape: Shape, dims: Sequence[int] | None, keepdim: bool) -> Shape:
    """mean/sum/amax over ``dims`` (all when None)."""
    if dims is None:
        return tuple(1 for _ in shape) if keepdim else ()
    picked = {dim_index(d, len(shape)) for d in dims}
    if keepdim:
        return tuple(1 if i in picked else s for i, s in enumerate(shape))
    return tuple(s for i, s in enumerate(shape) if i not in picked)


def squeeze(shape: Shape, dim: int | None) -> Shape:
    if dim is None:
        return tuple(s for s in shape if s != 1)
    d = dim_index(dim, len(shape))
    return shape if shape[d] != 1 else (*shape[:d], *shape[d + 1 :])


def unsqueeze(shape: Shape, dim: int) -> Shape:
    d = dim_index(dim, len(shape) + 1)
    return (*shape[:d], 1, *shape[d:])


def transpose(shape: Shape, a: int, b: int) -> Shape:
    out = list(shape)
    i, j = dim_index(a, len(shape)), dim_index(b, len(shape))
    out[i], out[j] = out[j], out[i]
    return tuple(out)


def permute(shape: Shape, dims: Sequence[int]) -> Shape:
    if len(dims) != len(shape):
        raise ShapeError(
            f"permute(sparse_coo): number of dimensions in the tensor input does not match "
            f"the length of the desired ordering of dimensions i.e. input.dim() = "
            f"{len(shape)} is not equal to len(dims) = {len(dims)}"
        )
    picked = [dim_index(d, len(shape)) for d in dims]
    if len(set(picked)) != len(picked):
        raise ShapeError("permute(): duplicate dims are not allowed.")
    return tuple(shape[i] for i in picked)


def split_sizes(size: int, split: int | Sequence[int]) -> list[int]:
    """torch.split's pieces along one axis."""
    if isinstance(split, int):
        if split <= 0:
            raise ShapeError("split_size can only be 0 if dimension size is 0")
        return [min(split, size - i) for i in range(0, size, split)]
    if sum(split) != size:
        raise ShapeError(
            f"split_with_sizes expects split_sizes to sum exactly to {size} (input tensor's "
            f"size at dimension), but got split_sizes={list(split)}"
        )
    return list(split)


def chunk_sizes(size: int, chunks: int) -> list[int]:
    if chunks <= 0:
        raise ShapeError("chunk expects `chunks` to be greater than 0")
    step = -(-size // chunks)
    return split_sizes(size, step) if size else [0]


def matmul(a: Shape, b: Shape) -> Shape:
    """torch.matmul's shapes (1-D, 2-D and batched)."""
    if not a or not b:
        raise ShapeError("both arguments to matmul need to be at least 1D")
    a2 = (1, *a) if len(a) == 1 else a
    b2 = (*b, 1) if len(b) == 1 else b
    if a2[-1] != b2[-2]:
        rows_a = math.prod(a2[:-1])
        raise ShapeError(
            f"mat1 and mat2 shapes cannot be multiplied ({rows_a}x{a2[-1]} and {b2[-2]}x{b2[-1]})"
        )
    batch = broadcast(a2[:-2], b2[:-2])
    out = (*batch, a2[-2], b2[-1])
    if len(a) == 1:
        out = (*out[:-2], out[-1])
    if len(b) == 1:
        out = out[:-1]
    return out


def affine_grid(theta: Shape, size: Sequence[int]) -> Shape:
    """F.affine_grid(theta, size): one (x, y) per output pixel, (N, H, W, 2)."""
    if len(size) != 4 or theta != (size[0], 2, 3):
        raise ShapeError(
            f"Expected a batch of 2D affine matrices of shape Nx2x3 for size {list(size)}. "
            f"Got {list(theta)}."
        )
    return (size[0], size[2], size[3], 2)


def grid_sample(x: Shape, grid: Shape) -> Shape:
    """F.grid_sample(x, grid): x's channels at the grid's points, (N, C, H_g, W_g)."""
    if len(x) != 4 or len(grid) != 4 or grid[0] != x[0] or grid[3] != 2:
        raise ShapeError(
            f"grid_sampler(): expected grid to have size 2 in last dimension and the same "
            f"batch as input, but got input with sizes {list(x)} and grid with sizes {list(grid)}"
        )
    return (x[0], x[1], grid[1], grid[2])


def index(shape: Shape, key: tuple[object, ...]) -> Shape:
    """x[key] for integers, slices, None and one Ellipsis."""
    out: list[int] = []
    ellipsis = sum(1 for k in key if k is Ellipsis)
    used = sum(1 for k in key if k is not None and k is not Ellipsis)
    if used > len(shape) or ellipsis > 1:
        raise ShapeError(f"too many indices for tensor of dimension {len(shape)}")
    axis = 0
    for k in key:
        if k is None:
            out.append(1)
        elif k is Ellipsis:
            skip = len(shape) - used
            out.extend(shape[axis : axis + skip])
            axis += skip
        elif isinstance(k, slice):
            out.append(len(range(*k.indices(shape[axis]))))
            axis += 1
        elif isinstance(k, int):
            if not -shape[axis] <= k < shape[axis]:
                raise ShapeError(
                    f"index {k} is out of bounds for dimension {axis} with size {shape[axis]}"
                )
            axis += 1
    out.extend(shape[axis:])
    return tuple(out)


def text(shape: Shape) -> str:
    return "x".join(map(str, shape)) if shape else "()"
