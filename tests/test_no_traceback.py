"""Whatever the input, hw3 answers with data or an Error: line, never a traceback (exit 70)."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import invoke

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

numbers = st.one_of(
    st.integers(-5, 300),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["1e308", "-0", "nan", "x", "", "3x", ":", "1:2:3", "same", "0:1,1:0"]),
)


def _ok(result_code: int, stderr: str) -> bool:
    return result_code in (0, 1, 2) and "Traceback" not in stderr and "internal error" not in stderr


@FUZZ
@given(
    st.lists(numbers, min_size=1, max_size=3).map(lambda v: "x".join(map(str, v))),
    st.lists(numbers, min_size=1, max_size=3).map(lambda v: ",".join(map(str, v))),
    st.sampled_from(["--stride", "--padding", "--dilation", "--output-padding", "--expect"]),
    st.lists(numbers, min_size=1, max_size=3).map(lambda v: ",".join(map(str, v))),
    st.lists(st.sampled_from(["--transposed", "--ceil-mode", "--strict", "--explain"]), max_size=2),
    st.sampled_from([[], ["--pool", "max"], ["--pool", "avg"], ["--diagram"], ["--min-input"]]),
)
def test_conv_shape_never_crashes(
    size: str, kernel: str, option: str, value: str, flags: list[str], extra: list[str]
) -> None:
    args = ["conv-shape", "--input", size, "--kernel", kernel, option, value, *flags, *extra]
    result = invoke([*args, "--format", "json"])
    assert _ok(result.exit_code, result.stderr), (args, result.stderr)


layer_words = st.lists(
    st.sampled_from(
        [
            "conv",
            "convT",
            "pool",
            "max",
            "avg",
            "k=3",
            "k=0",
            "s=2",
            "p=1",
            "p=same",
            "d=2",
            "out=4",
            "g=2",
            "op=1",
            "ceil",
            "nobias",
            "k=3x3x3x3",
            "p=9:0",
            "name=a",
            "bias=no",
        ]
    ),
    min_size=1,
    max_size=6,
).map(" ".join)


@FUZZ
@given(st.lists(layer_words, min_size=1, max_size=4), st.sampled_from(["8", "32x32", "5x6x7"]))
def test_layer_stacks_never_crash(layers: list[str], size: str) -> None:
    args = ["conv-shape", "--input", size, "--in-channels", "4", "--format", "json"]
    for layer in layers:
        args += ["--layer", layer]
    result = invoke(args)
    assert _ok(result.exit_code, result.stderr), (args, result.stderr)


json_values = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(-3, 3), st.floats(-1e3, 1e3), st.text(max_size=3)
    ),
    lambda inner: st.lists(inner, max_size=4),
    max_leaves=12,
)


@FUZZ
@given(
    st.dictionaries(st.sampled_from(["x", "dy", "gamma", "beta", "eps", "momentum"]), json_values),
    st.sampled_from([[], ["--check"], ["--eval"], ["--format", "csv"], ["--explain"]]),
)
def test_bn_grad_never_crashes(doc: dict[str, object], extra: list[str]) -> None:
    result = invoke(["bn-grad", "--format", "json", *extra], json.dumps(doc))
    assert _ok(result.exit_code, result.stderr), (doc, result.stderr)


@FUZZ
@given(
    st.dictionaries(
        st.sampled_from(["logits", "target", "weight", "ignore_index", "label_smoothing"]),
        json_values,
    ),
    st.sampled_from([[], ["--check"], ["--jacobian"], ["--reduction", "mean"], ["--explain"]]),
)
def test_softmax_grad_never_crashes(doc: dict[str, object], extra: list[str]) -> None:
    result = invoke(["softmax-grad", "--format", "json", *extra], json.dumps(doc))
    assert _ok(result.exit_code, result.stderr), (doc, result.stderr)


@FUZZ
@given(st.text(max_size=60), st.sampled_from(["bn-grad", "softmax-grad"]))
def test_any_text_on_stdin(text: str, command: str) -> None:
    result = invoke([command, "--dy", "/dev/null"] if command == "bn-grad" else [command], text)
    assert _ok(result.exit_code, result.stderr), (text, result.stderr)
