"""Stacks of layers (docs/formulas.md section 2), the padding solver and the smallest input."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from hw3cli.commands._layers import read_net
from hw3cli.core.conv import LayerSpec, axis_output_size, conv_layer, effective_kernel
from hw3cli.core.network import (
    apply_stack,
    min_input,
    padding_candidates,
    receptive_field_closed_form,
    smallest_input,
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
            return conv_layer(spec._replace(padding=pad), (i,)).output[0]
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


# --- bounded solvers: closed forms against brute force, and huge values -----------------

small_kinds = st.sampled_from(["conv", "max", "ceil", "avg", "transposed"])


def _small_spec(
    kind: str, k: int, s: int, d: int, pad: tuple[int, int] | None = None, op: int = 0
) -> LayerSpec:
    """A one-axis layer of this kind; ``pad`` None is 'same' (never for a transposed one)."""
    return LayerSpec(
        kernel=(k,),
        stride=(s,),
        dilation=(1 if kind == "avg" else d,),
        padding="same" if pad is None else (pad,),
        pool="max" if kind in ("max", "ceil") else "avg" if kind == "avg" else None,
        ceil_mode=kind == "ceil",
        transposed=kind == "transposed",
        output_padding=(op,) if kind == "transposed" else (0,),
    )


def _axis_output(spec: LayerSpec, i: int, pad: tuple[int, int] | None) -> int:
    """The output size the solvers reason about: ceil(i/s) for 'same', else the formula."""
    k, s, d, op = spec.kernel[0], spec.stride[0] if spec.stride else 1, spec.dilation[0], 0
    if spec.transposed:
        op = spec.output_padding[0]
    if pad is None:
        return -(-i // s)
    return axis_output_size(spec, i, k, s, d, pad, op)


@settings(max_examples=500, deadline=None)
@given(
    small_kinds,
    st.integers(1, 12),
    st.integers(1, 12),
    st.integers(1, 12),
    st.one_of(st.none(), st.tuples(st.integers(0, 6), st.integers(0, 6))),
    st.integers(0, 11),
    st.integers(1, 12),
)
def test_smallest_input_matches_brute_force(
    kind: str, k: int, s: int, d: int, pad: tuple[int, int] | None, op: int, need: int
) -> None:
    assume(not (kind == "transposed" and pad is None))
    spec = _small_spec(kind, k, s, d, pad, op)
    d = spec.dilation[0]

    def output(i: int) -> int:
        return _axis_output(spec, i, pad)

    # every formula here is below 1 at i = -1000 (|P|, k', op, s, need are at most ~150)
    assert output(-1000) < need
    brute = next(i for i in range(-1000, 1000) if output(i) >= need)
    assert smallest_input(spec, k, s, d, pad, spec.output_padding[0], need) == brute


def _brute_min_input(specs: list[LayerSpec], n: int) -> tuple[int, ...]:
    """The old search, one step at a time from the least input each layer allows."""
    sizes = []
    for _ in range(n):
        need = 1
        for spec in reversed(specs):
            pad = None if isinstance(spec.padding, str) else spec.padding[0]  # never 'valid'
            least = spec.kernel[0] if spec.pool == "avg" and n == 3 else 1
            need = next(i for i in range(least, 1_000_000) if _axis_output(spec, i, pad) >= need)
        sizes.append(need)
    return tuple(sizes)


stack_layers = st.builds(
    lambda kind, k, s, d, pad, op: _small_spec(
        kind,
        k,
        s,
        d,
        None if pad is None and kind != "transposed" else pad or (0, 0),
        min(op, s - 1),
    ),
    small_kinds,
    st.integers(1, 12),
    st.integers(1, 12),
    st.integers(1, 12),
    st.one_of(st.none(), st.tuples(st.integers(0, 6), st.integers(0, 6))),
    st.integers(0, 11),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(stack_layers, min_size=1, max_size=4), st.sampled_from([1, 3]))
def test_min_input_matches_the_step_by_step_search(specs: list[LayerSpec], n: int) -> None:
    # the step-by-step search walks up to about sum of k' * prod(strides): keep it short
    assume(math.prod(spec.stride[0] if spec.stride else spec.kernel[0] for spec in specs) <= 200)
    assert min_input(specs, n) == _brute_min_input(specs, n)


@settings(max_examples=1000, deadline=None)
@given(
    st.integers(1, 12),
    st.integers(1, 12),
    st.integers(1, 12),
    st.integers(1, 12),
    st.integers(0, 12),
    small_kinds,
    st.integers(0, 11),
)
def test_solve_padding_matches_brute_force(
    i: int, k: int, s: int, d: int, t: int, kind: str, op: int
) -> None:
    spec = _small_spec(kind, k, s, d, (0, 0), min(op, s - 1))
    limit = k // 2 if spec.pool is not None else None

    def gives(total: int) -> bool:
        pad = (total // 2, total - total // 2)
        if limit is not None and max(pad) > limit:
            return False
        return t >= 1 and _axis_output(spec, i, pad) == t  # no layer gives an empty axis

    # past any total that could give t: (i - 1)*s + k' + op for a transposed convolution,
    # (t - 1)*s + k' - i + s otherwise
    bound = (i + t + 2) * s + effective_kernel(k, d) + op + 1
    brute = next((p for p in range(bound) if gives(p)), None)
    if brute is None:
        with pytest.raises(InputError, match="no padding gives"):
            solve_padding(spec, (i,), (t,), ("W",))
        return
    (pad,) = solve_padding(spec, (i,), (t,), ("W",))
    assert pad == (brute // 2, brute - brute // 2)


def test_min_input_huge_kernel_and_stride() -> None:
    # floor((i - k)/s) + 1 >= 1  <=>  i >= k = 99999999999999, on both axes (the command
    # line's hang: the old search stepped one pixel at a time from k - s)
    spec = LayerSpec(kernel=(99_999_999_999_999,), stride=(99_999_999_999,))
    assert min_input([spec], 2) == (99_999_999_999_999, 99_999_999_999_999)


def test_min_input_huge_closed_forms() -> None:
    k, s = 10**14, 10**11
    # ceil pool, no padding: i = (1 - 1)*s + 1 - min(s, k) + k = 10**14 - 10**11 + 1;
    # then floor((i - k + s - 1)/s) + 1 = floor(0/s) + 1 = 1 and (1 - 1)*s = 0 < i: kept
    ceil_pool = LayerSpec(kernel=(k,), stride=(s,), pool="max", ceil_mode=True)
    assert min_input([ceil_pool], 1) == (99_900_000_000_001,)
    # transposed, k 3, padding 10**14 a side: (i - 1)*10**14 - 2*10**14 + 3 >= 1 first at i = 3
    convt = LayerSpec(kernel=(3,), stride=(10**14,), padding=((10**14, 10**14),), transposed=True)
    assert min_input([convt], 1) == (3,)
    # 'same' with stride s, then a conv of kernel k: the conv needs k, and
    # ceil(i/s) >= k first at i = (k - 1)*s + 1
    same = LayerSpec(kernel=(3,), stride=(s,), padding="same")
    assert min_input([same, LayerSpec(kernel=(k,))], 1) == ((k - 1) * s + 1,)
    # astronomically large is fine: 10**400 - 1 for a kernel of 10**400 - 1
    assert min_input([LayerSpec(kernel=(10**400 - 1,))], 1) == (10**400 - 1,)


def test_min_input_too_many_digits() -> None:
    # three strides of 10**1500: the answer would have about 4500 digits
    specs = [LayerSpec(kernel=(3,), stride=(10**1500,))] * 3
    with pytest.raises(InputError, match="more than 2000 digits"):
        min_input(specs, 1)


def test_solve_padding_huge_stride() -> None:
    # the command line's MemoryError: floor((10 + 0 - 3)/99999999999) + 1 = 1 with no padding
    spec = LayerSpec(kernel=(3,), stride=(99_999_999_999,))
    assert solve_padding(spec, (10,), (1,), ("W",)) == ((0, 0),)
    # t = 1000: P = (t - 1)*s + k - i = 999*10**11 + 3 - 10 = 99899999999993, odd pixel
    # after; check floor((10 + P - 3)/10**11) + 1 = 999 + 1 = 1000
    spec = LayerSpec(kernel=(3,), stride=(10**11,))
    assert solve_padding(spec, (10,), (1000,), ("W",)) == (
        (49_949_999_999_996, 49_949_999_999_997),
    )
    assert len(padding_candidates(10, 3, 10**11, 1000)) <= 3


def test_solve_padding_huge_ceil_pool() -> None:
    # M = 10**12, i = 2M, k = 4M, s = 3M, t = 2; base = (t - 1)*s + k - i = 5M.
    # P = 2M + 1 (M before): A = i + P - k = 1, ceil(1/3M) + 1 = 2, but (2 - 1)*3M >= 2M + M
    # so PyTorch drops that window: 1. P = 2M + 2 = 2*((t - 1)*s - i + 1), M + 1 a side:
    # 3M < 2M + M + 1, output 2; M + 1 <= floor(4M/2).
    m = 10**12
    spec = LayerSpec(kernel=(4 * m,), stride=(3 * m,), pool="max", ceil_mode=True)
    assert solve_padding(spec, (2 * m,), (2,), ("W",)) == ((m + 1, m + 1),)
    # the same shape in small numbers, M = 1: i 2, k 4, s 3 -> 2:2
    small = LayerSpec(kernel=(4,), stride=(3,), pool="max", ceil_mode=True)
    assert solve_padding(small, (2,), (2,), ("W",)) == ((2, 2),)


def test_solve_padding_huge_transposed() -> None:
    # (i - 1)*s - P + k' = t with i = s = 10**12, k = 3: t = (10**12 - 1)*10**12 + 1 needs
    # P = 2, split 1:1
    s = 10**12
    spec = LayerSpec(kernel=(3,), stride=(s,), transposed=True)
    assert solve_padding(spec, (s,), ((s - 1) * s + 1,), ("W",)) == ((1, 1),)


def test_start_past_the_float_range() -> None:
    # start = 0.5 + (k - 1)/2 * 1 = k/2 = 5*10**399 for k = 10**400: no float holds it,
    # so it is the whole number; receptive field k, jump 1
    k = 10**400
    stack = apply_stack([LayerSpec(kernel=(k,))], (k,))
    field = stack.layers[-1].fields[0]
    assert (field.receptive_field, field.jump, field.start) == (k, 1, 5 * 10**399)
    assert isinstance(field.start, int)
    assert field.halves == k


def test_results_too_long_to_print_are_input_errors() -> None:
    # params = 10**800 * 10**800 * 10**800 (kernel product) + bias: 2401 digits
    spec = LayerSpec(kernel=(10**800,))
    with pytest.raises(InputError, match="parameters has more than 2000 digits"):
        conv_layer(spec, (10**800, 10**800, 10**800))
    with pytest.raises(InputError, match="input size has more than 2000 digits"):
        conv_layer(LayerSpec(kernel=(3,)), (10**2000,))
    # the jump through 3 layers of stride 10**999: 10**2997
    deep = [LayerSpec(kernel=(1,), stride=(10**999,))] * 3
    with pytest.raises(InputError, match=r"layer 3 \(conv3\): the jump has more than"):
        apply_stack(deep, (1,))


def test_field_region_and_path_follow_the_recurrence() -> None:
    """conv k=3 p=1, pool 2, conv k=3 p=1, pool 2 on 16: output 1's receptive field is 10
    pixels, 1..10 (by hand: pool unit 1 reads conv units 2, 3; they read pool units 1..4;
    those read conv units 2..9; those read pixels 1..10). The path takes the middle tap of
    each window, u*s - p + d*((k - 1) // 2): from the last layer back, pool unit 1 -> conv
    unit 2 -> pool unit 2 -> conv unit 4 (a pool's middle tap of 2 is its first)."""
    import itertools

    from hw3cli.core.network import centre, field_region, path_to

    specs = [
        LayerSpec(kernel=(3,), padding=((1, 1),)),
        LayerSpec(kernel=(2,), pool="max"),
        LayerSpec(kernel=(3,), padding=((1, 1),)),
        LayerSpec(kernel=(2,), pool="max"),
    ]
    stack = apply_stack(specs, (16,))
    assert field_region(stack.layers[-1].fields[0], 1) == (1, 10)
    assert path_to(stack, (1,)) == ((4,), (2,), (2,), (1,))
    regions = [field_region(layer.fields[0], unit[0]) for layer, unit in
               zip(stack.layers, path_to(stack, (1,)), strict=True)]  # fmt: skip
    assert regions == [(3, 5), (3, 6), (1, 8), (1, 10)]
    for inner, outer in itertools.pairwise(regions):  # nested
        assert inner is not None and outer is not None
        assert outer[0] <= inner[0] and inner[1] <= outer[1]
    assert centre((7, 4)) == (3, 1)
    # into the padding: k=5 p=2 twice on 8, output 0 sees pixels -4..4
    padded = apply_stack([LayerSpec(kernel=(5,), padding=((2, 2),))] * 2, (8,))
    assert field_region(padded.layers[-1].fields[0], 0) == (-4, 4)
    transposed = apply_stack([LayerSpec(kernel=(2,), stride=(2,), transposed=True)], (4,))
    assert field_region(transposed.layers[-1].fields[0], 0) is None
