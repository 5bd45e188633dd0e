"""Fuzz harness: the bounded ELF reader (``cdikit._elf``) that reads an image's ``libcuda.so.*`` as root.

Properties, for any file: no exception escapes ``read_notes``, ``read_soname``
or ``has_interpreter``; at most ``_MAX_NOTES`` notes come back, each
descriptor no longer than the file; the note bytes read stay within the
budget (so a crafted file costs bounded time and memory).

Input: the file's bytes, as they are; when they do not start with the ELF
magic, a valid ELF64 with one note is built and the input bytes overwrite
parts of it (so the fuzzer reaches the section table at once).
Run: ``python -m tests.fuzz.fuzz_elf WORKDIR tests/fuzz/corpus/elf -max_total_time=60``.
"""

from __future__ import annotations

import os

from cdikit import _elf
from tests._elfcraft import elf_with_note
from tests.fuzz._common import Data, only, run_atheris


def _file(data: bytes) -> bytes:
    if data.startswith(b"\x7fELF"):
        return data
    d = Data(data)
    buf = bytearray(elf_with_note(b'{"driver": [550]}'))
    for _ in range(d.below(8)):
        offset = d.below(len(buf))
        chunk = d.take(d.below(9))
        buf[offset : offset + len(chunk)] = chunk
    return bytes(buf) + d.rest()


def one_input(data: bytes) -> None:
    content = _file(data)
    fd = os.memfd_create("fuzz-elf")
    try:
        os.write(fd, content)
        with only((), data):
            notes = _elf.read_notes(fd)
            assert len(notes) <= _elf._MAX_NOTES, len(notes)
            assert sum(len(desc) for _, _, desc in notes) <= min(len(content), _elf._MAX_NOTE_BYTES)
            path = f"/proc/self/fd/{fd}"
            soname = _elf.read_soname(path)
            assert soname is None or (isinstance(soname, str) and len(soname) <= 256)
            assert _elf.has_interpreter(path) in (None, True, False)
    finally:
        os.close(fd)


if __name__ == "__main__":
    run_atheris(one_input)
