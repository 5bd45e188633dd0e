"""Loader benchmark: parse + validate 1,000 NVIDIA-shaped spec files (8 devices each).

Prints the time per file and the ratio to the bare cost of decoding the same bytes
with the fastest decoders available (msgspec/orjson for JSON, yaml-rs for YAML;
libyaml's C loader is shown for reference). Asserts nothing.

    python -m bench.bench_loader [--files 1000] [--shape canonical|realistic]

``--shape realistic`` writes the files as hand-written specs and other producers do
(JSON with ``"minor": 0`` and other zero values spelled out, YAML with comments).
"""

from __future__ import annotations

import argparse
import gc
import time
from collections.abc import Callable

import msgspec

from bench._shapes import nvidia_like_spec, realistic_bytes
from cdikit.specfile import load_spec_bytes


def _encode(spec: object, fmt: str) -> bytes:
    from cdikit.spec.encode import encode_spec

    return encode_spec(spec, fmt)  # type: ignore[arg-type]


def _best(fn: Callable[[], object], repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--shape", choices=["canonical", "realistic"], default="canonical")
    args = parser.parse_args()
    half = args.files // 2
    write = realistic_bytes if args.shape == "realistic" else _encode
    jsons = [write(nvidia_like_spec(i), "json") for i in range(half)]
    yamls = [write(nvidia_like_spec(i + half), "yaml") for i in range(args.files - half)]
    print(
        f"{len(jsons)} JSON files ({sum(map(len, jsons)) // len(jsons)} B avg), "
        f"{len(yamls)} YAML files ({sum(map(len, yamls)) // len(yamls)} B avg), 8 devices each"
    )

    import yaml
    import yaml_rs

    try:
        import orjson  # optional: not a dependency of cdikit
    except ImportError:
        orjson = None

    texts = [y.decode() for y in yamls]
    bare_orjson = _best(lambda: [orjson.loads(b) for b in jsons]) if orjson is not None else float("inf")
    bare_msgspec = _best(lambda: [msgspec.json.decode(b) for b in jsons])
    bare_json = min(bare_orjson, bare_msgspec)
    bare_yaml_rs = _best(lambda: [yaml_rs.loads(t) for t in texts])
    bare_libyaml = _best(lambda: [yaml.load(t, Loader=yaml.CSafeLoader) for t in texts], repeat=1)
    ours_json = _best(lambda: [load_spec_bytes(b, f"/etc/cdi/s{i}.json") for i, b in enumerate(jsons)])
    ours_yaml = _best(lambda: [load_spec_bytes(b, f"/etc/cdi/s{i}.yaml") for i, b in enumerate(yamls)])

    def row(label: str, total: float, n: int) -> str:
        return f"  {label:<44} {total * 1e3:8.1f} ms total {total / n * 1e6:8.1f} us/file"

    print("JSON")
    if orjson is not None:
        print(row("bare decode orjson", bare_orjson, len(jsons)))
    print(row("bare decode msgspec (untyped)", bare_msgspec, len(jsons)))
    print(row("cdikit parse + validate", ours_json, len(jsons)))
    print(f"  ratio cdikit / fastest bare decode: {ours_json / bare_json:.2f}x  (target < 3x)")
    print("YAML")
    print(row("bare decode yaml-rs", bare_yaml_rs, len(yamls)))
    print(row("bare decode libyaml CSafeLoader (reference)", bare_libyaml, len(yamls)))
    print(row("cdikit parse + validate", ours_yaml, len(yamls)))
    print(f"  ratio cdikit / fastest bare decode: {ours_yaml / bare_yaml_rs:.2f}x  (target < 1.5x)")
    print(f"  ratio cdikit / libyaml C loader:     {ours_yaml / bare_libyaml:.2f}x")


if __name__ == "__main__":
    main()
