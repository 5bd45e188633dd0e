"""Fuzz harness: the shim's config.json rewrite (``cdikit._rawjson``).

Properties, for any bytes: ``loads`` raises only ValueError/RecursionError
(what ``json.loads`` raises; the shim reports it as "not valid JSON");
for anything it accepts, ``dumps`` gives JSON that parses back to exactly
the same values, every number by its source text, keys in the same order;
and a second round trip is byte-identical (the rewrite is stable).

Input: a JSON document (the seeds are real and odd ``config.json`` files).
Run: ``python -m tests.fuzz.fuzz_rawjson WORKDIR tests/fuzz/corpus/rawjson -max_total_time=60``.
"""

from __future__ import annotations

import json
from typing import Any

from cdikit._rawjson import dumps, loads
from tests.fuzz._common import only, run_atheris


def exact_tree(text: str | bytes) -> Any:
    """The document with every number as its source text and objects as ordered pairs.

    Duplicate keys collapse as in a dict (first position, last value), as Go's
    decoder does for the fields runc reads.
    """
    return json.loads(
        text,
        parse_float=str,
        parse_int=str,
        parse_constant=str,
        object_pairs_hook=lambda pairs: list(dict(pairs).items()),
    )


def one_input(data: bytes) -> None:
    with only((ValueError, RecursionError), data):
        doc = loads(data)
        out = dumps(doc)
        assert exact_tree(out) == exact_tree(data), "a value changed in the rewrite"
        assert dumps(loads(out)) == out, "the rewrite is not stable"


if __name__ == "__main__":
    run_atheris(one_input)
