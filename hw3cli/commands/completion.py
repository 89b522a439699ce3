"""``hw3 completion SHELL``: print the shell completion script."""

from __future__ import annotations

import click

from hw3cli.commands._options import quiet_option

SHELLS = ("bash", "zsh", "fish")

EPILOG = """\b
Install (or use the copies in the repository's completions/ folder):
  bash:  hw3 completion bash > ~/.local/share/bash-completion/completions/hw3
  zsh:   hw3 completion zsh > "${fpath[1]}/_hw3"
  fish:  hw3 completion fish > ~/.config/fish/completions/hw3.fish
"""


def completion_script(shell: str) -> str:
    """The script Click generates for ``hw3`` in ``shell``."""
    from click.shell_completion import get_completion_class

    from hw3cli.cli import cli

    cls = get_completion_class(shell)
    if cls is None:  # pragma: no cover - SHELLS are all known to Click
        raise click.BadParameter(f"unknown shell {shell!r}")
    return cls(cli, {}, "hw3", "_HW3_COMPLETE").source()


@click.command("completion", epilog=EPILOG, short_help="Print a shell completion script.")
@click.argument("shell", type=click.Choice(SHELLS))
@quiet_option
def completion(shell: str) -> None:
    """Print the completion script for SHELL (bash, zsh or fish).

    Commands, options and option values with a fixed set of choices complete.
    """
    click.echo(completion_script(shell), nl=False)
