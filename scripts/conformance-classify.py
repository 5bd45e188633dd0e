#!/usr/bin/env python3
"""Group failing conformance cases by the input feature most likely to cause them.

Usage: .venv/bin/python scripts/conformance-classify.py [ROOT ...] [-v]

Runs every case under each ROOT (default: ../shared/conformance/fuzz) through the
conformance handlers, exactly as tests/conformance does, and prints, for each
failing case, the first matching feature of its spec bytes; then counts per
feature. Used to triage the randomized corpus class by class (issue 13).
"""

from __future__ import annotations

import collections
import importlib
import os
import re
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conformance._case import FUZZ_ROOT, stage

# (name, pattern over the raw bytes of the case's spec files); first match wins.
FEATURES: list[tuple[str, re.Pattern[bytes]]] = [
    (name, re.compile(pattern, re.M))
    for name, pattern in [
        ("utf16-bom", rb"\A(\xff\xfe|\xfe\xff)"),
        ("directive", rb"^%"),
        ("binary-tag", rb"!!binary"),
        ("timestamp/null-tag", rb"!!(timestamp|null)"),
        ("other-tag", rb"(^|[\s\[{,:])!"),
        ("merge-key", rb"<<"),
        ("complex-key", rb"(^|[\s\[{,])\?(\s|$)"),
        ("stray-bom", rb".\xef\xbb\xbf"),
        ("escape", rb"\\[/'uU]"),
        ("negative-zero/int-float", rb"-0\.0|\d\.0\b|\d{19}\.0"),
        ("big-number", rb"\d{20,}|[eE]\+?\d{3}"),
        ("float", rb"\d\.\d|\d[eE][-+]?\d"),
        ("non-ascii-key", rb"[\x80-\xff][^:\n]*:"),
        ("case-variant-key", rb"(?i)\b(KIND|CDIVERSION|DEVICES|NAME|CONTAINEREDITS|ENV|PATH)\b\s*\"?:"),
    ]
]


def features(case_dir: Path) -> bytes:
    chunks = []
    for path in sorted(case_dir.rglob("*")):
        if path.is_file() and path.name not in ("args.json", "expected.json", "oci.json"):
            chunks.append(path.read_bytes())
    return b"\n".join(chunks)


def classify(data: bytes, message: str) -> str:
    for name, pattern in FEATURES:
        if pattern.search(data):
            return name
    if "Traceback" in message or "Error(" in message:
        return "crash"
    return "other"


def main() -> int:
    verbose = "-v" in sys.argv
    roots = [Path(a) for a in sys.argv[1:] if a != "-v"] or [FUZZ_ROOT]
    counts: collections.Counter[str] = collections.Counter()
    here = os.getcwd()
    for root in roots:
        for args in sorted(root.glob("*/*/args.json")):
            source = args.parent
            with tempfile.TemporaryDirectory() as tmp:
                case = stage(source, Path(tmp) / "case")
                handler = importlib.import_module(f"tests.conformance.handlers.{case.args['command']}")
                os.chdir(case.scratch)
                try:
                    handler.check(case)
                    continue
                except BaseException as exc:  # triage reports everything
                    message = f"{type(exc).__name__}: {exc}"
                finally:
                    os.chdir(here)
            cls = classify(features(source), message)
            counts[cls] += 1
            print(f"{cls:28} {source.parent.name}/{source.name}")
            if verbose:
                print("    " + message.replace("\n", "\n    ")[:1500])
    print()
    for cls, n in counts.most_common():
        print(f"{n:6}  {cls}")
    print(f"{sum(counts.values()):6}  total")
    return 1 if counts else 0


if __name__ == "__main__":
    raise SystemExit(main())
