"""Each tool's count, rule by rule (docs/formulas.md section 6), against the tools.

Golden values: printed by torchinfo 1.8.0 (``summary(...).total_mult_adds``), fvcore
0.1.5 (``FlopCountAnalysis(model.eval(), x).total()``), ptflops 0.7.5
(``get_model_complexity_info(..., backend="pytorch")``), ultralytics-thop 2.2.3
(``thop.profile``) and ``torch.utils.flop_counter.FlopCounterMode`` under PyTorch 2.14.1
and torchvision 0.29.1, for the model whose ``print(model)`` is given, at batch 1.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from hw3cli.core.counts import _windows, count_all
from hw3cli.core.model import run_model
from hw3cli.core.ops import model_ops
from hw3cli.tensor_io.printed import parse_printed

MODELS = Path(__file__).parent.parent / "data" / "models"
TOOLS = ("torchinfo", "fvcore", "ptflops", "thop", "flop_counter")

# one object per case: "print" what print(model) shows, "input" (C, *spatial), each
# tool's number, and "saved_bytes_batch_2" what autograd saves at batch 2 in training
# mode, float32 (see tests/core/test_memory.py)
CASES = [
    (
        c["case"],
        c["print"],
        tuple(c["input"]),
        tuple(c[tool] for tool in TOOLS),
        c["saved_bytes_batch_2"],
    )
    for c in json.loads((Path(__file__).parent.parent / "data" / "layer_kinds.json").read_text())
]


def counts_of(text: str, shape: tuple[int, ...]) -> dict[str, int]:
    result = run_model(parse_printed(text + "\n", "case"), shape)
    ops, _ = model_ops(result)
    counts = count_all(ops)
    return {tool: counts.of(tool) for tool in (*TOOLS, "macs", "flops")}


@pytest.mark.parametrize(
    ("case", "text", "shape", "expected", "saved"), CASES, ids=[c[0] for c in CASES]
)
def test_each_layer_kind_counts_as_each_tool_does(
    case: str, text: str, shape: tuple[int, ...], expected: tuple[int, ...], saved: int
) -> None:
    found = counts_of(text, shape)
    assert tuple(found[tool] for tool in TOOLS) == expected


def test_hw3_macs_leave_out_the_bias_and_flops_double_them() -> None:
    # Conv2d(3, 8, 3, stride 2, padding 1) on 3x9x9: 8 x 5 x 5 outputs of 27 MACs each
    found = counts_of(CASES[0][1], CASES[0][2])
    assert found["macs"] == 8 * 5 * 5 * 27 == 5400
    assert found["flops"] == 2 * 5400 == found["flop_counter"]
    assert found["ptflops"] == 5400 + 8 * 5 * 5  # the bias: one add per output


# torchvision 0.29.1's classifiers at 1x3x224x224, printed to tests/data/models (the
# last four have squeeze-and-excitation, Fire's concatenation, MBConv and RegNet blocks):
# (torchinfo, fvcore, ptflops, thop, flop_counter), each printed by that tool
WHOLE_MODELS = {
    "alexnet": (714682664, 714197696, 716441128, 714206912, 1428376960),
    "vgg11": (7616525288, 7609115136, 7643686888, 7609140224, 15218180096),
    "vgg16_bn": (15483829480, 15497384448, 15550320616, 15524504576, 30940528640),
    "resnet18": (1814083944, 1819065856, 1825313768, 1824033792, 3628146688),
    "resnet50": (4089238376, 4111512576, 4132436968, 4133742592, 8178368512),
    "resnext50_32x4d": (4230549096, 4259381248, 4286878696, 4288184320, 8460959744),
    "wide_resnet50_2": (11398090344, 11426922496, 11454419944, 11455725568, 22796042240),
    "mobilenet_v2": (300809384, 314193216, 320300008, 327486720, 601548544),
    "mobilenet_v3_small": (56527424, 59649536, 60910032, 62477944, 113020800),
    "efficientnet_b0": (385867108, 401659392, 410196896, 415145024, 771629504),
    "squeezenet1_0": (823270824, 819093576, 836821960, 819094576, 1637849152),
    "regnet_y_400mf": (401876208, 410406088, 418388672, 418183352, 803685696),
}


@pytest.mark.parametrize("name", sorted(WHOLE_MODELS))
def test_torchvision_models_read_from_their_prints_count_as_every_tool(name: str) -> None:
    text = (MODELS / f"{name}.txt").read_text()
    found = counts_of(text, (3, 224, 224))
    assert tuple(found[tool] for tool in TOOLS) == WHOLE_MODELS[name]
    assert found["flops"] == found["flop_counter"]  # both are 2 x MACs without bias


def test_the_resnet18_numbers_of_the_issue() -> None:
    # the five numbers five tools print for torchvision's ResNet-18, and hw3's MACs
    found = counts_of((MODELS / "resnet18.txt").read_text(), (3, 224, 224))
    assert found == {
        "torchinfo": 1_814_083_944,
        "fvcore": 1_819_065_856,
        "ptflops": 1_825_313_768,
        "thop": 1_824_033_792,
        "flop_counter": 3_628_146_688,
        "macs": 1_814_073_344,
        "flops": 3_628_146_688,
    }


def test_bottleneck_calls_its_relu_three_times_and_ptflops_counts_each_call() -> None:
    # ptflops counts a ReLU call twice (module hook and patched F.relu); a Bottleneck
    # calls its one relu after bn1, bn2 and the add: the three calls of resnet50's
    # layer1.0 are on 64x56x56, 64x56x56 and 256x56x56
    result = run_model(parse_printed((MODELS / "resnet50.txt").read_text(), "r"), (3, 224, 224))
    ops, notes = model_ops(result)
    relus = [op.input for op in ops if op.name == "layer1.0.relu"]
    assert sorted(relus) == [(64, 56, 56), (64, 56, 56), (256, 56, 56)]
    assert [op.kind for op in ops if op.name == "layer1.0.add"] == ["add"]
    assert notes == []


@given(
    size=st.integers(1, 40),
    k=st.integers(1, 9),
    s=st.integers(1, 5),
    pb=st.integers(0, 4),
    pa=st.integers(0, 4),
    include=st.booleans(),
    extra=st.integers(0, 1),
)
def test_avgpool_window_sum_in_closed_form_equals_thops_loop(
    size: int, k: int, s: int, pb: int, pa: int, include: bool, extra: int
) -> None:
    # thop's count_avgpool adds the overlap of every window with the (padded) input
    padded = size + pb + pa
    assume(padded >= k)
    outputs = (padded - k) // s + 1 + extra  # extra: a ceil-mode window past the end
    lower, upper = (-pb, size + pa) if include else (0, size)
    loop = sum(max(min(i * s - pb + k, upper) - max(i * s - pb, lower), 0) for i in range(outputs))
    assume(all(min(i * s - pb + k, upper) >= max(i * s - pb, lower) for i in range(outputs)))
    assert _windows(size, outputs, k, s, (pb, pa), include) == loop


@given(i=st.integers(1, 300), o=st.integers(1, 300))
def test_adaptive_window_sizes_add_up_to_i_plus_o_minus_gcd(i: int, o: int) -> None:
    # PyTorch's adaptive window j spans floor(j i / o) to ceil((j + 1) i / o)
    loop = sum(-(-(j + 1) * i // o) - j * i // o for j in range(o))
    assert loop == i + o - math.gcd(i, o)
