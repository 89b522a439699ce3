"""torchvision's block classes whose forward concatenates, splits, reuses a module or
makes tokens: each a named rule that checks its children.

Golden values: PyTorch 2.14 / torchvision 0.29, ``models.NAME(weights=None).eval()`` run
on zeros with a forward hook on every leaf module (and on nn.MultiheadAttention): the
output shape of each, the model's ``sum(p.numel() for p in model.parameters())``, and
MACs as docs/formulas.md section 2 counts them from the hooked shapes (convolutions and
Linear layers; attention: 4 L E^2 + 2 L^2 E). The prints are ``print(model)`` of the same
models, in examples/models/torchvision/.
"""

from __future__ import annotations

import pytest

from tests.conftest import ROOT, assert_clean_error, conv_json, invoke

TORCHVISION = ROOT / "examples" / "models" / "torchvision"

# model, input, output, parameters, MACs, leaves run, (leaf, output shape) checked
CASES = [
    (
        "densenet121",
        224,
        7_978_856,
        2_834_161_664,
        366,
        {
            "features.denseblock1.denselayer6.conv2": [1, 32, 56, 56],
            "features.transition1.pool": [1, 128, 28, 28],
            "features.norm5": [1, 1024, 7, 7],
        },
    ),
    (
        "googlenet",
        224,
        13_004_888,
        1_498_376_192,
        130,
        {"inception3a.branch4.1.bn": [1, 32, 28, 28], "inception5b.branch1.bn": [1, 384, 7, 7]},
    ),
    (
        "inception_v3",
        299,
        27_161_264,
        5_713_216_096,
        193,
        {
            "Mixed_5b.branch_pool.bn": [1, 32, 35, 35],
            "Mixed_6a.branch3x3.bn": [1, 384, 17, 17],
            "Mixed_7c.branch3x3dbl_3b.bn": [1, 384, 8, 8],
        },
    ),
    (
        "shufflenet_v2_x1_0",
        199,
        2_278_604,
        128_382_936,
        151,
        {"stage2.0.branch1.4": [1, 58, 25, 25], "stage2.1.branch2.7": [1, 58, 25, 25]},
    ),
    (
        "convnext_tiny",
        224,
        28_589_128,
        4_455_531_264,
        156,
        {
            "features.1.0.block.1": [1, 56, 56, 96],
            "features.1.0.block.6": [1, 96, 56, 56],
            "classifier.0": [1, 768, 1, 1],
        },
    ),
    (
        "vit_b_16",
        224,
        86_567_656,
        17_563_828_224,
        112,
        {
            "encoder.layers.encoder_layer_0.self_attention": [1, 197, 768],
            "encoder.ln": [1, 197, 768],
        },
    ),
    # resnet50: each Bottleneck's one relu is a row of its own once (PyTorch calls it three
    # times: 158 hooked calls, 126 modules run)
    ("resnet50", 224, 25_557_032, 4_089_184_256, 126, {"layer4.2.bn3": [1, 2048, 7, 7]}),
]


@pytest.mark.parametrize(("model", "size", "params", "macs", "count", "leaves"), CASES)
def test_torchvision_models_leaf_by_leaf(
    model: str, size: int, params: int, macs: int, count: int, leaves: dict[str, list[int]]
) -> None:
    data = conv_json(["--net", str(TORCHVISION / f"{model}.txt"), "--input", str(size)])
    assert data["output_shape"] == [1, 1000]
    assert (data["params"], data["macs"]) == (params, macs)
    layers = data["layers"]
    assert isinstance(layers, list)
    run = [x for x in layers if "op" not in x]  # functional steps are rows of their own
    assert len(run) == count
    shapes = {x["name"]: x["output_shape"] for x in run}
    for name, shape in leaves.items():
        assert shapes[name] == shape, name


def test_a_resnet_block_of_other_children_is_a_plain_container() -> None:
    # a CIFAR ResNet's BasicBlock (conv1, bn1, conv2, bn2, shortcut) is not torchvision's:
    # its children run in the printed order with the shortcut as a branch
    data = conv_json(["--net", str(ROOT / "examples/models/cifar_resnet18.txt"), "--input", "32"])
    layers = data["layers"]
    assert isinstance(layers, list)
    shapes = {x["name"]: x["output_shape"] for x in layers}
    assert shapes["layer2.0.shortcut.0"] == [1, 128, 16, 16]


def test_a_block_named_like_torchvisions_with_other_children_is_refused() -> None:
    text = (
        (TORCHVISION / "googlenet.txt")
        .read_text()
        .replace("(branch4): Sequential(", "(pool_branch): Sequential(", 1)
    )
    err = assert_clean_error(invoke(["conv-shape", "--net", "-", "--input", "224"], text), 3)
    assert "inception3a: Inception has children (branch1, branch2, branch3, pool_branch)" in err


def test_swin_is_refused_with_the_reason() -> None:
    err = assert_clean_error(
        invoke(["conv-shape", "--net", str(TORCHVISION / "swin_t.txt"), "--input", "224"]), 3
    )
    assert "SwinTransformer" in err and "shifted windows" in err


@pytest.mark.parametrize(
    ("model", "head", "right"),
    [
        ("densenet121", "(classifier): Linear(in_features=1024", 1024),
        ("vit_b_16", "(head): Linear(in_features=768", 768),
        ("convnext_tiny", "(2): Linear(in_features=768", 768),
        ("googlenet", "(fc): Linear(in_features=1024", 1024),
    ],
)
def test_a_swapped_head_names_the_layer_and_the_in_features(
    model: str, head: str, right: int
) -> None:
    text = (TORCHVISION / f"{model}.txt").read_text().replace(head, head.replace(str(right), "512"))
    size = "299" if model == "inception_v3" else "224"
    err = assert_clean_error(invoke(["conv-shape", "--net", "-", "--input", size], text))
    assert f"set in_features={right}" in err and "expects in_features=512" in err
