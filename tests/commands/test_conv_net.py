"""conv-shape with --net, --layer, --target, --min-input and --diagram."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import ROOT, assert_clean_error, invoke

ALEXNET = str(ROOT / "examples" / "alexnet.json")
VGG16 = str(ROOT / "examples" / "vgg16.json")


def test_net_json_per_layer() -> None:
    args = ["conv-shape", "--input", "224x224", "--in-channels", "3", "--net", ALEXNET]
    data = json.loads(invoke([*args, "--format", "json"]).stdout)
    assert data["input_shape"] == [1, 224, 224, 3]
    assert data["output_shape"] == [1, 6, 6, 256]
    assert data["params"] == 2_469_696
    first = data["layers"][0]
    assert first["name"] == "conv1"
    assert first["output_shape"] == [1, 55, 55, 64]
    assert first["receptive_field"] == [11, 11]
    assert first["jump"] == [4, 4]
    assert first["start"] == [3.5, 3.5]
    assert first["macs"] == 55 * 55 * 64 * 11 * 11 * 3
    assert data["macs"] == sum(layer["macs"] for layer in data["layers"])
    assert data["layers"][-1]["receptive_field"] == [195, 195]
    assert {"name", "output_shape", "params", "macs", "receptive_field", "jump", "start"} <= set(
        first
    )


def test_net_plain_prints_the_final_size() -> None:
    result = invoke(["conv-shape", "--input", "224x224", "--net", VGG16])
    assert (result.exit_code, result.stdout) == (0, "7x7\n")


def test_layer_syntax_equals_net_file(tmp_path: Path) -> None:
    net = tmp_path / "net.json"
    net.write_text(
        json.dumps(
            [
                {"kernel": 3, "padding": 1, "out_channels": 64},
                {"pool": "max", "kernel": 2},
                {"kernel": 4, "stride": 2, "padding": 1, "out_channels": 32, "transposed": True},
            ]
        )
    )
    base = ["conv-shape", "--input", "32x32", "--in-channels", "3", "--format", "json"]
    from_file = json.loads(invoke([*base, "--net", str(net)]).stdout)
    from_layers = json.loads(
        invoke(
            [
                *base,
                "--layer",
                "conv k=3 s=1 p=1 out=64",
                "--layer",
                "pool max k=2",
                "--layer",
                "convT k=4 s=2 p=1 out=32",
            ]
        ).stdout
    )
    for layer in from_layers["layers"]:
        layer.pop("name")
    for layer in from_file["layers"]:
        layer.pop("name")
    assert from_file == from_layers
    assert from_file["layers"][2]["receptive_field"] == [None, None]


def test_table_for_a_stack() -> None:
    result = invoke(["conv-shape", "--input", "224", "--net", ALEXNET, "--format", "table"])
    assert result.exit_code == 0
    assert "conv1" in result.stdout and "195" in result.stdout and "total" in result.stdout


def test_stack_markup_in_names_is_not_interpreted() -> None:
    result = invoke(
        [
            "conv-shape",
            "--input",
            "8",
            "--layer",
            "conv k=3 name=[bold]x[/bold]",
            "--format",
            "table",
        ]
    )
    assert "[bold]x[/bold]" in result.stdout


def test_stack_expect_and_strict() -> None:
    base = ["conv-shape", "--input", "224x224", "--net", ALEXNET]
    assert invoke([*base, "--expect", "6x6"]).exit_code == 0
    assert invoke([*base, "--expect", "7x7"]).exit_code == 1
    # AlexNet's first layer drops no pixel: (224 + 4 - 11) mod 4 = 1 pixel of padding
    assert invoke([*base, "--strict"]).exit_code == 0
    drops = invoke(["conv-shape", "--input", "10", "--layer", "conv k=3 s=2", "--strict"])
    assert drops.exit_code == 1


def test_target_readme_example() -> None:
    args = ["conv-shape", "--input", "224", "--kernel", "3", "--stride", "2", "--target", "112"]
    assert invoke(args).stdout == "0:1\n"
    data = json.loads(invoke([*args, "--format", "json"]).stdout)
    assert data["padding"] == [[0, 1]]
    assert data["output_shape"] == [1, 112, 1]


def test_target_two_axes_and_feed_back() -> None:
    args = ["conv-shape", "--input", "32x20", "--kernel", "5x3", "--stride", "2"]
    solved = invoke([*args, "--target", "16x10"]).stdout.strip()
    assert solved == "1:2,0:1"
    check = invoke([*args, "--padding", solved])
    assert check.stdout == "16x10\n"


def test_target_impossible() -> None:
    args = ["conv-shape", "--input", "32", "--kernel", "3", "--pool", "max", "--target", "40"]
    stderr = assert_clean_error(invoke(args))
    assert "no padding gives output 40" in stderr


def test_min_input() -> None:
    assert invoke(["conv-shape", "--net", ALEXNET, "--min-input"]).stdout == "63x63\n"
    assert invoke(["conv-shape", "--net", VGG16, "--min-input"]).stdout == "32x32\n"
    data = json.loads(
        invoke(["conv-shape", "--net", VGG16, "--min-input", "--format", "json"]).stdout
    )
    assert data["min_input"] == [32, 32]
    assert data["output_shape"] == [1, 1, 1, 512]
    # minus one fails
    assert_clean_error(invoke(["conv-shape", "--input", "31x31", "--net", VGG16]))


def test_min_input_single_layer_and_axes_from_input() -> None:
    args = ["conv-shape", "--kernel", "3", "--dilation", "2", "--min-input", "--input", "1x1x1"]
    assert invoke(args).stdout == "5x5x5\n"


def test_diagram() -> None:
    args = ["conv-shape", "--input", "10", "--kernel", "3", "--stride", "2", "--diagram"]
    result = invoke(args)
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "axis W: input 10, kernel 3, stride 2, dilation 1, padding 0:0 -> output 4, 1 dropped"
    )
    assert lines[1].split() == ["0", "1", "2", "3", "4", "5", "6", "7", "8", "x"]
    assert lines[2].split() == ["w0", "#", "#", "#"]
    assert len([line for line in lines if line.startswith("w")]) == 4
    assert "\x1b[" not in result.stdout


def test_diagram_dilation_and_padding() -> None:
    args = ["conv-shape", "--input", "6", "--kernel", "2", "--dilation", "3", "--padding", "1"]
    lines = invoke([*args, "--diagram"]).stdout.splitlines()
    assert lines[1].split() == [".", "0", "1", "2", "3", "4", "5", "."]
    assert lines[2].split() == ["w0", "#", "-", "-", "#"]


def test_diagram_long_axis_is_elided() -> None:
    args = ["conv-shape", "--input", "500", "--kernel", "3", "--diagram"]
    result = invoke(args, COLUMNS="80")
    assert all(len(line) <= 100 for line in result.stdout.splitlines())
    assert "~" in result.stdout and "..." in result.stdout


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--input", "8", "--net", ALEXNET, "--kernel", "3"], "--kernel: describes a single"),
        (["--input", "8", "--layer", "conv k=3 foo=1"], "unknown key 'foo'"),
        (["--input", "8", "--layer", "blah k=3"], "unknown layer kind"),
        (["--input", "8", "--layer", "pool k=3"], "pool needs max or avg"),
        (["--input", "8", "--layer", "conv s=2"], "has no kernel"),
        (["--input", "8", "--layer", "conv k=3 stray"], "'stray' is not key=value"),
        (["--input", "8", "--layer", "conv k="], "no value"),
        (["--input", "8", "--layer", "conv k=a"], "'a'"),
        (["--input", "8", "--layer", "conv k=3", "--layer", "conv k=9"], "layer 2"),
        (["--input", "8", "--layer", ""], "empty"),
        (["--input", "8", "--net", "/no/such.json"], "no such file"),
        (["--net", ALEXNET], "--input"),
        (["--input", "8"], "--kernel"),
        (["--input", "8", "--net", ALEXNET, "--target", "3"], "single layer"),
        (["--input", "8", "--kernel", "3", "--diagram", "--axis", "Q"], "no axis 'Q'"),
        (["--kernel", "3", "--target", "3", "--min-input"], "exclude"),
        (["--input", "8", "--kernel", "3", "--padding", "1", "--target", "8"], "leave --padding"),
    ],
)
def test_errors(args: list[str], words: str) -> None:
    stderr = assert_clean_error(invoke(["conv-shape", *args]))
    assert words in stderr
