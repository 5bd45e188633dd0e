"""docs/cli.md names every command and global option the parser has (the parser is the source)."""

from __future__ import annotations

from pathlib import Path

from cdikit.cli._completion import command_tree
from cdikit.cli._parser import build_parser

DOC = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text()


def test_every_command_is_documented() -> None:
    parser, unavailable = build_parser([])
    assert not unavailable, unavailable
    tree = command_tree(parser)
    names = [" ".join(cmd.path[1:]) for cmd in tree.walk() if len(cmd.path) > 1]
    missing = [name for name in names if f"`{name}" not in DOC]
    assert not missing, f"docs/cli.md does not mention: {missing}"


def test_every_global_option_is_documented() -> None:
    parser, _ = build_parser([])
    for opt in command_tree(parser).options:
        assert any(f"`{flag}" in DOC for flag in opt.flags), opt.flags
