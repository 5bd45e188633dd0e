"""Fuzz harness: ``cdi.k8s.io/`` annotations (``cdikit.annotations``).

Properties, for any string map: ``parse_annotations`` raises only
:class:`AnnotationError`; ``update_annotations`` raises only AnnotationError and
leaves the mapping unchanged when it does; every device it accepts parses.

Input: a JSON object (the seeds), else a map built from the bytes.
Run: ``python -m tests.fuzz.fuzz_annotations WORKDIR tests/fuzz/corpus/annotations -max_total_time=60``.
"""

from __future__ import annotations

import json

from cdikit.annotations import ANNOTATION_PREFIX, parse_annotations, update_annotations
from cdikit.errors import AnnotationError
from cdikit.names import parse_qualified_name
from tests.fuzz._common import Data, only, run_atheris

_PIECES = ("vendor.com/gpu=0", "a.b/c=d", ",", "=", "/", "x", "", "ab/cd=*", " ", "\udcff", "é")


def _build(data: bytes) -> dict[str, str]:
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        doc = None
    if isinstance(doc, dict) and all(isinstance(v, str) for v in doc.values()):
        return doc
    d = Data(data)
    out: dict[str, str] = {}
    for _ in range(d.below(5)):
        key = (ANNOTATION_PREFIX if d.flag() else "") + d.text(8)
        value = "".join(str(d.choice(_PIECES)) if d.flag() else d.text(6) for _ in range(d.below(6)))
        out[key] = value
    return out


def one_input(data: bytes) -> None:
    annotations = _build(data)
    with only(AnnotationError, data):
        _keys, devices = parse_annotations(annotations)
        for device in devices:
            parse_qualified_name(device)
    before = dict(annotations)
    items = list(annotations.items())
    plugin, device_id = items[0] if items else ("", "")
    devices_in = items[-1][1].split(",") if items else None
    with only(AnnotationError, data):
        try:
            update_annotations(annotations, plugin[:20], device_id[:20], devices_in)
        except AnnotationError:
            assert annotations == before, "update_annotations changed the mapping on error"
            raise


if __name__ == "__main__":
    run_atheris(one_input)
