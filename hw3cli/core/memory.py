"""The memory of one training step: weights, gradients, optimizer state, and the
tensors autograd saves for backward (docs/formulas.md section 7).

Each layer kind has one rule for what its call saves (`SAVES`): a reference to its
input or its output tensor, or a new tensor (max pooling's int64 indices, dropout's
mask, batch norm's per-channel statistics). Tensors are followed through the calls by
identity: an in-place layer or a view hands on its input's storage, so a tensor that two
layers keep (an in-place ReLU's output that the next convolution saves too) is counted
once. No framework overhead, allocator caching or workspace is included.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal, NamedTuple

from hw3cli.core.ops import Op, numel

Optimizer = Literal["sgd", "momentum", "adam", "adamw"]
DType = Literal["float32", "float16", "bfloat16"]
OPTIMIZER_STATES: dict[str, int] = {"sgd": 0, "momentum": 1, "adam": 2, "adamw": 2}
DTYPE_BYTES: dict[str, int] = {"float32": 4, "float16": 2, "bfloat16": 2}
STEP_BYTES = 4  # Adam's `step`: one float32 scalar tensor per parameter tensor
STAT_BYTES = 4  # normalisation statistics are kept in float32
INDEX_BYTES = 8  # max pooling's indices are int64
MASK_BYTES = 1  # dropout's mask is bool (CUDA's fused dropout; the CPU keeps a float mask)


class Saved(NamedTuple):
    """One thing a call keeps for backward: an activation tensor (by the index of the op
    that made it, -1 the model's input), or a new tensor of ``values`` elements of
    ``size`` bytes each, per sample (``per_sample``) or once."""

    tensor: int | None
    values: int = 0
    size: int = 0
    per_sample: bool = True


Rule = Callable[[Op, int, int], list[Saved]]  # op, its input tensor, its output tensor


def _input(op: Op, x: int, y: int) -> list[Saved]:
    return [Saved(x)]


def _output(op: Op, x: int, y: int) -> list[Saved]:
    return [Saved(y)]


def _result_if_inplace(op: Op, x: int, y: int) -> list[Saved]:
    """leaky_relu and elu keep their input, their in-place forms the result."""
    return [Saved(y if op.inplace else x)]


def _input_or_copy(op: Op, x: int, y: int) -> list[Saved]:
    """hardtanh (ReLU6), silu, hardswish, hardsigmoid, mish keep their input; in place,
    a copy of it that no other layer shares."""
    return [Saved(None, numel(op.input))] if op.inplace else [Saved(x)]


def _pool_with_indices(op: Op, x: int, y: int) -> list[Saved]:
    return [Saved(x), Saved(None, numel(op.output), INDEX_BYTES)]


def _adaptive_avg(op: Op, x: int, y: int) -> list[Saved]:
    """To 1x1, PyTorch computes a mean, which keeps nothing; otherwise the input."""
    return [] if numel(op.output[1:]) == 1 else [Saved(x)]


def _batch_norm(op: Op, x: int, y: int) -> list[Saved]:
    """The input, and the batch's mean and inverse standard deviation per channel."""
    return [Saved(x), Saved(None, 2 * op.input[0], STAT_BYTES, per_sample=False)]


def _instance_norm(op: Op, x: int, y: int) -> list[Saved]:
    """Batch norm of the (1, N*C, ...) view: statistics per sample and channel, and with
    affine the weight repeated for every sample."""
    per_channel = 3 if op.arg("affine", False) else 2
    return [Saved(x), Saved(None, per_channel * op.input[0], STAT_BYTES)]


def _group_norm(op: Op, x: int, y: int) -> list[Saved]:
    return [Saved(x), Saved(None, 2 * int(op.arg("num_groups", 1)), STAT_BYTES)]


def _layer_norm(op: Op, x: int, y: int) -> list[Saved]:
    value = op.arg("normalized_shape", ())
    axes = len(value) if isinstance(value, (tuple, list)) else 1
    rows = numel(op.input[: len(op.input) - axes])
    return [Saved(x), Saved(None, 2 * rows, STAT_BYTES)]


def _dropout(op: Op, x: int, y: int) -> list[Saved]:
    p = op.arg("p", 0.5)
    return [Saved(None, numel(op.input), MASK_BYTES)] if p else []


def _feature_dropout(op: Op, x: int, y: int) -> list[Saved]:
    """Dropout1d/2d/3d multiply by a noise of one value per channel."""
    p = op.arg("p", 0.5)
    return [Saved(None, op.input[0], 0)] if p else []


def _nothing(op: Op, x: int, y: int) -> list[Saved]:
    return []


def _stochastic_depth(op: Op, x: int, y: int) -> list[Saved]:
    """In training, a per-sample noise (one value a sample) unless p is 0."""
    return [Saved(None, 1)] if op.arg("p", 0) else []


SAVES: dict[str, Rule] = {
    "Conv": _input,
    "ConvTranspose": _input,
    "Linear": _input,
    "BatchNorm": _batch_norm,
    "InstanceNorm": _instance_norm,
    "GroupNorm": _group_norm,
    "LayerNorm": _layer_norm,
    "ReLU": _output,
    "Sigmoid": _output,
    "Tanh": _output,
    "Softmax": _output,
    "LogSoftmax": _output,
    "Softmin": _output,
    "Softmax2d": _output,
    **{k: _result_if_inplace for k in ("LeakyReLU", "ELU", "CELU", "SELU")},
    **{k: _input_or_copy for k in ("ReLU6", "Hardtanh", "SiLU", "Hardswish", "Hardsigmoid")},
    "Mish": _input_or_copy,
    **{k: _input for k in ("GELU", "Softplus", "PReLU", "Softsign", "Tanhshrink", "LogSigmoid")},
    "MaxPool": _pool_with_indices,
    "AdaptiveMaxPool": _pool_with_indices,
    "AvgPool": _input,
    "AdaptiveAvgPool": _adaptive_avg,
    "global_avg_pool": _adaptive_avg,
    "Dropout": _dropout,
    "AlphaDropout": _dropout,
    "FeatureAlphaDropout": _feature_dropout,
    "Dropout1d": _feature_dropout,
    "Dropout2d": _feature_dropout,
    "Dropout3d": _feature_dropout,
    "ReflectionPad": _input,
    "ReplicationPad": _input,
    "StochasticDepth": _stochastic_depth,
    "mul": _input,  # scale * input keeps the input, and the scale (below: `other`)
}  # every other kind (views, flatten, adds, zero padding, upsampling) keeps nothing


class Memory(NamedTuple):
    """Bytes of one training step at ``batch``, and per call what it saves first."""

    batch: int
    weights: int
    gradients: int
    optimizer_state: int
    saved_activations: int
    inference_peak: int
    per_op: tuple[int, ...]  # saved bytes each call adds (a shared tensor to its first)

    @property
    def training_total(self) -> int:
        return self.weights + self.gradients + self.optimizer_state + self.saved_activations


class Settings(NamedTuple):
    optimizer: Optimizer = "adam"
    dtype: DType = "float32"
    amp: bool = False


def tensors_of(ops: Sequence[Op]) -> list[int]:
    """For each call, the tensor its output is: its own index, or for an in-place layer
    or a view, the tensor of its input (-1: the model's input)."""
    out: list[int] = []
    for i, op in enumerate(ops):
        source = out[op.source] if op.source >= 0 else -1
        out.append(source if op.inplace else i)
    return out


def _rule(op: Op) -> Rule:
    return SAVES.get(op.kind, SAVES.get(op.family, _nothing))


def _tensor_values(ops: Sequence[Op], model_input: tuple[int, ...]) -> dict[int, int]:
    """Elements per sample of each tensor (an in-place op's tensor is its input's)."""
    values = {-1: numel(model_input)}
    for i, op in enumerate(ops):
        values.setdefault(i, numel(op.output))
    return values


def saved_bytes(
    ops: Sequence[Op], model_input: tuple[int, ...], batch: int, act_bytes: int
) -> tuple[int, tuple[int, ...]]:
    """Total bytes autograd keeps, each tensor once, and what each call adds."""
    tensors = tensors_of(ops)
    values = _tensor_values(ops, model_input)
    kept: set[int] = set()
    per_op: list[int] = []
    for i, op in enumerate(ops):
        x = tensors[op.source] if op.source >= 0 else -1
        added = 0
        found = _rule(op)(op, x, tensors[i])
        if op.kind == "mul" and op.other is not None:
            found.append(Saved(tensors[op.other]))  # each operand is kept for the other
        for saved in found:
            if saved.tensor is not None:
                if saved.tensor not in kept:
                    kept.add(saved.tensor)
                    added += values[saved.tensor] * batch * act_bytes
            else:
                size = saved.size or act_bytes
                added += saved.values * size * (batch if saved.per_sample else 1)
        per_op.append(added)
    return sum(per_op), tuple(per_op)


def inference_peak(
    ops: Sequence[Op], model_input: tuple[int, ...], batch: int, act_bytes: int
) -> int:
    """The most activation bytes alive at once in a forward without autograd: at each
    call, the input batch (which the caller holds), every tensor made so far that a later
    call still reads, the call's output (none for an in-place call or a view), and max
    pooling's int64 indices, which PyTorch's CPU kernel makes even without autograd."""
    tensors = tensors_of(ops)
    values = _tensor_values(ops, model_input)
    last_use: dict[int, int] = {-1: max(len(ops) - 1, 0)}
    for i, op in enumerate(ops):
        last_use.setdefault(tensors[i], i)
        for src in (op.source, op.other):
            if src is not None:
                tensor = tensors[src] if src >= 0 else -1
                last_use[tensor] = max(last_use.get(tensor, i), i)
    change = [0] * (len(ops) + 1)  # alive bytes, as differences from one call to the next
    for tensor, end in last_use.items():
        change[max(tensor, 0)] += values[tensor] * batch * act_bytes
        change[end + 1] -= values[tensor] * batch * act_bytes
    for i, op in enumerate(ops):
        if op.family in ("MaxPool", "AdaptiveMaxPool"):
            indices = numel(op.output) * batch * INDEX_BYTES
            change[i] += indices
            change[i + 1] -= indices
    peak = alive = 0
    for delta in change[:-1]:
        alive += delta
        peak = max(peak, alive)
    return peak


def param_tensors(ops: Sequence[Op]) -> int:
    """Parameter tensors, each layer once (a layer called twice has one set)."""
    seen: dict[str, int] = {}
    for op in ops:
        seen.setdefault(op.name, op.param_tensors)
    return sum(seen.values())


def cast_params(ops: Sequence[Op]) -> int:
    """Weights autocast casts to half precision and the layers keep for backward: those of
    convolutions and Linear layers, without their biases (cast too, but not kept)."""
    seen: dict[str, int] = {}
    for op in ops:
        if op.family in ("Conv", "ConvTranspose", "Linear") and op.params:
            bias = op.output[0 if op.family != "Linear" else -1] if op.bias else 0
            seen.setdefault(op.name, op.params - bias)
    return sum(seen.values())


def step_memory(
    ops: Sequence[Op],
    model_input: tuple[int, ...],
    params: int,
    batch: int,
    settings: Settings | None = None,
) -> Memory:
    """docs/formulas.md section 7, with P parameters and b bytes per value:

    weights P*b, gradients P*b, optimizer state k*P*b (k = 0 sgd, 1 momentum, 2 adam
    and adamw) plus 4 bytes of ``step`` per parameter tensor for adam and adamw, and
    the saved activations. With ``amp`` the weights, gradients and state are float32, the
    activations half precision, and autocast's half copies of the convolution and Linear
    weights (kept by those layers for backward; not their biases) are added to the
    weights.
    """
    settings = settings or Settings()
    b = 4 if settings.amp else DTYPE_BYTES[settings.dtype]
    act = 2 if settings.amp else b
    weights = params * b + (2 * cast_params(ops) if settings.amp else 0)
    states = OPTIMIZER_STATES[settings.optimizer]
    optimizer = states * params * b
    if settings.optimizer in ("adam", "adamw"):
        optimizer += STEP_BYTES * param_tensors(ops)
    saved, per_op = saved_bytes(ops, model_input, batch, act)
    peak = inference_peak(ops, model_input, batch, act)
    return Memory(batch, weights, params * b, optimizer, saved, weights + peak, per_op)


def fit_batch(
    ops: Sequence[Op],
    model_input: tuple[int, ...],
    params: int,
    limit: int,
    settings: Settings | None = None,
) -> int | None:
    """The largest batch whose training step fits in ``limit`` bytes (0: none does;
    None: any does, as nothing grows with the batch).

    The total is affine in the batch, T(n) = T(0) + n * (T(1) - T(0)), so the answer is
    floor((limit - T(0)) / (T(1) - T(0))).
    """
    fixed = step_memory(ops, model_input, params, 0, settings).training_total
    per_sample = step_memory(ops, model_input, params, 1, settings).training_total - fixed
    if limit < fixed + per_sample:
        return 0 if limit < fixed or per_sample else None
    return (limit - fixed) // per_sample if per_sample else None
