"""Printed and JSON models with arguments out of range: each is a clean exit 2 naming the
layer, never an internal error. Every number the model path takes or makes is held to
the single layers' bound of 2,000 digits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.conftest import assert_clean_error, invoke

HUGE = "9" * 4000
LONG = "9" * 1999  # within the bound: its products are not


DEFAULT_INPUT = ("--input", "8x8", "--in-channels", "3")


@pytest.mark.parametrize(
    ("layers", "extra", "says"),
    [
        ("Upsample(scale_factor=1e999)", (), "0: Upsample needs size or scale_factor (finite"),
        (
            "Upsample(scale_factor=1e308);Upsample(scale_factor=1e308)",
            (),
            "0: Upsample scale_factor=1e+308 on an axis of 8 gives more than about 1.8e308",
        ),
        (
            "Upsample(scale_factor=1e300);Upsample(scale_factor=1e300)",
            (),
            "1: Upsample scale_factor=1e+300 on an axis of 301 digits gives more than",
        ),
        ("Upsample(scale_factor=-2)", (), "needs size or scale_factor (finite, above 0)"),
        ("GroupNorm(0, 3)", (), "0: GroupNorm needs num_groups >= 1, got num_groups=0"),
        ("GroupNorm(-1, 3)", (), "0: GroupNorm needs num_groups >= 1, got num_groups=-1"),
        ("PReLU(num_parameters=-5)", (), "needs num_parameters >= 1, got num_parameters=-5"),
        ("PReLU(num_parameters=5)", (), "has num_parameters=5, but one weight a channel needs 3"),
        (f"PReLU(num_parameters={HUGE})", (), "0: PReLU: num_parameters has more than 2000"),
        # PyTorch: "Dimension out of range (expected to be in range of [-4, 3], but got 5)"
        ("Flatten(start_dim=5)", (), "start_dim=5 is out of range for its 4-axis input"),
        ("Flatten(end_dim=-5)", (), "end_dim=-5 is out of range for its 4-axis input"),
        (
            f"AdaptiveAvgPool2d(({HUGE}, 1))",
            (),
            "0: AdaptiveAvgPool2d: the number of values of its output has more than 2000",
        ),
        (
            f"AdaptiveAvgPool2d(({LONG}, {LONG}))",
            (),
            "0: AdaptiveAvgPool2d: the number of values of its output has more than 2000",
        ),
        (
            f"ZeroPad2d({HUGE});Flatten()",
            (),
            "0: ZeroPad2d: the number of values of its output has more",
        ),
        (
            "ReLU();Flatten()",
            ("--input", f"{LONG}x{LONG}", "--in-channels", "3"),
            "0: ReLU: the number of values of its output has more than 2000 digits",
        ),
        (
            f"Linear(4, {LONG});Linear({LONG}, {LONG})",
            ("--input", "4"),
            "1: Linear: its parameter count has more than 2000 digits",
        ),
    ],
)
@pytest.mark.parametrize("fmt", ["plain", "json", "table"])
def test_arguments_out_of_range_are_refused(
    tmp_path: Path, layers: str, extra: tuple[str, ...], says: str, fmt: str
) -> None:
    model = tmp_path / "model.txt"
    body = "".join(f"  ({i}): {layer}\n" for i, layer in enumerate(layers.split(";")))
    model.write_text(f"Sequential(\n{body})\n")
    result = invoke(["conv-shape", "--net", str(model), *(extra or DEFAULT_INPUT), "--format", fmt])
    assert says in assert_clean_error(result)
    assert "internal error" not in result.stderr


def test_prelu_with_one_weight_per_channel() -> None:
    # PyTorch: nn.PReLU(num_parameters=3) holds 3 parameters; nn.PReLU() holds 1
    for layer, params in (("PReLU(num_parameters=3)", 3), ("PReLU()", 1)):
        result = invoke(
            [
                "conv-shape",
                "--net",
                "-",
                "--input",
                "8x8",
                "--in-channels",
                "3",
                "--format",
                "json",
            ],
            f"Sequential(\n  (0): {layer}\n)\n",
        )
        assert result.exit_code == 0, result.stderr
        assert json.loads(result.stdout)["params"] == params


def test_the_same_bounds_hold_for_a_json_model(tmp_path: Path) -> None:
    net = tmp_path / "net.json"
    net.write_text(json.dumps([{"kind": "GroupNorm", "num_groups": 0, "num_channels": 3}]))
    args = ["conv-shape", "--net", str(net), "--input", "8x8", "--in-channels", "3"]
    assert "GroupNorm needs num_groups >= 1" in assert_clean_error(invoke(args))
    net.write_text('[{"kind": "Upsample", "scale_factor": 1e999}]')  # json reads Infinity
    assert "Upsample needs size or scale_factor" in assert_clean_error(invoke(args))


NUMBERS = st.one_of(
    st.integers(-3, 9).map(str),
    st.integers(1, 4000).map(lambda n: "9" * n),
    st.sampled_from(["1e308", "1e999", "0.5", "-1e-300", "None", "True"]),
)
KINDS = [
    "ReLU",
    "Flatten",
    "PReLU",
    "GroupNorm",
    "Upsample",
    "AdaptiveAvgPool2d",
    "ZeroPad2d",
    "Linear",
    "Conv2d",
    "MaxPool2d",
    "BatchNorm2d",
    "LayerNorm",
]


@st.composite
def layer_texts(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(KINDS))
    values = draw(st.lists(NUMBERS, max_size=3))
    key = draw(st.sampled_from(["", "scale_factor=", "start_dim=", "num_parameters=", "size="]))
    args = ", ".join(values[:-1] + [key + values[-1]] if values else [])
    return f"{kind}({args})"


@settings(max_examples=60, deadline=None)
@example(["ZeroPad2d(1e308)"], "plain")  # found by this test: a float as the padding
@example(["Flatten()", "ZeroPad2d(0)"], "plain")  # found: padding two axes of a flat tensor
@given(st.lists(layer_texts(), min_size=1, max_size=3), st.sampled_from(["plain", "json", "table"]))
def test_any_arguments_end_in_a_result_or_a_clean_error(layers: list[str], fmt: str) -> None:
    body = "".join(f"  ({i}): {layer}\n" for i, layer in enumerate(layers))
    result = invoke(
        ["conv-shape", "--net", "-", "--input", "8x8", "--in-channels", "3", "--format", fmt],
        f"Sequential(\n{body})\n",
    )
    assert result.exit_code in (0, 2), (layers, result.stderr)
    assert "Traceback" not in result.stderr
    if result.exit_code == 2:
        assert result.stderr.startswith("Error: ")
