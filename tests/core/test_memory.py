"""The memory of a training step (docs/formulas.md section 7), against PyTorch.

Golden values measured under PyTorch 2.14.1 on the CPU: the bytes of every tensor
``torch.autograd.graph.saved_tensors_hooks`` receives during one forward in training mode,
each storage once, the model's parameters and buffers left out; the optimizer's state as
the bytes of every tensor in ``optimizer.state`` after one ``step()``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hw3cli.core.memory import Memory, Settings, fit_batch, step_memory
from hw3cli.core.model import ModelResult, run_model
from hw3cli.core.ops import Op, model_ops
from hw3cli.tensor_io.printed import parse_printed
from tests.core.test_counts import CASES

MODELS = Path(__file__).parent.parent / "data" / "models"


def memory_of(
    text: str, shape: tuple[int, ...], batch: int, settings: Settings | None = None
) -> tuple[list[Op], ModelResult, Memory]:
    result = run_model(parse_printed(text + "\n", "case"), shape)
    ops, _ = model_ops(result)
    return ops, result, step_memory(ops, shape, result.params, batch, settings)


@pytest.mark.parametrize(
    ("case", "text", "shape", "counts", "saved"), CASES, ids=[c[0] for c in CASES]
)
def test_each_layer_kind_saves_what_pytorch_saves(
    case: str, text: str, shape: tuple[int, ...], counts: tuple[int, ...], saved: int
) -> None:
    _, _, memory = memory_of(text, shape, 2)
    if case == "dropout":
        # the CPU keeps dropout's mask as float32; hw3 counts CUDA's bool mask: 3 bytes
        # less for each of the 2 x 6 elements
        saved -= 3 * 2 * 6
    assert memory.saved_activations == saved


def test_a_tensor_two_layers_keep_counts_once() -> None:
    # ReLU(inplace=True) keeps its output, which the next convolution keeps too: 2 x 8 x 25
    # values once; ReLU6(inplace=True) keeps a copy of its own (PyTorch 2.14.1 measured)
    relu = next(c for c in CASES if c[0] == "relu_inplace")
    relu6 = next(c for c in CASES if c[0] == "relu6_inplace")
    _, _, a = memory_of(relu[1], relu[2], 2)
    _, _, b = memory_of(relu6[1], relu6[2], 2)
    assert b.saved_activations - a.saved_activations == 2 * 8 * 25 * 4


# torchvision 0.29.1's models at 224x224, batch 32, training mode, float32: (weights,
# SGD momentum state, Adam state, saved activations), measured as said above
WHOLE_MODELS = {
    "alexnet": (244403360, 244403360, 488806784, 119717888),
    "vgg11": (531453344, 531453344, 1062906776, 1563820032),
    "vgg16_bn": (553463968, 553463968, 1106928168, 4081484800),
    "resnet18": (46758048, 46758048, 93516344, 709793280),
    "resnet50": (102228128, 102228128, 204456900, 2749316608),
    "resnext50_32x4d": (100115616, 100115616, 200231876, 3590728192),
    "wide_resnet50_2": (275532960, 275532960, 551066564, 3590728192),
    "mobilenet_v2": (14019488, 14019488, 28039608, 2502841600),
    "mobilenet_v3_small": (10171424, 10171424, 20343416, 517482816),
    "efficientnet_b0": (21154192, 21154192, 42309236, 2822377728),
    "squeezenet1_0": (4993696, 4993696, 9987600, 1144554496),
    "regnet_y_400mf": (17376576, 17376576, 34754052, 1076295744),
}
# the CPU keeps dropout's mask as float32 where hw3 counts CUDA's bool: features dropped
DROPPED = {
    "alexnet": 9216 + 4096,
    "vgg11": 4096 + 4096,
    "vgg16_bn": 4096 + 4096,
    "mobilenet_v2": 1280,
    "mobilenet_v3_small": 1024,
    "efficientnet_b0": 1280,
    "squeezenet1_0": 512 * 13 * 13,
}


@pytest.mark.parametrize("name", sorted(WHOLE_MODELS))
def test_torchvision_models_training_memory(name: str) -> None:
    weights, momentum, adam, saved = WHOLE_MODELS[name]
    text = (MODELS / f"{name}.txt").read_text()
    ops, result, memory = memory_of(text, (3, 224, 224), 32, Settings("adam"))
    assert memory.weights == memory.gradients == weights
    assert memory.optimizer_state == adam
    assert (
        step_memory(ops, (3, 224, 224), result.params, 32, Settings("momentum")).optimizer_state
        == momentum
    )
    assert step_memory(ops, (3, 224, 224), result.params, 32, Settings("sgd")).optimizer_state == 0
    assert abs(memory.saved_activations - saved) <= 0.05 * saved  # the bound
    assert memory.saved_activations == saved - 32 * 3 * DROPPED.get(name, 0)  # exact
    assert memory.training_total == 2 * weights + adam + memory.saved_activations


def test_half_precision_and_amp() -> None:
    # docs/formulas.md section 7 by hand, on Conv2d(3, 8, 3, stride 2, padding 1) at 3x9x9
    # and batch 2: 224 parameters in 2 tensors; the convolution keeps its 2 x 243 inputs
    text, shape = CASES[0][1], CASES[0][2]
    _, _, half = memory_of(text, shape, 2, Settings("adam", "float16"))
    assert (half.weights, half.gradients) == (224 * 2, 224 * 2)
    assert half.optimizer_state == 2 * 224 * 2 + 2 * 4
    assert half.saved_activations == 2 * 243 * 2
    _, _, amp = memory_of(text, shape, 2, Settings("momentum", "float32", amp=True))
    assert amp.weights == 224 * 4 + 216 * 2  # float32 master, half copy of the conv weight
    assert (amp.gradients, amp.optimizer_state) == (224 * 4, 224 * 4)
    assert amp.saved_activations == 2 * 243 * 2


def test_fit_batch_is_the_largest_batch_that_fits() -> None:
    text = (MODELS / "resnet18.txt").read_text()
    ops, result, _ = memory_of(text, (3, 224, 224), 1)
    limit = 24 * 2**30
    n = fit_batch(ops, (3, 224, 224), result.params, limit)
    assert n is not None
    total = [step_memory(ops, (3, 224, 224), result.params, b).training_total for b in (n, n + 1)]
    assert total[0] <= limit < total[1]
    assert n == 1153
    assert fit_batch(ops, (3, 224, 224), result.params, 10**6) == 0  # not even the weights


def test_resnet18_at_batch_64_with_adam() -> None:
    # the question: 46,758,048 bytes of weights and of gradients, Adam's
    # 2 x 46,758,048 + 4 x 62 tensors, and 64 x 22,179,840 activation bytes per sample
    # plus 38,400 bytes of batch-norm statistics (PyTorch 2.14.1, measured at batch 2 and 32)
    _, _, memory = memory_of((MODELS / "resnet18.txt").read_text(), (3, 224, 224), 64)
    assert memory.saved_activations == 64 * 22_179_840 + 38_400
    assert memory.training_total == 2 * 46_758_048 + 93_516_344 + 64 * 22_179_840 + 38_400


# the most bytes of live tensors in a no_grad forward at batch 4 (PyTorch 2.14.1, CPU): a
# TorchDispatchMode sees every op's outputs and follows each storage until its last tensor
# is freed; the input batch is alive throughout, parameters and buffers are left out
INFERENCE_PEAK_BATCH_4 = {
    "alexnet": 7_745_536,
    "vgg11": 92_323_840,
    "vgg16_bn": 105_168_896,
    "resnet18": 28_098_560,
    "resnet50": 44_154_880,
    "resnext50_32x4d": 44_154_880,
    "wide_resnet50_2": 44_154_880,
    "mobilenet_v2": 44_154_880,
    "mobilenet_v3_small": 10_436_608,
    "efficientnet_b0": 44_154_880,
    "squeezenet1_0": 34_094_592,
    "regnet_y_400mf": 30_507_008,  # its blocks run the proj branch first
}


@pytest.mark.parametrize("name", sorted(INFERENCE_PEAK_BATCH_4))
def test_inference_peak_is_the_most_live_activation_bytes(name: str) -> None:
    text = (MODELS / f"{name}.txt").read_text()
    _, _, memory = memory_of(text, (3, 224, 224), 4)
    assert memory.inference_peak - memory.weights == INFERENCE_PEAK_BATCH_4[name]


def test_amp_and_bfloat16_against_pytorch_on_resnet18() -> None:
    # PyTorch 2.14.1, resnet18 at batch 2, training mode. Under torch.autocast("cpu",
    # bfloat16), saved_tensors_hooks receive 47,181,696 bytes: the half activations and
    # the half copies of the convolution and Linear weights (hw3's weights beyond the
    # float32 master copy). Converted to bfloat16 whole: 23,804,672 bytes saved (the CPU
    # keeps batch-norm statistics in bfloat16 too, 19,200 bytes less than hw3's float32)
    # and Adam's state 46,758,296 bytes (two bfloat16 moments, a float32 step per tensor).
    text = (MODELS / "resnet18.txt").read_text()
    _, result, amp = memory_of(text, (3, 224, 224), 2, Settings("adam", "float32", amp=True))
    assert amp.saved_activations + amp.weights - 4 * result.params == 47_181_696
    _, _, bf16 = memory_of(text, (3, 224, 224), 2, Settings("adam", "bfloat16"))
    assert bf16.saved_activations == 23_804_672 + 4_800 * 2 * 2
    assert bf16.optimizer_state == 46_758_296
