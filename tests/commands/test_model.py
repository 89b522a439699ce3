"""``conv-shape --net MODEL``: models as PyTorch prints them, run whole.

Golden values are derived by hand (below each test) from the layer formulas of
docs/formulas.md (section 2): a convolution has prod(k) * C_in/g * C_out
weights plus C_out biases, a Linear in * out plus out, a BatchNorm 2C.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import ROOT, assert_clean_error, conv_json, invoke

MODELS = ROOT / "examples" / "models"


_json = conv_json


def _layers(data: dict[str, object]) -> list[dict[str, object]]:
    layers = data["layers"]
    assert isinstance(layers, list)
    return layers


def test_alexnet_parameters_and_shapes() -> None:
    # by hand: features 23,296 + 307,392 + 663,936 + 884,992 + 590,080 = 2,469,696;
    # classifier 37,752,832 + 16,781,312 + 4,097,000 = 58,631,144; total 61,100,840, which is
    # what sum(p.numel() for p in torchvision.models.alexnet().parameters()) gives.
    # 224 -> conv1 floor((224 + 4 - 11)/4) + 1 = 55 -> pool 27 -> 27 -> 13 -> 13 -> pool 6
    data = _json(["--net", str(MODELS / "alexnet.txt"), "--input", "224x224"])
    layers = _layers(data)
    features = sum(int(str(x["params"])) for x in layers if str(x["name"]).startswith("features"))
    classifier = sum(
        int(str(x["params"])) for x in layers if str(x["name"]).startswith("classifier")
    )
    assert (features, classifier, data["params"]) == (2_469_696, 58_631_144, 61_100_840)
    assert layers[0]["name"] == "features.0" and layers[0]["output_shape"] == [1, 64, 55, 55]
    assert layers[12]["output_shape"] == [1, 256, 6, 6]
    assert data["output_shape"] == [1, 1000]
    # the flatten is the only reading that fits in_features=9216: a note, not a warning
    notes = data["notes"]
    assert data["warnings"] == [] and isinstance(notes, list) and "flattened to 9216" in notes[0]


def test_small_cnn_for_48x48_grey_images() -> None:
    # by hand: 48 -> pool 24 -> pool 12 -> pool 6, 128 x 6 x 6 = 4608 features; params
    # 320 + 64 + 18,496 + 128 + 73,856 + 256 + 1,179,904 + 1,799 = 1,274,823
    data = _json(["--net", str(MODELS / "emotion_cnn.txt"), "--input", "48x48"])
    assert data["params"] == 1_274_823
    assert data["output_shape"] == [1, 7]
    flat = next(x for x in _layers(data) if x["kind"] == "Flatten")
    assert flat["output_shape"] == [1, 4608]


def test_a_wrong_in_features_names_the_layer_and_the_value_that_fixes_it() -> None:
    result = invoke(
        ["conv-shape", "--net", str(MODELS / "emotion_cnn_broken.txt"), "--input", "48x48"]
    )
    err = assert_clean_error(result)
    assert "classifier.2: Linear expects in_features=2304 but receives 4608" in err
    assert "mat1 and mat2 shapes cannot be multiplied (1x4608 and 2304x256)" in err
    assert "set in_features=4608" in err
    assert "the print shows the modules, not forward" in err


def test_resnet18_residual_blocks() -> None:
    # torchvision's resnet18: 11,689,512 parameters; 1,814,073,344 MACs at 224x224
    data = _json(["--net", str(MODELS / "resnet18.txt"), "--input", "224x224"])
    assert (data["params"], data["macs"]) == (11_689_512, 1_814_073_344)
    names = [x["name"] for x in _layers(data)]
    assert "layer2.0.downsample.0" in names and names[-1] == "fc"
    # an odd size: 97 -> 49 -> 25 -> 25 -> 13 -> 7 -> 4 -> 1
    odd = _json(["--net", str(MODELS / "resnet18.txt"), "--input", "97x97"])
    shapes = {x["name"]: x["output_shape"] for x in _layers(odd)}
    assert shapes["conv1"] == [1, 64, 49, 49] and shapes["layer4.1.bn2"] == [1, 512, 4, 4]


def test_a_residual_branch_that_does_not_match_is_named() -> None:
    text = (MODELS / "resnet18.txt").read_text()
    broken = text.replace(
        "(0): Conv2d(64, 128, kernel_size=(1, 1), stride=(2, 2)",
        "(0): Conv2d(64, 128, kernel_size=(1, 1), stride=(1, 1)",
    )
    err = assert_clean_error(invoke(["conv-shape", "--net", "-", "--input", "224x224"], broken))
    assert "layer2.0.downsample" in err and "128x56x56" in err and "128x28x28" in err


SEQUENTIAL_WITHOUT_FLATTEN = """Sequential(
  (0): Conv2d(1, 4, kernel_size=(3, 3), stride=(1, 1))
  (1): ReLU()
  (2): Linear(in_features=144, out_features=10, bias=True)
)
"""


def test_a_linear_after_a_feature_map_inside_a_sequential_asks_for_flatten() -> None:
    err = assert_clean_error(
        invoke(["conv-shape", "--net", "-", "--input", "8x8"], SEQUENTIAL_WITHOUT_FLATTEN)
    )
    assert "2: Linear (in_features=144) receives a feature map 4x6x6" in err
    assert "add nn.Flatten() before it" in err


LENET = """LeNet5(
  (conv1): Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2))
  (pool1): AvgPool2d(kernel_size=2, stride=2, padding=0)
  (conv2): Conv2d(6, 16, kernel_size=(5, 5), stride=(1, 1))
  (pool2): AvgPool2d(kernel_size=2, stride=2, padding=0)
  (fc1): Linear(in_features=400, out_features=120, bias=True)
  (fc2): Linear(in_features=120, out_features=84, bias=True)
  (fc3): Linear(in_features=84, out_features=10, bias=True)
)
"""


def test_lenet5_on_28x28_has_400_features() -> None:
    # by hand: 28 (+2+2) -> 28 -> pool 14 -> conv 5 -> 10 -> pool 5: 16 x 5 x 5 = 400
    data = _json(["--net", "-", "--input", "28x28"], LENET)
    shapes = {x["name"]: x["output_shape"] for x in _layers(data)}
    assert shapes["pool2"] == [1, 16, 5, 5] and shapes["fc1"] == [1, 120]
    assert data["params"] == 156 + 2416 + 48120 + 10164 + 850


def test_channels_that_do_not_match_are_named() -> None:
    err = assert_clean_error(
        invoke(["conv-shape", "--net", "-", "--input", "28x28", "--in-channels", "3"], LENET)
    )
    assert "conv1: Conv2d expects 1 input channels (in_channels=1) but receives 3" in err


def test_an_axis_below_one_and_an_unknown_class() -> None:
    err = assert_clean_error(invoke(["conv-shape", "--net", "-", "--input", "3x3"], LENET))
    assert "conv2" in err
    unknown = LENET.replace("AvgPool2d(kernel_size=2, stride=2, padding=0)", "Frobnicate()", 1)
    err = assert_clean_error(invoke(["conv-shape", "--net", "-", "--input", "28x28"], unknown))
    assert "unknown layer class Frobnicate (line 3)" in err and "pool1" in err


def test_plain_is_the_final_shape_and_the_table_has_the_tree() -> None:
    result = invoke(["conv-shape", "--net", "-", "--input", "28x28"], LENET)
    assert result.stdout == "1x10\n"
    table = invoke(
        ["conv-shape", "--net", "-", "--input", "28x28", "--format", "table"], LENET
    ).stdout
    assert "conv1: Conv2d" in table and "total params: 61,706" in table
    folded = invoke(
        [
            "conv-shape",
            "--net",
            str(MODELS / "alexnet.txt"),
            "--input",
            "224x224",
            "--format",
            "table",
            "--depth",
            "1",
        ]
    ).stdout
    assert "features: Sequential" in folded and "2,469,696" in folded
    assert "0: Conv2d" not in folded


def test_options_of_a_single_layer_are_refused_for_a_model() -> None:
    err = assert_clean_error(
        invoke(["conv-shape", "--net", "-", "--input", "28x28", "--explain"], LENET)
    )
    assert "--explain" in err and "a model" in err


@pytest.mark.parametrize("fmt", ["json", "plain"])
def test_a_printed_model_loads_neither_numpy_nor_rich(fmt: str, tmp_path: Path) -> None:
    model = tmp_path / "lenet.txt"
    model.write_text(LENET)
    code = (
        "import sys\nfrom hw3cli.cli import main\n"
        f"sys.argv = ['hw3', 'conv-shape', '--net', {str(model)!r}, '--input', '28x28', "
        f"'--format', {fmt!r}]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "assert 'numpy' not in sys.modules and 'rich' not in sys.modules, "
        "[m for m in ('numpy', 'rich') if m in sys.modules]\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_code_in_a_printed_model_is_refused_and_nothing_runs(tmp_path: Path) -> None:
    target = tmp_path / "ran"
    text = LENET.replace(
        "kernel_size=(5, 5)", f"kernel_size=__import__('os').system('touch {target}')", 1
    )
    err = assert_clean_error(invoke(["conv-shape", "--net", "-", "--input", "28x28"], text))
    assert "line 2" in err and not target.exists()


@settings(max_examples=150)
@given(st.data())
def test_mutated_models_end_in_a_result_or_a_clean_error(data: st.DataObject) -> None:
    # any change to a printed model's text: exit 0 with a shape, or exit 2/3 with Error:
    text = (MODELS / "resnet18.txt").read_text() if data.draw(st.booleans()) else LENET
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(text)))
        cut = data.draw(st.integers(0, 8))
        new = data.draw(st.text(alphabet="()0123456789,=x: -_.abcdefLRSeqlin\n", max_size=8))
        text = text[:at] + new + text[at + cut :]
    size = data.draw(st.sampled_from(["28x28", "224x224", "7", "3x3x3"]))
    result = invoke(["conv-shape", "--net", "-", "--input", size, "--format", "json"], text)
    # exit 3 where several hidden forward steps fit the mutated numbers equally
    assert result.exit_code in (0, 2, 3), (result.exit_code, result.stderr)
    if result.exit_code in (2, 3):
        assert result.stderr.startswith("Error:") and "Traceback" not in result.stderr


FIRE_AND_SE = """Net(
  (stem): Conv2d(3, 96, kernel_size=(3, 3), stride=(2, 2))
  (fire): Fire(
    (squeeze): Conv2d(96, 16, kernel_size=(1, 1), stride=(1, 1))
    (squeeze_activation): ReLU(inplace=True)
    (expand1x1): Conv2d(16, 64, kernel_size=(1, 1), stride=(1, 1))
    (expand1x1_activation): ReLU(inplace=True)
    (expand3x3): Conv2d(16, 64, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
    (expand3x3_activation): ReLU(inplace=True)
  )
  (se): SqueezeExcitation(
    (avgpool): AdaptiveAvgPool2d(output_size=1)
    (fc1): Conv2d(128, 8, kernel_size=(1, 1), stride=(1, 1))
    (fc2): Conv2d(8, 128, kernel_size=(1, 1), stride=(1, 1))
    (activation): ReLU()
    (scale_activation): Hardsigmoid()
  )
  (pool): AdaptiveAvgPool2d(output_size=(1, 1))
  (fc): Linear(in_features=128, out_features=10, bias=True)
)
"""


def test_fire_concatenates_and_squeeze_excitation_keeps_the_shape() -> None:
    # by hand: 33 -> stem floor((33 - 3)/2) + 1 = 16; Fire: 64 + 64 = 128 channels at
    # 16x16; SqueezeExcitation returns scale * input: 128x16x16. Params: 2,688 + 1,552 +
    # 1,088 + 9,280 + 1,032 + 1,152 + 1,290 = 18,082
    data = _json(["--net", "-", "--input", "33x33"], FIRE_AND_SE)
    shapes = {x["name"]: x["output_shape"] for x in _layers(data)}
    assert shapes["fire.expand3x3"] == [1, 64, 16, 16]
    assert shapes["se.fc2"] == [1, 128, 1, 1] and shapes["pool"] == [1, 128, 1, 1]
    assert data["output_shape"] == [1, 10] and data["params"] == 18_082
    # without the rule, a Fire's 3x3 expand would receive the 1x1 expand's output: refused
    plain = FIRE_AND_SE.replace("(fire): Fire(", "(fire): MyFire(")
    err = assert_clean_error(invoke(["conv-shape", "--net", "-", "--input", "33x33"], plain))
    assert "fire.expand3x3" in err


def test_squeeze_excitation_runs_in_forward_order() -> None:
    # printed avgpool, fc1, fc2, activation; forward runs the activation between fc1 and fc2
    data = _json(["--net", "-", "--input", "33x33"], FIRE_AND_SE)
    shapes = {x["name"]: x["output_shape"] for x in _layers(data)}
    assert shapes["se.activation"] == [1, 8, 1, 1]


MBCONV = """Net(
  (block): MBConv(
    (block): Sequential(
      (0): Conv2d(8, 16, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), bias=False)
    )
    (stochastic_depth): StochasticDepth(p=0.0, mode=row)
  )
  (same): MBConv(
    (block): Sequential(
      (0): Conv2d(16, 16, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)
    )
    (stochastic_depth): StochasticDepth(p=0.0, mode=row)
  )
)
"""


def test_stochastic_depth_runs_only_on_a_residual_path() -> None:
    # torchvision's MBConv calls stochastic_depth only when its output can be added to
    # its input: not in the first block (stride 2, 8 -> 16 channels), in the second
    names = [x["name"] for x in _layers(_json(["--net", "-", "--input", "8x8"], MBCONV))]
    assert "block.stochastic_depth" not in names and "same.stochastic_depth" in names


def test_a_model_ending_in_a_1x1_map_warns_or_flattens() -> None:
    text = LENET.replace("LeNet5(", "Tiny(").split("  (fc1)")[0] + ")\n"
    data = _json(["--net", "-", "--input", "20x20"], text)  # 20 -> 10 -> 6 -> 3
    assert data["output_shape"] == [1, 16, 3, 3] and data["warnings"] == []
    pooled = text.replace(
        "(pool2): AvgPool2d(kernel_size=2, stride=2, padding=0)",
        "(pool2): AdaptiveAvgPool2d(output_size=1)",
    )
    warned = _json(["--net", "-", "--input", "20x20"], pooled)
    assert "if its forward flattens it" in str(warned["warnings"])
    squeeze = _json(["--net", "-", "--input", "20x20"], pooled.replace("Tiny(", "SqueezeNet("))
    assert squeeze["output_shape"] == [1, 16]  # torchvision's SqueezeNet flattens at the end


def test_a_json_list_may_name_pytorch_classes() -> None:
    # kind in any case, 1d/2d/3d optional, PyTorch's argument names; declared input sizes
    # optional; an object without kind keeps the stack keys. Params by hand: 3*3*3*8 + 8
    # = 224, 2*8 = 16, 512*10 + 10 = 5,130
    net = json.dumps(
        [
            {"kind": "Conv2d", "out_channels": 8, "kernel_size": 3, "padding": 1},
            {"kind": "batchnorm"},
            {"kind": "ReLU", "name": "act"},
            {"kernel": 2, "pool": "max"},
            {"kind": "flatten"},
            {"kind": "Linear", "in_features": 512, "out_features": 10},
        ]
    )
    data = _json(["--net", "-", "--input", "16x16", "--in-channels", "3"], net)
    kinds = [x["kind"] for x in _layers(data)]
    assert kinds == ["Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d", "Flatten", "Linear"]
    assert _layers(data)[2]["name"] == "act"
    assert data["params"] == 224 + 16 + 5_130 and data["output_shape"] == [1, 10]
    wrong = net.replace('"in_features": 512', '"in_features": 500')
    err = assert_clean_error(
        invoke(["conv-shape", "--net", "-", "--input", "16x16", "--in-channels", "3"], wrong)
    )
    assert "5: Linear expects in_features=500 but receives 512" in err


# (printed layer, --input, --in-channels, output shape without the batch, params), each
# derived by hand from docs/formulas.md with the layer's numbers
KINDS = [
    ("Conv1d(4, 8, kernel_size=(3,), stride=(2,))", "17", 4, [8, 8], 3 * 4 * 8 + 8),
    (
        "Conv3d(2, 4, kernel_size=(3, 3, 3), stride=(1, 1, 1), padding=(1, 1, 1), bias=False)",
        "5x6x7",
        2,
        [4, 5, 6, 7],
        27 * 2 * 4,
    ),
    (
        "ConvTranspose2d(8, 4, kernel_size=(4, 4), stride=(2, 2), padding=(1, 1))",
        "7x7",
        8,
        [4, 14, 14],  # (7 - 1) * 2 - 2 + 4
        16 * 8 * 4 + 4,
    ),
    ("Conv2d(3, 6, kernel_size=(3, 3), stride=(1, 1), padding=same)", "10x10", 3, [6, 10, 10], 168),
    ("Conv2d(3, 6, kernel_size=(3, 3), stride=(1, 1), padding=valid)", "10x10", 3, [6, 8, 8], 168),
    ("Conv2d(4, 8, kernel_size=(3, 3), stride=(1, 1), groups=2)", "6x6", 4, [8, 4, 4], 152),
    (
        "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=True)",
        "7x7",
        3,
        [3, 4, 4],
        0,
    ),
    ("AvgPool1d(kernel_size=(3,), stride=(3,), padding=(0,))", "10", 2, [2, 3], 0),
    ("AdaptiveAvgPool2d(output_size=(None, 3))", "7x9", 2, [2, 7, 3], 0),
    ("AdaptiveMaxPool1d(output_size=4)", "10", 2, [2, 4], 0),
    (
        "BatchNorm1d(5, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)",
        "8",
        5,
        [5, 8],
        10,
    ),
    (
        "BatchNorm2d(3, eps=1e-05, momentum=0.1, affine=False, track_running_stats=True)",
        "4x4",
        3,
        [3, 4, 4],
        0,
    ),
    (
        "InstanceNorm2d(3, eps=1e-05, momentum=0.1, affine=False, track_running_stats=False)",
        "4x4",
        3,
        [3, 4, 4],
        0,
    ),
    ("GroupNorm(2, 4, eps=1e-05, affine=True)", "4x4", 4, [4, 4, 4], 8),
    ("LayerNorm((6,), eps=1e-05, elementwise_affine=True)", "6", 3, [3, 6], 12),
    ("Dropout2d(p=0.1, inplace=False)", "4x4", 3, [3, 4, 4], 0),
    ("Identity()", "4x4", 3, [3, 4, 4], 0),
    ("LeakyReLU(negative_slope=0.01)", "4x4", 3, [3, 4, 4], 0),
    ("GELU(approximate='none')", "4x4", 3, [3, 4, 4], 0),
    ("Softmax(dim=1)", "4x4", 3, [3, 4, 4], 0),
    ("Hardswish()", "4x4", 3, [3, 4, 4], 0),
    ("PReLU(num_parameters=3)", "4x4", 3, [3, 4, 4], 3),
    ("Upsample(scale_factor=2.0, mode='nearest')", "5x5", 3, [3, 10, 10], 0),
    ("Upsample(size=(7, 9), mode=bilinear)", "5x5", 3, [3, 7, 9], 0),
    ("Upsample(scale_factor=1.5, mode=nearest)", "5x5", 3, [3, 7, 7], 0),  # floor(7.5)
    ("ZeroPad2d((1, 2, 3, 4))", "5x5", 3, [3, 12, 8], 0),  # left, right; top, bottom
    ("ReflectionPad1d((2, 2))", "5", 3, [3, 9], 0),
    ("ConstantPad2d(padding=(1, 1, 1, 1), value=0.0)", "4x4", 3, [3, 6, 6], 0),
    ("Flatten(start_dim=1, end_dim=-1)", "4x5", 3, [60], 0),
    ("Linear(in_features=5, out_features=2, bias=False)", "5", 1, [1, 2], 10),
]


@pytest.mark.parametrize(("layer", "size", "channels", "shape", "params"), KINDS)
def test_every_layer_kind_in_its_printed_form(
    layer: str, size: str, channels: int, shape: list[int], params: int
) -> None:
    text = f"Sequential(\n  (0): {layer}\n)\n"
    args = ["--net", "-", "--input", size, "--in-channels", str(channels)]
    data = _json(args, text)
    assert data["output_shape"] == [1, *shape] and data["params"] == params


def test_the_layers_before_a_failure_are_shown_in_a_table() -> None:
    broken = (MODELS / "emotion_cnn_broken.txt").read_text()
    result = invoke(["conv-shape", "--net", "-", "--input", "48x48", "--format", "table"], broken)
    err = assert_clean_error(result)
    assert "classifier.2" in err
    assert "the layers before" in result.stdout and "1x4608" in result.stdout


MLP = """MLP(
  (fc1): Linear(in_features=784, out_features=128, bias=True)
  (relu): ReLU()
  (fc2): Linear(in_features=128, out_features=10, bias=True)
)
"""


@pytest.mark.parametrize("size", ["784", "28x28"])
def test_a_multilayer_perceptron_takes_features_or_an_image(size: str) -> None:
    # 784 is the features; a 28x28 image is flattened by the model's forward
    data = _json(["--net", "-", "--input", size], MLP)
    assert data["output_shape"] == [1, 10] and data["params"] == 784 * 128 + 128 + 1290
    # flattening the image is the only reading that fits: a note, never a warning
    notes = data["notes"]
    assert isinstance(notes, list)
    assert data["warnings"] == [] and any("flattened" in n for n in notes) == ("x" in size)
