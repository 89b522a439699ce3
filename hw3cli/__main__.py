"""``python -m hw3cli``: the same as the ``hw3`` command."""

from hw3cli.cli import main

if __name__ == "__main__":
    main(prog_name="hw3")
