"""Stacks of layers (FORMULAS.md section 2), the padding solver and the smallest input."""

from __future__ import annotations

import json

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from hw3cli.commands._layers import read_net
from hw3cli.core.conv import LayerSpec, conv_layer, effective_kernel
from hw3cli.core.network import (
    apply_stack,
    min_input,
    receptive_field_closed_form,
    solve_padding,
)
from hw3cli.errors import InputError
from tests.conftest import ROOT


def test_alexnet_features() -> None:
    # torchvision's AlexNet features on 224x224x3: 224 -> 55 -> 27 -> 27 -> 13 -> 13 ->
    # 13 -> 13 -> 6. Parameters per conv from prod(k) C_in C_out + C_out, summed by hand:
    # 23,296 + 307,392 + 663,936 + 884,992 + 590,080 = 2,469,696 (torchvision's summary).
    # Receptive field 195 (the published figure for AlexNet's pool5).
    stack = apply_stack(read_net(str(ROOT / "examples" / "alexnet.json")), (224, 224), 3)
    assert [layer.result.output[0] for layer in stack.layers] == [55, 27, 27, 13, 13, 13, 13, 6]
    assert [layer.result.params for layer in stack.layers if layer.result.params] == [
        23_296,
        307_392,
        663_936,
        884_992,
        590_080,
    ]
    assert stack.params == 2_469_696
    assert stack.out_channels == 256
    last = stack.layers[-1].fields[0]
    assert (last.receptive_field, last.jump, last.start) == (195, 32, 31.5)


def test_vgg16_features() -> None:
    # VGG16 features: 13 3x3 convolutions (padding 1) and 5 2x2 max-pools: 224 -> 7,
    # 14,714,688 parameters (Simonyan & Zisserman's table / torchvision), receptive field 212.
    stack = apply_stack(read_net(str(ROOT / "examples" / "vgg16.json")), (224, 224), 3)
    assert stack.output == (7, 7)
    assert stack.params == 14_714_688
    assert stack.layers[-1].fields[0].receptive_field == 212
    assert stack.layers[-2].fields[0].receptive_field == 196  # conv5_3


def test_transposed_makes_the_field_undefined() -> None:
    specs = [
        LayerSpec(kernel=(3,)),
        LayerSpec(kernel=(4,), stride=(2,), padding=((1, 1),), transposed=True),
        LayerSpec(kernel=(3,)),
    ]
    stack = apply_stack(specs, (16,))
    assert stack.layers[0].fields[0].receptive_field == 3
    assert stack.layers[1].fields[0].receptive_field is None
    assert stack.layers[2].fields[0].jump is None


def test_error_names_the_layer() -> None:
    specs = [LayerSpec(kernel=(3,), name="a"), LayerSpec(kernel=(9,), name="b")]
    with pytest.raises(InputError, match=r"layer 2 \(b\): axis W"):
        apply_stack(specs, (8,))


layers = st.builds(
    lambda k, s, d, p, pool: LayerSpec(
        kernel=(k,),
        stride=(s,),
        dilation=(1 if pool == "avg" else d,),
        padding=((min(p, k // 2), min(p, k // 2)),) if pool else ((p, p),),
        pool=pool,
    ),
    st.integers(1, 7),
    st.integers(1, 3),
    st.integers(1, 3),
    st.integers(0, 3),
    st.sampled_from([None, None, "max", "avg"]),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(layers, min_size=1, max_size=6), st.integers(1, 400))
def test_receptive_field_closed_form_equals_recurrence(specs: list[LayerSpec], i: int) -> None:
    try:
        stack = apply_stack(specs, (i,))
    except InputError:
        assume(False)
        return
    ks = [effective_kernel(s.kernel[0], s.dilation[0]) for s in specs]
    ss = [layer.result.axes[0].stride for layer in stack.layers]
    for n, layer in enumerate(stack.layers):
        assert layer.fields[0].receptive_field == receptive_field_closed_form(
            ks[: n + 1], ss[: n + 1]
        )
    jump = 1
    for s in ss:
        jump *= s
    assert stack.layers[-1].fields[0].jump == jump


def _fails(specs: list[LayerSpec], size: tuple[int, ...]) -> bool:
    try:
        apply_stack(specs, size)
    except InputError:
        return True
    return False


@settings(max_examples=200, deadline=None)
@given(st.lists(layers, min_size=1, max_size=5))
def test_min_input_is_the_smallest(specs: list[LayerSpec]) -> None:
    (m,) = min_input(specs, 1)
    assert not _fails(specs, (m,))
    # brute force: every smaller input fails
    for smaller in range(1, m):
        assert _fails(specs, (smaller,))


def test_min_input_alexnet_by_hand() -> None:
    # 63: conv1 floor((63 + 4 - 11)/4) + 1 = 15, pool 7, conv2 7, pool 3, conv 3, pool 1;
    # 62 gives 14, 6, 6, 2 and the last pool fails.
    specs = read_net(str(ROOT / "examples" / "alexnet.json"))
    assert min_input(specs, 2) == (63, 63)
    assert _fails(specs, (62, 62))


@settings(max_examples=300, deadline=None)
@given(
    st.integers(1, 80),
    st.integers(1, 7),
    st.integers(1, 4),
    st.integers(1, 3),
    st.integers(1, 60),
    st.sampled_from([None, "max", "ceil", "transposed"]),
)
def test_solved_padding_gives_the_target_and_is_smallest(
    i: int, k: int, s: int, d: int, t: int, kind: str | None
) -> None:
    spec = LayerSpec(
        kernel=(k,),
        stride=(s,),
        dilation=(d,),
        pool="max" if kind in ("max", "ceil") else None,
        ceil_mode=kind == "ceil",
        transposed=kind == "transposed",
    )

    def output(total: int) -> int | None:
        pad = ((total // 2, total - total // 2),)
        try:
            return conv_layer(LayerSpec(**{**spec.__dict__, "padding": pad}), (i,)).output[0]
        except InputError:
            return None

    bound = (i + 1) * s + k * d + (t + 1) * s + 1  # past any padding that could give t
    brute = next((p for p in range(bound) if output(p) == t), None)
    if brute is None:
        with pytest.raises(InputError, match="no padding gives"):
            solve_padding(spec, (i,), (t,), ("W",))
        return
    (pad,) = solve_padding(spec, (i,), (t,), ("W",))
    assert sum(pad) == brute
    assert pad[1] - pad[0] in (0, 1)


def test_solver_example_from_the_readme() -> None:
    # What padding keeps 224 at 112 with k=3, s=2? TensorFlow's 'same' answer: 0 before, 1 after.
    assert solve_padding(LayerSpec(kernel=(3,), stride=(2,)), (224,), (112,), ("W",)) == ((0, 1),)


@pytest.mark.parametrize(
    ("net", "words"),
    [
        ("{}", "expected a JSON list"),
        ("[]", "empty"),
        ("[3]", "layer 1: expected an object"),
        ('[{"kernel": 3, "strides": 2}]', "unknown key 'strides'"),
        ('[{"stride": 2}]', "has no kernel"),
        ('[{"kernel": "a"}]', "kernel"),
        ('[{"kernel": 3, "pool": "min"}]', "pool must be"),
        ('[{"kernel": 3, "padding": [[1]]}]', "[before, after]"),
        ('[{"kernel": 3, "out_channels": 1.5}]', "out_channels"),
        ('[{"kernel": 3, "bias": "maybe"}]', "true or false"),
        ('[{"kernel": 3, "name": 7}]', "name"),
        ('[{"kernel": 3}', "not valid JSON"),
        ('[{"kernel": true}]', "kernel"),
    ],
)
def test_malformed_net_files(tmp_path: object, net: str, words: str) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "net.json"
    path.write_text(net)
    with pytest.raises(InputError) as info:
        read_net(str(path))
    assert words in info.value.render()


def test_net_file_forms(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "net.json"
    layers = [
        {"kernel": "3x1", "padding": "0:1,1:1", "out_channels": 4, "groups": 2, "bias": False},
        {"kernel": [2, 2], "pool": "avg", "ceil_mode": True},
        {"kernel": 3, "transposed": True, "stride": 2, "output_padding": 1, "padding": [[1, 1]]},
    ]
    path.write_text(json.dumps({"layers": layers}))
    specs = read_net(str(path))
    assert specs[0].kernel == (3, 1) and specs[0].padding == ((0, 1), (1, 1))
    assert specs[0].bias is False and specs[0].groups == 2
    assert specs[1].pool == "avg" and specs[1].ceil_mode
    assert specs[2].transposed and specs[2].output_padding == (1,)
