"""The reader of ``print(model)`` text: PyTorch's layouts, and errors that name the line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hw3cli.errors import InputError
from hw3cli.tensor_io.printed import (
    MAX_DEPTH,
    MAX_REPEATED,
    Module,
    looks_printed,
    parse_printed,
)

ALEXNET = """\
AlexNet(
  (features): Sequential(
    (0): Conv2d(3, 64, kernel_size=(11, 11), stride=(4, 4), padding=(2, 2))
    (1): ReLU(inplace=True)
    (2): MaxPool2d(kernel_size=3, stride=2, padding=0, dilation=1, ceil_mode=False)
    (3): Conv2d(64, 192, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2))
    (4): ReLU(inplace=True)
    (5): MaxPool2d(kernel_size=3, stride=2, padding=0, dilation=1, ceil_mode=False)
    (6): Conv2d(192, 384, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
    (7): ReLU(inplace=True)
    (8): Conv2d(384, 256, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
    (9): ReLU(inplace=True)
    (10): Conv2d(256, 256, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
    (11): ReLU(inplace=True)
    (12): MaxPool2d(kernel_size=3, stride=2, padding=0, dilation=1, ceil_mode=False)
  )
  (avgpool): AdaptiveAvgPool2d(output_size=(6, 6))
  (classifier): Sequential(
    (0): Dropout(p=0.5, inplace=False)
    (1): Linear(in_features=9216, out_features=4096, bias=True)
    (2): ReLU(inplace=True)
    (3): Dropout(p=0.5, inplace=False)
    (4): Linear(in_features=4096, out_features=4096, bias=True)
    (5): ReLU(inplace=True)
    (6): Linear(in_features=4096, out_features=1000, bias=True)
  )
)
"""

BN = "eps=1e-05, momentum=0.1, affine=True, track_running_stats=True"
RESNET18 = f"""\
ResNet(
  (conv1): Conv2d(3, 64, kernel_size=(7, 7), stride=(2, 2), padding=(3, 3), bias=False)
  (bn1): BatchNorm2d(64, {BN})
  (relu): ReLU(inplace=True)
  (maxpool): MaxPool2d(kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=False)
  (layer1): Sequential(
    (0): BasicBlock(
      (conv1): Conv2d(64, 64, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)
      (bn1): BatchNorm2d(64, {BN})
      (relu): ReLU(inplace=True)
      (conv2): Conv2d(64, 64, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)
      (bn2): BatchNorm2d(64, {BN})
    )
  )
  (layer2): Sequential(
    (0): BasicBlock(
      (conv1): Conv2d(64, 128, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), bias=False)
      (bn1): BatchNorm2d(128, {BN})
      (relu): ReLU(inplace=True)
      (conv2): Conv2d(128, 128, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)
      (bn2): BatchNorm2d(128, {BN})
      (downsample): Sequential(
        (0): Conv2d(64, 128, kernel_size=(1, 1), stride=(2, 2), bias=False)
        (1): BatchNorm2d(128, {BN})
      )
    )
  )
  (avgpool): AdaptiveAvgPool2d(output_size=(1, 1))
  (fc): Linear(in_features=512, out_features=1000, bias=True)
)
"""

# ModuleList's shorthand for runs of equal modules (PyTorch >= 1.13)
SHORTHAND = """\
ModuleList(
  (0-1): 2 x ReLU()
  (2-5): 4 x Bottleneck(
    (conv): Conv2d(16, 16, kernel_size=(3, 3), stride=(1, 1), padding=same)
    (act): LeakyReLU(negative_slope=0.01)
  )
  (6): Identity()
)
"""

SAMPLES = [ALEXNET, RESNET18, SHORTHAND]


def child(module: Module, *path: str) -> Module:
    for name in path:
        module = next(c for c in module.children if c.name == name)
    return module


def render(module: Module) -> str:
    """PyTorch's ``nn.Module.__repr__`` (with ``_addindent``), for the round trip."""
    parts = [repr(a) if not isinstance(a, Word) else str(a) for a in module.args]
    parts += [f"{k}={v if isinstance(v, Word) else repr(v)}" for k, v in module.kwargs.items()]
    extra = ", ".join(parts)
    lines = [extra] if extra else []
    lines += [f"({c.name}): " + render(c).replace("\n", "\n  ") for c in module.children]
    if not module.children:
        return f"{module.kind}({extra})"
    return f"{module.kind}(\n  " + "\n  ".join(lines) + "\n)"


class Word(str):
    """A bare word in the printed text (``mode=row``): read back as a plain string."""


def test_alexnet() -> None:
    model = parse_printed(ALEXNET, "alexnet.txt")
    assert (model.name, model.kind, model.line) == ("", "AlexNet", 1)
    assert [c.name for c in model.children] == ["features", "avgpool", "classifier"]
    features = child(model, "features")
    assert features.kind == "Sequential" and features.line == 2
    assert [c.name for c in features.children] == [str(i) for i in range(13)]
    conv = child(features, "0")
    assert conv == Module(
        "0",
        "Conv2d",
        (3, 64),
        {"kernel_size": (11, 11), "stride": (4, 4), "padding": (2, 2)},
        (),
        3,
    )
    assert child(features, "1").kwargs == {"inplace": True}
    assert child(features, "2").kwargs == {
        "kernel_size": 3,
        "stride": 2,
        "padding": 0,
        "dilation": 1,
        "ceil_mode": False,
    }
    assert child(model, "avgpool").kwargs == {"output_size": (6, 6)}
    assert child(model, "avgpool").line == 17
    linear = child(model, "classifier", "1")
    assert (linear.kind, linear.args, linear.line) == ("Linear", (), 20)
    assert linear.kwargs == {"in_features": 9216, "out_features": 4096, "bias": True}
    assert child(model, "classifier", "0").kwargs == {"p": 0.5, "inplace": False}


def test_resnet18_excerpt() -> None:
    model = parse_printed(RESNET18, "resnet18.txt")
    assert [c.name for c in model.children] == [
        "conv1",
        "bn1",
        "relu",
        "maxpool",
        "layer1",
        "layer2",
        "avgpool",
        "fc",
    ]
    block = child(model, "layer2", "0")
    assert block.kind == "BasicBlock" and block.line == 16
    assert [c.name for c in block.children][-1] == "downsample"
    down = child(block, "downsample")
    assert (down.kind, down.line) == ("Sequential", 22)
    assert child(down, "0").kwargs == {"kernel_size": (1, 1), "stride": (2, 2), "bias": False}
    bn = child(down, "1")
    assert bn.args == (128,)
    assert bn.kwargs == {
        "eps": 1e-05,
        "momentum": 0.1,
        "affine": True,
        "track_running_stats": True,
    }
    assert child(model, "conv1").kwargs["padding"] == (3, 3)


def test_module_list_shorthand_is_expanded() -> None:
    model = parse_printed(SHORTHAND, "list.txt")
    assert [c.name for c in model.children] == ["0", "1", "2", "3", "4", "5", "6"]
    assert [c.kind for c in model.children[:2]] == ["ReLU", "ReLU"]
    assert [c.line for c in model.children] == [2, 2, 3, 3, 3, 3, 7]
    blocks = model.children[2:6]
    assert all(b.kind == "Bottleneck" for b in blocks)
    assert all(b.children == blocks[0].children for b in blocks)
    conv = child(blocks[3], "conv")
    assert conv.kwargs["padding"] == "same" and conv.line == 4
    # full copies: nothing is shared between the repeated modules
    assert blocks[0].kwargs is not blocks[1].kwargs
    assert child(blocks[0], "conv").kwargs is not child(blocks[1], "conv").kwargs


def test_shorthand_of_lists_copies_them() -> None:
    text = "ModuleList(\n  (0-1): 2 x Foo(sizes=[1, [2, 3]])\n)"
    first, second = parse_printed(text, "s").children
    assert first.kwargs == second.kwargs == {"sizes": [1, [2, 3]]}
    assert first.kwargs["sizes"] is not second.kwargs["sizes"]
    assert first.kwargs["sizes"][1] is not second.kwargs["sizes"][1]


def test_nested_shorthands_within_the_cap() -> None:
    text = "ModuleList(\n  (0-99): 100 x A(\n    (0-98): 99 x B()\n  )\n)"
    model = parse_printed(text, "s")
    assert len(model.children) == 100
    assert all(len(a.children) == 99 for a in model.children)
    assert MAX_REPEATED == 10_000  # 100 x (1 + 99) modules: exactly the cap


def test_three_levels_and_extra_repr_lines_inside_a_container() -> None:
    text = (
        "Net(\n"
        "  (body): MyBlock(\n"
        "    in=3, scale=2\n"
        "    mode=row, (768,)\n"
        "    (inner): Sequential(\n"
        "      (0): Softmax(dim=1)\n"
        "    )\n"
        "  )\n"
        "  (head): Multi(\n"
        "    a=1\n"
        "    b=-2.5\n"
        "  )\n"
        ")"
    )
    model = parse_printed(text, "net.txt")
    body = child(model, "body")
    assert body.kind == "MyBlock"
    assert body.args == ((768,),)
    assert body.kwargs == {"in": 3, "scale": 2, "mode": "row"}
    leaf = child(body, "inner", "0")
    assert (leaf.kind, leaf.kwargs, leaf.line) == ("Softmax", {"dim": 1}, 6)
    head = child(model, "head")
    assert (head.kwargs, head.children) == ({"a": 1, "b": -2.5}, ())


@pytest.mark.parametrize(
    ("line", "args", "kwargs"),
    [
        # PyTorch >= 0.4 and before it (no track_running_stats)
        ("BatchNorm2d(64, " + BN + ")", (64,), {"eps": 1e-05, "momentum": 0.1, "affine": True}),
        ("BatchNorm2d(64, eps=1e-05, momentum=0.1, affine=True)", (64,), {"eps": 1e-05}),
        ("BatchNorm2d(8, eps=0.001, momentum=None, affine=False)", (8,), {"momentum": None}),
        ("Upsample(scale_factor=2.0, mode='nearest')", (), {"mode": "nearest"}),
        ("Upsample(scale_factor=2.0, mode=nearest)", (), {"mode": "nearest"}),
        ('GELU(approximate="none")', (), {"approximate": "none"}),
        ("StochasticDepth(p=0.2, mode=row)", (), {"p": 0.2, "mode": "row"}),
        ("Conv2d(16, 16, padding=same, padding_mode=zeros)", (16, 16), {"padding": "same"}),
        ("LayerNorm((768,), eps=1e-05, elementwise_affine=True)", ((768,),), {"eps": 1e-05}),
        ("ZeroPad2d((1, 1, 2, 0))", ((1, 1, 2, 0),), {}),
        ("Flatten(start_dim=1, end_dim=-1)", (), {"start_dim": 1, "end_dim": -1}),
        ("Hardtanh(min_val=-1.0, max_val=1.0)", (), {"min_val": -1.0}),
        ("Foo(scales=(0.5, -1.5e-3), tags=['a', 'b,c'])", (), {"scales": (0.5, -0.0015)}),
        ("Foo(pair=(a, 'b'), nested=((1, 2), (3, -4)))", (), {"pair": ("a", "b")}),
        ("Foo(x='it\\'s (odd), isn\\'t it', y=\"q'\")", (), {"x": "it's (odd), isn't it"}),
        ("Foo(3, )", (3,), {}),
        ("Identity()", (), {}),
        ("Softmax(dim=None)", (), {"dim": None}),
        ("Foo(lambda=in, class=0x10)", (), {"lambda": "in", "class": 16}),
    ],
)
def test_leaf_arguments(line: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    module = parse_printed(line, "leaf.txt")
    assert module.args == args
    assert module.kwargs.items() >= kwargs.items()
    assert module.children == () and module.line == 1


def test_line_ends_blank_lines_and_whitespace() -> None:
    reference = parse_printed(ALEXNET, "a")
    crlf = ALEXNET.replace("\n", "  \r\n")
    assert parse_printed(crlf, "a") == reference
    assert parse_printed(ALEXNET.rstrip("\n"), "a") == reference
    assert parse_printed("\ufeff" + ALEXNET, "a") == reference
    spaced = "\n\n" + ALEXNET.replace("  (avgpool)", "\n   \n  (avgpool)")
    model = parse_printed(spaced, "a")
    assert child(model, "avgpool").line == 21  # lines are counted, blank ones too
    assert child(model, "classifier", "6").line == 29


def test_looks_printed() -> None:
    assert looks_printed(ALEXNET)
    assert looks_printed("\n\r\n  Sequential(\n")
    assert looks_printed("\ufeffReLU(inplace=True)")
    assert not looks_printed('{"x": [1, 2]}')
    assert not looks_printed("1,2\n3,4\n")
    assert not looks_printed("a,b\n1,2\n")
    assert not looks_printed("INFO loading model\nSequential(\n)")
    assert not looks_printed("")
    assert looks_printed("Sequential (\n)")  # PyTorch 0.3 and 0.4 print a space before '('
    assert not looks_printed("Sequential  (\n)")


def where(text: str) -> str:
    with pytest.raises(InputError) as info:
        parse_printed(text, "m.txt")
    assert info.value.where is not None
    return f"{info.value.where}: {info.value.message}"


ERRORS = [
    ("", "m.txt, line 1: holds no printed model"),
    ("\n  \n", "m.txt, line 1: holds no printed model"),
    ("INFO: loading\nSequential(\n)", "line 1, column 1: not a printed model"),
    ("[1, 2]", "line 1, column 1: not a printed model"),
    ("Sequential(\n)\nReLU()", "line 3, column 1: unexpected text after the model's"),
    ("Conv2d(3, 64", "line 1, column 7: unbalanced parentheses: Conv2d( is not closed"),
    ("Conv2d(3, (64, 1)", "line 1, column 7: unbalanced parentheses"),
    ("Conv2d(3, (64, 1", "line 1, column 11: unbalanced parentheses: '(' is not closed"),
    ("Foo(a=1))", "line 1, column 9: unexpected text after Foo(...): ')'"),
    ("Foo(a=1) # note", "line 1, column 10: unexpected text after Foo(...)"),
    ("Foo(a=(1, 2])", "line 1, column 12: mismatched brackets: '(' at column 7"),
    ("Foo(\n  a=1)\n)", "line 2, column 6: unbalanced parentheses: ')' has no matching"),
    ("Sequential(\n  (0): ReLU()", "line 1, column 11: unbalanced parentheses: Sequential( is"),
    (
        "Sequential(\n  (0): Sequential(\n    (0): ReLU()\n  (1): ReLU()\n)",
        "line 4, column 3: unbalanced parentheses: Sequential( of line 2 is not closed",
    ),
    ("Sequential(\n  (0): ReLU()\n  )\n)", "line 3, column 3: unbalanced parentheses: this ')'"),
    ("Sequential(\n  (0): ReLU()\n)\n)", "line 4, column 1: unexpected text after the model's"),
    ("Sequential(\n) x", "line 2, column 3: unexpected text after ')'"),
    ("Sequential(\n  (0): ReLU()\n))", "line 3, column 2: unexpected text after ')'"),
    ("Sequential(\n   (0): ReLU()\n)", "line 2, column 4: bad indentation: 3 spaces"),
    ("Sequential(\n    (0): ReLU()\n)", "line 2, column 5: bad indentation: 4 spaces"),
    ("Sequential(\n\t(0): ReLU()\n)", "line 2, column 1: a tab in the indentation"),
    ("Sequential(\n  \t(0): ReLU()\n)", "line 2, column 3: a tab in the indentation"),
    ("Sequential(\n  (0): ReLU()\n  (1) ReLU()\n)", "line 3, column 3: expected a child"),
    ("Sequential(\n  (0): relu\n)", "line 2, column 8: expected '(name): ClassName('"),
    ("Sequential(\n  (0):\n)", "line 2, column 7: expected '(name): ClassName('"),
    ("Sequential(\n  (a.b): ReLU()\n)", "line 2, column 4: 'a.b' is not a module name"),
    ("Sequential(\n  (0): ReLU()\n  (0): ReLU()\n)", "line 3: Sequential( of line 1 already"),
    ("ModuleList(\n  (0-1): 3 x ReLU()\n)", "line 2, column 4: (0-1) names 2 modules"),
    ("ModuleList(\n  (3-1): 3 x ReLU()\n)", "line 2, column 4: (3-1) names 0 modules"),
    ("ModuleList(\n  (a): 3 x ReLU()\n)", "line 2, column 8: '3 x' follows (a)"),
    (
        "ModuleList(\n  (0-1): 2 x ReLU()\n  (1): ReLU()\n)",
        "line 3: ModuleList( of line 1 already has a child named '1'",
    ),
    (
        "ModuleList(\n  (0-10000): 10001 x ReLU()\n)",
        "line 2: the 'N x' repeats expand to more than 10,000 modules",
    ),
    (
        "ModuleList(\n  (0-99): 100 x A(\n    (0-99): 100 x B()\n  )\n)",
        "line 2: the 'N x' repeats expand to more than 10,000 modules",
    ),
    ("Foo(a='abc)", "line 1, column 7: unterminated string"),
    ('Foo(\n  a="abc\n)', "line 2, column 5: unterminated string"),
    ("Foo(a=1, a=2)", "line 1, column 10: a= is given twice"),
    ("Foo(a=)", "line 1, column 7: a= has no value"),
    ("Foo(1,,2)", "line 1, column 7: empty argument"),
    ("Foo(,)", "line 1, column 5: empty argument"),
    ("Foo(a=b c)", "line 1, column 7: not a literal value: 'b c'"),
    ("Foo(x=os.system)", "line 1, column 7: an attribute is not a literal value"),
    ("Foo(dtype=torch.float32)", "line 1, column 11: an attribute is not a literal value"),
    ("Foo(x=a[0])", "line 1, column 7: a subscript is not a literal value"),
    ("Foo(x=lambda: 0)", "line 1, column 7: a lambda is not a literal value"),
    ("Foo(x=f'{y}')", "line 1, column 7: an f-string is not a literal value"),
    ("Foo(x=1 + 2)", "line 1, column 7: an operator is not a literal value"),
    ("Foo(x=(1, 2 * 3))", "line 1, column 11: an operator is not a literal value"),
    ("Foo(x=-True)", "line 1, column 7: an operator is not a literal value"),
    ("Foo(x=--1)", "line 1, column 7: an operator is not a literal value"),
    ("Foo(x=+1)", "line 1, column 7: an operator is not a literal value"),
    ("Foo(x={1: 2})", "line 1, column 7: a dict is not a literal value"),
    ("Foo(x=a == b)", "line 1, column 7: a comparison is not a literal value"),
    ("Foo(x=[y for y in z])", "line 1, column 7: an expression is not a literal value"),
    ("Foo(print('hi'))", "line 1, column 5: a call is not a literal value"),
    ("Foo(x=" + "(" * 40 + ")", "line 1, column 39: brackets nested more than 32 deep"),
    ("Foo(" + ", ".join(["1"] * 1001) + ")", "line 1, column 3005: Foo( has more than 1,000"),
    ("Foo(" + "9" * 10_001 + ")", "line 1, column 5: an argument longer than 10,000"),
]


@pytest.mark.parametrize(("text", "expected"), ERRORS)
def test_errors_name_the_line(text: str, expected: str) -> None:
    assert expected in where(text)


def test_nesting_is_capped_without_recursion() -> None:
    def nested(levels: int) -> str:
        opening = ["Sequential("] + [f"{'  ' * i}(0): Sequential(" for i in range(1, levels)]
        closing = [f"{'  ' * i})" for i in reversed(range(levels))]
        return "\n".join(opening + closing)

    model = parse_printed(nested(MAX_DEPTH), "deep.txt")
    depth = 1
    while model.children:
        (model,) = model.children
        depth += 1
    assert depth == MAX_DEPTH
    assert "line 101, column 206: modules nested more than 100 levels deep" in where(
        nested(MAX_DEPTH + 1)
    )
    assert "line 101" in where(nested(2_000))  # 4 MB of text
    lines = nested(MAX_DEPTH).split("\n")
    lines.insert(MAX_DEPTH, "  " * MAX_DEPTH + "(0): ReLU()")  # a leaf at level 101
    assert "line 101, column 206: modules nested more than 100" in where("\n".join(lines))


@pytest.mark.parametrize(
    "payload",
    [
        "Conv2d(__import__('os').system('touch {path}'))",
        "Conv2d(3, 64, kernel_size=exec(\"open('{path}', 'w')\"))",
        "Sequential(\n  (0): Conv2d(open('{path}', 'w'))\n)",
        "Sequential(\n  (0): ReLU(inplace=(lambda: open('{path}', 'w'))())\n)",
        "Sequential(\n  x=[open('{path}', 'w') for _ in 'a']\n)",
        "Sequential(\n  x=f\"{{open('{path}', 'w')}}\"\n)",
    ],
)
def test_code_in_the_text_is_refused_and_never_run(tmp_path: Path, payload: str) -> None:
    target = tmp_path / "pwned"
    with pytest.raises(InputError, match="not a literal value"):
        parse_printed(payload.format(path=target), "evil.txt")
    assert not target.exists()


def test_five_megabytes_parse() -> None:
    block = RESNET18.split("  (layer1): ")[1].split("  (layer2): ", maxsplit=1)[0]
    body = block.replace("Sequential(\n", "", 1).rsplit("  )\n", 1)[0]
    copies = 5_000_000 // len(body) + 1
    parts = [body.replace("    (0): ", f"    ({i}): ", 1) for i in range(copies)]
    text = "Net(\n  (layer): Sequential(\n" + "".join(parts) + "  )\n)\n"
    assert len(text) > 5_000_000
    model = parse_printed(text, "big.txt")  # about a second (one loop over the lines)
    assert len(child(model, "layer").children) == copies


def test_import_does_not_load_numpy_rich_or_click() -> None:
    code = (
        "import sys, hw3cli.tensor_io.printed\n"
        "print(sorted(m for m in ('numpy', 'rich', 'click') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"


# -- properties --------------------------------------------------------------------------

identifiers = st.text("abexyz_019", min_size=1, max_size=6).filter(lambda s: not s[0].isdigit())
kinds = st.builds(str.__add__, st.sampled_from("ABCRSZ"), st.text("aeluvN0129", max_size=6))
scalars = st.one_of(
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
    st.booleans(),
    st.none(),
    identifiers.map(Word),
)
values = st.one_of(scalars, st.tuples(st.integers(-9, 9), st.integers(-9, 9)))


@st.composite
def modules(draw: st.DrawFn, depth: int = 0, name: str = "") -> Module:
    kind = draw(kinds)
    args = tuple(draw(st.lists(values, max_size=3)))
    keys = draw(st.lists(identifiers, max_size=3, unique=True))
    kwargs = {key: draw(values) for key in keys}
    names = draw(st.lists(identifiers | st.integers(0, 99).map(str), max_size=3, unique=True))
    children = tuple(draw(modules(depth + 1, n)) for n in names) if depth < 3 else ()
    return Module(name, kind, args, kwargs, children, 0)


def numbered(module: Module, line: int = 1) -> tuple[Module, int]:
    """``module`` with the line numbers render() gives it, and the line after it."""
    if not module.children:
        return module._replace(line=line), line + 1
    after = line + 1 + (1 if module.args or module.kwargs else 0)
    children = []
    for c in module.children:
        renumbered, after = numbered(c, after)
        children.append(renumbered)
    return module._replace(children=tuple(children), line=line), after + 1


@given(modules())
def test_round_trip_of_rendered_models(model: Module) -> None:
    expected, _ = numbered(model)
    assert parse_printed(render(model), "r.txt") == expected


MUTATION_CHARS = "()[]{},:=-+.'\"\\ \t\r\nx0123eEj_\x00\ufb01\u0661"
mutations = st.lists(
    st.tuples(
        st.sampled_from(["delete", "insert", "replace", "duplicate"]),
        st.integers(0, 10**6),
        st.text(st.sampled_from(MUTATION_CHARS) | st.characters(), min_size=1, max_size=3),
    ),
    min_size=1,
    max_size=6,
)


def mutate(text: str, edits: list[tuple[str, int, str]]) -> str:
    for kind, at, chars in edits:
        at %= len(text) + 1
        if kind == "delete":
            text = text[:at] + text[at + len(chars) :]
        elif kind == "insert":
            text = text[:at] + chars + text[at:]
        elif kind == "replace":
            text = text[:at] + chars + text[at + len(chars) :]
        else:
            lines = text.split("\n")
            i = at % len(lines)
            text = "\n".join(lines[: i + 1] + lines[i:])
    return text


@settings(max_examples=300)
@given(st.sampled_from(SAMPLES), mutations)
def test_mutations_end_in_a_module_or_an_input_error(
    sample: str, edits: list[tuple[str, int, str]]
) -> None:
    text = mutate(sample, edits)
    try:
        result = parse_printed(text, "mutated.txt")
    except InputError as e:
        assert e.where is not None and e.where.startswith("mutated.txt, line ")
    else:
        assert isinstance(result, Module)
