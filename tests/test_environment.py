"""Every option from the environment (``HW3_<COMMAND>_<OPTION>``, named after the long
option), the command line over it, and errors naming the variable; ``-q`` silences all
but errors and failed checks."""

from __future__ import annotations

import json

import click
import pytest

from hw3cli.cli import cli
from tests.conftest import assert_clean_error, invoke


def test_format_input_net_and_dy_come_from_the_environment() -> None:
    result = invoke(
        ["conv-shape", "--input", "32x32", "--kernel", "3"], HW3_CONV_SHAPE_FORMAT="json"
    )
    assert json.loads(result.stdout)["output_shape"] == [1, 30, 30, 1]
    assert invoke(["conv-shape", "--kernel", "3"], HW3_CONV_SHAPE_INPUT="28x28").stdout == "26x26\n"
    net = invoke(["conv-shape", "--input", "224x224"], HW3_CONV_SHAPE_NET="examples/vgg16.json")
    assert net.exit_code == 0 and net.stdout == "7x7\n"
    layers = invoke(["conv-shape", "--input", "32"], HW3_CONV_SHAPE_LAYER="conv k=3; pool max k=2")
    assert layers.stdout == "15\n"  # (32 - 3 + 1) = 30, pooled by 2: 15
    dx = invoke(["bn-grad", "examples/x.csv"], HW3_BN_GRAD_DY="examples/dy.csv")
    assert dx.exit_code == 0, dx.stderr
    assert dx.stdout == invoke(["bn-grad", "examples/x.csv", "--dy", "examples/dy.csv"]).stdout


def test_the_command_line_wins_over_the_environment() -> None:
    args = ["conv-shape", "--input", "32x32", "--kernel", "3", "--format", "plain"]
    assert invoke(args, HW3_CONV_SHAPE_FORMAT="json").stdout == "30x30\n"


def test_a_bad_value_from_the_environment_names_the_variable() -> None:
    result = invoke(["conv-shape", "--input", "32", "--kernel", "3"], HW3_CONV_SHAPE_LAYOUT="bogus")
    assert "HW3_CONV_SHAPE_LAYOUT='bogus'" in assert_clean_error(result)
    gamma = invoke(
        ["bn-grad", "examples/x.csv", "--dy", "examples/dy.csv"], HW3_BN_GRAD_GAMMA="1,x"
    )
    assert "Error: HW3_BN_GRAD_GAMMA='1,x': " in assert_clean_error(gamma)
    dy = invoke(["bn-grad", "examples/x.csv"], HW3_BN_GRAD_DY="missing.csv")
    assert "Error: HW3_BN_GRAD_DY='missing.csv'" in assert_clean_error(dy)


def _typed_options() -> list[tuple[str, str]]:
    """(command, long option) of every option whose type refuses the word 'bogus'."""
    found = []
    ctx = click.Context(cli)
    for name in ("conv-shape", "bn-grad", "softmax-grad"):
        command = cli.get_command(ctx, name)
        assert command is not None
        for param in command.params:
            refuses = isinstance(param.type, (click.Choice, click.types._NumberParamTypeBase))
            refuses = refuses or param.type.name in ("N[,N...]", "PADDING", "float", "delimiter")
            if isinstance(param, click.Option) and not param.is_flag and refuses:
                long = next(o for o in param.opts if o.startswith("--"))
                if not param.hidden:
                    found.append((name, long))
    return found


@pytest.mark.parametrize(("command", "option"), _typed_options())
def test_every_option_reads_its_variable(command: str, option: str) -> None:
    variable = f"HW3_{command}_{option[2:]}".replace("-", "_").upper()
    args = {
        "conv-shape": ["conv-shape", "--input", "32", "--kernel", "3"],
        "bn-grad": ["bn-grad", "examples/x.csv", "--dy", "examples/dy.csv"],
        "softmax-grad": ["softmax-grad", "examples/logits.csv", "--labels", "2,0,1"],
    }[command]
    if option in args:  # given on the command line, which wins: the variable is unused
        assert invoke(args, **{variable: "bogus"}).exit_code == 0
        return
    result = invoke(args, **{variable: "bogus"})
    assert f"{variable}='bogus'" in assert_clean_error(result)


def test_quiet_silences_all_but_errors_and_failed_checks() -> None:
    passed = invoke(["bn-grad", "examples/x.csv", "--dy", "examples/dy.csv", "--check", "-q"])
    assert passed.exit_code == 0 and passed.stdout == "" and passed.stderr == ""
    warned = invoke(["conv-shape", "--input", "32", "--kernel", "3", "--stride", "2", "-q"])
    assert warned.exit_code == 0 and warned.stdout == "" and warned.stderr == ""
    failed = invoke(
        ["conv-shape", "--input", "32", "--kernel", "3", "--stride", "2", "-q", "--strict"]
    )
    assert failed.exit_code == 1 and "--strict" in failed.stderr
    bad = invoke(["conv-shape", "--input", "4", "--kernel", "7", "-q"])
    assert "Error:" in assert_clean_error(bad)
    quiet_env = invoke(
        ["bn-grad", "examples/x.csv", "--dy", "examples/dy.csv", "--check"], HW3_BN_GRAD_QUIET="1"
    )
    assert quiet_env.stdout == "" and quiet_env.stderr == ""
