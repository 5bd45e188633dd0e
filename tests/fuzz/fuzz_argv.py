"""Fuzz harness: the runtime shim's command-line reader (``integrations.runtime._argv``).

Property, for any argv list: only :class:`CommandLineError` escapes; an injecting
command has absolute ``bundle`` and ``config_file``.

Run: ``python -m tests.fuzz.fuzz_argv WORKDIR tests/fuzz/corpus/argv -max_total_time=60``.
The input is the argv joined by spaces (seeds) or NUL bytes (either splits it).
"""

from __future__ import annotations

from cdikit.integrations.runtime._argv import parse_command_line
from cdikit.integrations.runtime._errors import CommandLineError
from tests.fuzz._common import only, run_atheris


def one_input(data: bytes) -> None:
    text = data.decode("utf-8", "surrogateescape")
    args = text.split("\0") if "\0" in text else text.split(" ")
    with only(CommandLineError, data):
        cmd = parse_command_line(args, cwd="/run/fuzz")
        if cmd.subcommand in ("create", "run"):
            assert cmd.bundle is not None and cmd.bundle.startswith("/"), cmd
            assert cmd.config_file is not None and cmd.config_file.startswith("/"), cmd
        else:
            assert cmd.bundle is None and cmd.config_file is None, cmd


if __name__ == "__main__":
    run_atheris(one_input)
