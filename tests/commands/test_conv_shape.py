"""``hw3 conv-shape`` through Click, as CLI.md writes it: data on stdout, messages on stderr."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import ROOT, assert_clean_error, invoke


def test_card_example_plain() -> None:
    # CLI.md's card example, the source document's 32 -> 30.
    result = invoke(["conv-shape", "--input", "32x32", "--kernel", "3,3"])
    assert result.exit_code == 0
    assert result.stdout == "30x30\n"
    assert result.stderr == ""


@pytest.mark.parametrize("kernel", ["3,3", "3x3", "3", "3X3", "3, 3"])
def test_tuple_separators(kernel: str) -> None:
    result = invoke(["conv-shape", "--input", "32,32", "--kernel", kernel, "--format", "plain"])
    assert result.stdout == "30x30\n"


def test_json_fields() -> None:
    result = invoke(["conv-shape", "--input", "32x32", "--kernel", "3x3", "--format", "json"])
    data = json.loads(result.stdout)
    assert data["input_shape"] == [1, 32, 32, 1]
    assert data["output_shape"] == [1, 30, 30, 1]
    assert data["layout"] == "BWHC"
    assert [a["name"] for a in data["axes"]] == ["W", "H"]
    assert data["axes"][0] == {
        "name": "W",
        "input": 32,
        "kernel": 3,
        "stride": 1,
        "dilation": 1,
        "padding": [0, 0],
        "output_padding": 0,
        "effective_kernel": 3,
        "output": 30,
        "dropped": 0,
    }
    assert data["warnings"] == []


@pytest.mark.parametrize(
    ("layout", "name", "shape_in", "shape_out", "axes"),
    [
        ("bwhc", "BWHC", [2, 32, 16, 3], [2, 30, 14, 8], ["W", "H"]),
        ("nhwc", "NHWC", [2, 32, 16, 3], [2, 30, 14, 8], ["H", "W"]),
        ("nchw", "NCHW", [2, 3, 32, 16], [2, 8, 30, 14], ["H", "W"]),
    ],
)
def test_layouts(
    layout: str, name: str, shape_in: list[int], shape_out: list[int], axes: list[str]
) -> None:
    args = ["conv-shape", "--input", "32x16", "--kernel", "3", "--batch", "2"]
    args += ["--in-channels", "3", "--out-channels", "8", "--layout", layout, "--format", "json"]
    data = json.loads(invoke(args).stdout)
    assert (data["layout"], data["input_shape"], data["output_shape"]) == (
        name,
        shape_in,
        shape_out,
    )
    assert [a["name"] for a in data["axes"]] == axes
    # spatial sizes stay in the order given, whatever the layout
    assert invoke([*args[:-2], "--format", "plain"]).stdout == "30x14\n"


def test_three_d_layout_names() -> None:
    args = ["conv-shape", "--input", "8x8x8", "--kernel", "3", "--layout", "nchw"]
    data = json.loads(invoke([*args, "--format", "json"]).stdout)
    assert data["layout"] == "NCDHW"
    assert [a["name"] for a in data["axes"]] == ["D", "H", "W"]


def test_dropped_pixel_warning_and_strict() -> None:
    result = invoke(["conv-shape", "--input", "32", "--kernel", "3", "--stride", "2"])
    assert result.exit_code == 0
    assert result.stdout == "15\n"
    assert result.stderr.startswith("Warning: axis W: 1 input pixel 31")
    strict = invoke(["conv-shape", "--input", "32", "--kernel", "3", "--stride", "2", "--strict"])
    assert strict.exit_code == 1
    assert "Error: --strict" in strict.stderr
    assert "Traceback" not in strict.stderr


def test_strict_passes_when_nothing_is_dropped() -> None:
    result = invoke(["conv-shape", "--input", "32", "--kernel", "3", "--strict"])
    assert (result.exit_code, result.stdout) == (0, "30\n")


def test_dropped_pixels_in_json_warnings() -> None:
    result = invoke(
        ["conv-shape", "--input", "32x32", "--kernel", "3", "--stride", "2", "--format", "json"]
    )
    data = json.loads(result.stdout)
    assert [a["dropped"] for a in data["axes"]] == [1, 1]
    assert len(data["warnings"]) == 2


def test_ceil_mode_pooling() -> None:
    args = ["conv-shape", "--input", "6", "--kernel", "1", "--stride", "2"]
    assert invoke([*args, "--pool", "max", "--ceil-mode"]).stdout == "3\n"
    assert invoke(["conv-shape", "--input", "32", "--kernel", "2", "--pool", "avg"]).stdout == (
        "16\n"
    )


def test_same_padding_reports_the_chosen_padding() -> None:
    args = ["conv-shape", "--input", "224", "--kernel", "3", "--stride", "2", "--padding", "same"]
    data = json.loads(invoke([*args, "--format", "json"]).stdout)
    assert data["axes"][0]["padding"] == [0, 1]
    assert data["output_shape"] == [1, 112, 1]


def test_asymmetric_padding() -> None:
    args = ["conv-shape", "--input", "32x32", "--kernel", "3", "--stride", "2"]
    result = invoke([*args, "--padding", "0:1,1:1", "--format", "json"])
    data = json.loads(result.stdout)
    assert [a["padding"] for a in data["axes"]] == [[0, 1], [1, 1]]
    assert [a["output"] for a in data["axes"]] == [16, 16]


def test_transposed() -> None:
    args = ["conv-shape", "--input", "16x16", "--kernel", "3", "--stride", "2", "--padding", "1"]
    assert invoke([*args, "--transposed", "--output-padding", "1"]).stdout == "32x32\n"


def test_explain_puts_numbers_into_the_formula() -> None:
    result = invoke(["conv-shape", "--input", "32x32", "--kernel", "3,3", "--explain"])
    lines = result.stdout.splitlines()
    assert lines[0] == "30x30"
    assert "W' = floor((32 + 2*0 - 3) / 1) + 1 = 30" in lines
    assert "H' = floor((32 + 2*0 - 3) / 1) + 1 = 30" in lines
    assert "(B, W, H, C): (1, 32, 32, 1) -> (1, 30, 30, 1)" in lines


def test_explain_same_and_dilation() -> None:
    args = ["conv-shape", "--input", "224", "--kernel", "3", "--stride", "2", "--padding", "same"]
    text = invoke([*args, "--dilation", "2", "--explain"]).stdout
    assert "effective kernel k' = d*(k - 1) + 1 = 2*(3 - 1) + 1 = 5" in text
    assert "ceil(224 / 2) = 112, total = max((112 - 1)*2 + 5 - 224, 0) = 3" in text
    assert "before 1, after 2" in text


def test_explain_ceil_mode_rule() -> None:
    args = ["conv-shape", "--input", "6", "--kernel", "1", "--stride", "2", "--pool", "max"]
    text = invoke([*args, "--ceil-mode", "--explain"]).stdout
    assert "= 4   (ceil mode)" in text
    assert "PyTorch drops it, W' = 3" in text


def test_explain_transposed() -> None:
    args = ["conv-shape", "--input", "16", "--kernel", "4", "--stride", "2", "--padding", "1"]
    text = invoke([*args, "--transposed", "--explain"]).stdout
    assert "W' = (i - 1)*s - (p_b + p_a) + k' + op = (16 - 1)*2 - (2*1) + 4 + 0 = 32" in text


def test_explain_in_json() -> None:
    args = ["conv-shape", "--input", "32", "--kernel", "3", "--format", "json", "--explain"]
    data = json.loads(invoke(args).stdout)
    assert data["explanation"][0] == "W' = floor((32 + 2*0 - 3) / 1) + 1 = 30"


def test_expect_match_and_mismatch() -> None:
    base = ["conv-shape", "--input", "32x32", "--kernel", "3"]
    assert invoke([*base, "--expect", "30x30"]).exit_code == 0
    assert invoke([*base, "--expect", "30"]).exit_code == 0  # one value for every axis
    bad = invoke([*base, "--expect", "31x30"])
    assert bad.exit_code == 1
    assert "Error: --expect: expected 31x30, computed 30x30" in bad.stderr
    assert bad.stdout == "30x30\n"


def test_table_format() -> None:
    result = invoke(
        ["conv-shape", "--input", "32x32", "--kernel", "3", "--out-channels", "8"]
        + ["--format", "table"]
    )
    assert result.exit_code == 0
    assert "axis" in result.stdout and "dropped" in result.stdout
    assert "BWHC: (1, 32, 32, 1) -> (1, 30, 30, 8)" in result.stdout
    assert "parameters 80" in result.stdout  # 3*3*1*8 + 8
    assert "\x1b[" not in result.stdout  # no colour off a terminal


def test_output_file_json(tmp_path: Path) -> None:
    target = tmp_path / "shape.json"
    result = invoke(["conv-shape", "--input", "32x32", "--kernel", "3", "-o", str(target)])
    assert result.exit_code == 0
    assert result.stdout == ""
    assert json.loads(target.read_text())["output_shape"] == [1, 30, 30, 1]


def test_error_leaves_existing_output_untouched(tmp_path: Path) -> None:
    target = tmp_path / "shape.json"
    target.write_text("precious")
    result = invoke(["conv-shape", "--input", "4", "--kernel", "7", "-o", str(target)])
    assert_clean_error(result)
    assert target.read_text() == "precious"
    assert [p.name for p in tmp_path.iterdir()] == ["shape.json"]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--input", "4", "--kernel", "7"], ["axis W", "4", "7"]),
        (["--input", "32", "--kernel", "3", "--stride", "0"], ["stride", "0"]),
        (["--input", "32", "--kernel", "3", "--dilation", "0"], ["dilation"]),
        (["--input", "32", "--kernel", "3", "--padding", "-1"], ["padding"]),
        (["--input", "32", "--kernel", "3", "--padding", "abc"], ["padding"]),
        (["--input", "32", "--kernel", "a,3"], ["--kernel", "'a'"]),
        (["--input", "32x32", "--kernel", "3,3,3"], ["--kernel", "3 values", "2 spatial"]),
        (["--input", "1x2x3x4x5x6", "--kernel", "3"], ["--input", "1 to 3"]),
        (["--input", "8", "--kernel", "3", "--output-padding", "1"], ["--transposed"]),
        (["--input", "8", "--kernel", "3", "--ceil-mode"], ["pooling"]),
        (
            ["--input", "8", "--kernel", "3", "--stride", "2", "--transposed"]
            + ["--output-padding", "2"],
            ["output padding 2", "stride (2)"],
        ),
        (["--input", "8", "--kernel", "3", "--pool", "max", "--padding", "2"], ["half"]),
        (
            ["--input", "8", "--kernel", "3", "--in-channels", "4", "--groups", "3"],
            ["groups", "3", "in-channels (4)"],
        ),
        (["--input", "8", "--kernel", "3", "--pool", "max", "--transposed"], ["exclude"]),
        (["--input", "8", "--kernel", "3", "--padding", "same", "--transposed"], ["same"]),
        (["--input", "8", "--kernel", "3", "--format", "npz"], ["--format"]),
        (["--input", "8", "--kernel", "3", "--expect", "1x2"], ["--expect"]),
        (["--input", "8"], ["--kernel"]),
        (["--input", "0", "--kernel", "1"], ["input size"]),
    ],
)
def test_errors_are_clean(args: list[str], words: list[str]) -> None:
    stderr = assert_clean_error(invoke(["conv-shape", *args]))
    for word in words:
        assert word in stderr


def test_help_has_examples() -> None:
    for flag in ("-h", "--help"):
        result = invoke(["conv-shape", flag])
        assert result.exit_code == 0
        assert "hw3 conv-shape --input 32x32 --kernel 3,3" in result.stdout


# --- huge values: bounded work, exit 0 with the answer or a clean exit 2, never exit 70 --


def test_min_input_huge_kernel_and_stride() -> None:
    # floor((i - k)/s) + 1 >= 1 first at i = k = 99999999999999; the layers' scalars mean
    # two axes
    result = invoke(["conv-shape", "--min-input", "--layer", "conv k=99999999999999 s=99999999999"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "99999999999999x99999999999999\n"


def test_target_huge_stride() -> None:
    # floor((10 + 0 - 3)/99999999999) + 1 = 1: no padding, and pixels 3..9 are dropped
    args = ["conv-shape", "--input", "10", "--kernel", "3", "--stride", "99999999999"]
    result = invoke([*args, "--target", "1"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "0:0\n"
    assert "7 input pixels 3..9" in result.stderr


def test_diagram_huge_input() -> None:
    # floor((100000000 - 3)/1) + 1 = 99999998 windows, drawn as six, ..., six
    result = invoke(["conv-shape", "--input", "100000000", "--kernel", "3", "--diagram"])
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "axis W: input 100000000, kernel 3, stride 1, dilation 1, padding 0:0 -> output 99999998"
    )
    assert len(lines) == 16  # title, axis, 6 windows, ..., 6 windows, legend
    assert "~" in lines[1] and lines[8].strip() == "..."
    assert lines[-2].split() == ["w99999997", "~", "###"]


def test_huge_numbers_in_every_format() -> None:
    # floor((99999999999999999999999 - 3)/1) + 1 = 99999999999999999999997; parameters
    # 3*1*99999999999999999 + 99999999999999999 = 399999999999999996
    args = ["conv-shape", "--input", "99999999999999999999999", "--kernel", "3"]
    args += ["--out-channels", "99999999999999999"]
    data = json.loads(invoke([*args, "--format", "json"]).stdout)
    assert data["output_shape"] == [1, 99999999999999999999997, 99999999999999999]
    assert data["params"] == 399999999999999996
    table = invoke([*args, "--format", "table"])
    assert table.exit_code == 0 and "parameters 399,999,999,999,999,996" in table.stdout
    explain = invoke([*args, "--explain"])
    assert explain.exit_code == 0
    assert (
        "W' = floor((99999999999999999999999 + 2*0 - 3) / 1) + 1 = 99999999999999999999997"
        in explain.stdout
    )


@pytest.mark.parametrize("fmt", ["json", "table", "plain"])
def test_start_past_the_float_range(fmt: str) -> None:
    # start = 0.5 + (k - 1)/2 = k/2 = 5*10**399 for input and kernel 10**400: no float
    # holds it (float(10**400) overflows), so it is printed as a whole number
    big = str(10**400)
    args = ["conv-shape", "--input", big, "--layer", f"conv k={big}", "--explain"]
    result = invoke([*args, "--format", fmt])
    assert result.exit_code == 0, result.stderr
    if fmt == "json":
        assert json.loads(result.stdout)["axes"][0]["start"] == 5 * 10**399
    assert f"jump 1, start {5 * 10**399}" in result.stdout  # the explanation


@pytest.mark.parametrize(
    "args",
    [
        ["--input", "1" + "0" * 2000, "--kernel", "3"],
        ["--input", "1" + "0" * 800 + "x1x1", "--kernel", "1" + "0" * 800 + ",1,1"]
        + ["--out-channels", "1" + "0" * 800, "--in-channels", "1" + "0" * 800],
        # the smallest input through three strides of 10**1500: (2s + 2)s + 3, 3001 digits
        ["--min-input", *["--layer", "conv k=3 s=1" + "0" * 1500] * 3],
        ["--input", "8", "--kernel", "3", "--stride", "1" + "0" * 3000, "--target", "2"],
    ],
)
def test_numbers_too_long_to_print_are_clean_errors(args: list[str]) -> None:
    stderr = assert_clean_error(invoke(["conv-shape", *args]))
    assert "more than 2000 digits" in stderr


def test_a_small_third_axis_is_taken_for_channels_and_said_so() -> None:
    # 32x32x3 is a 3-D input; the likely meaning, 3 channels, is suggested on stderr
    result = invoke(["conv-shape", "--input", "32x32x3", "--kernel", "3,3,1"])
    assert result.exit_code == 0 and result.stdout == "30x30x3\n"
    assert "--input 32x32 --in-channels 3" in result.stderr
    # a third spatial axis is never taken silently: 16 could be channels too
    volume = invoke(["conv-shape", "--input", "32x32x16", "--kernel", "3"])
    assert volume.stdout == "30x30x14\n"
    assert "read as a 3-D input" in volume.stderr and "--in-channels 16" in volume.stderr
    explicit = invoke(["conv-shape", "--input", "32x32x16", "--kernel", "3x3x3"])
    assert explicit.stdout == "30x30x14\n" and explicit.stderr == ""


def test_csv_has_one_row_per_layer_for_spreadsheets() -> None:
    # AlexNet's first layer: 11x11, stride 4, padding 2 on 224: 55, receptive field 11;
    # then a 3x3 pool of stride 2: 27, receptive field 11 + 2*4 = 19
    args = ["conv-shape", "--input", "224x224", "--in-channels", "3", "--format", "csv"]
    result = invoke([*args, "--net", str(ROOT / "examples" / "alexnet.json")])
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "name,kind,output_shape,params,macs,receptive_field_W,receptive_field_H"
    assert lines[1] == "conv1,conv,1x55x55x64,23296,70276800,11,11"
    assert lines[2].startswith("pool1,maxpool,1x27x27x64,0,0,19,19")
    model = invoke(
        [
            "conv-shape",
            "--input",
            "48x48",
            "--format",
            "csv",
            "--net",
            str(ROOT / "examples" / "models" / "emotion_cnn.txt"),
        ]
    )
    assert model.stdout.splitlines()[1] == "features.0,Conv2d,1x32x48x48,320,663552"


def test_target_also_gives_the_symmetric_padding_pytorch_takes() -> None:
    # 224, k=3, s=2 -> 112: the smallest total is 1 (0:1); symmetric p = 1 gives
    # floor((224 + 2 - 3)/2) + 1 = 112 too. For 6, k=2, s=1 -> 6 the total must be 1: no
    # symmetric padding exists (p = 0 gives 5, p = 1 gives 7)
    args = ["conv-shape", "--input", "224", "--kernel", "3", "--stride", "2", "--target", "112"]
    data = json.loads(invoke([*args, "--format", "json"]).stdout)
    assert data["padding"] == [[0, 1]] and data["symmetric_padding"] == [1]
    assert invoke([*args, "--symmetric"]).stdout == "1\n"
    assert invoke(args).stdout == "0:1\n"
    odd = ["conv-shape", "--input", "6", "--kernel", "2", "--target", "6"]
    assert json.loads(invoke([*odd, "--format", "json"]).stdout)["symmetric_padding"] == [None]
    err = assert_clean_error(invoke([*odd, "--symmetric"]))
    assert "no padding p on both sides gives 6" in err and "0:1" in err
    assert "works with --target" in assert_clean_error(
        invoke(["conv-shape", "--input", "6", "--kernel", "2", "--symmetric"])
    )


@pytest.mark.parametrize("columns", ["60", "80", "120"])
@pytest.mark.parametrize(
    "args",
    [
        [
            "--input",
            "224x224",
            "--in-channels",
            "3",
            "--net",
            str(ROOT / "examples" / "vgg16.json"),
        ],
        ["--input", "224x224", "--net", str(ROOT / "examples" / "models" / "resnet18.txt")],
    ],
)
def test_tables_never_cut_a_number(columns: str, args: list[str]) -> None:
    # narrow terminals get compact counts (14.7 M) before anything is cut with an ellipsis
    result = invoke(["conv-shape", *args, "--format", "table"], COLUMNS=columns)
    assert result.exit_code == 0, result.stderr
    table = [line for line in result.stdout.splitlines() if line[:1] in "┏┃┡│└"]
    assert table and all(len(line) <= int(columns) for line in table)
    assert "…" not in result.stdout
    if columns == "120" and "vgg16" in args[-1]:
        assert "15,346,630,656" in result.stdout  # exact when it fits
    if columns == "60" and "vgg16" in args[-1]:
        assert "15.3 G" in result.stdout
