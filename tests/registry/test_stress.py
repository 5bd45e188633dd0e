"""Stress: one writer rewrites and removes specs while readers refresh and inject.

Asserts zero torn reads (a load error, or a volatile spec whose spec-level and
device-level generations differ), zero lost devices (stable devices always
resolve) and zero unexpected exceptions, over a bounded run. Prints the counts.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from cdikit.errors import RegistryError, UnresolvableDevicesError
from cdikit.registry import Registry
from tests.registry.conftest import spec_json, write

DURATION_S = 3.0
READERS = 3
STABLE = [f"stable.com/dev=s{i}" for i in range(4)]
VOLATILE_FILES = 4


def _volatile(gen: int, index: int, devices: int) -> str:
    return json.dumps(
        {
            "cdiVersion": "0.3.0",
            "kind": "volatile.com/dev",
            "containerEdits": {"env": [f"GEN{index}={gen}"]},
            "devices": [
                {"name": f"v{index}-{d}", "containerEdits": {"env": [f"GEN{index}_DEV={gen}"]}}
                for d in range(devices)
            ],
        }
    )


def _writer(spec_dir: Path, stop: threading.Event, counts: Counter[str]) -> None:
    rng = random.Random(1)
    gen = 0
    while not stop.is_set():
        gen += 1
        index = rng.randrange(VOLATILE_FILES)
        target = spec_dir / f"volatile{index}.json"
        if rng.random() < 0.25:
            try:
                target.unlink()
                counts["removes"] += 1
            except FileNotFoundError:
                pass
            continue
        # Padding changes the size as well as the content between generations.
        text = _volatile(gen, index, rng.randint(1, 4)) + " " * rng.randrange(64)
        tmp = spec_dir / f".volatile{index}.tmp"
        tmp.write_text(text)
        os.replace(tmp, target)
        counts["writes"] += 1


def _reader(reg: Registry, stop: threading.Event, counts: Counter[str], problems: list[str]) -> None:
    rng = random.Random(threading.get_ident())
    while not stop.is_set():
        try:
            try:
                reg.refresh()
            except RegistryError as err:
                counts["torn"] += 1
                problems.append(f"torn read: {err}")
            counts["refreshes"] += 1
            missing = [n for n in STABLE if reg.get_device(n) is None]
            if missing:
                counts["lost"] += len(missing)
                problems.append(f"lost devices {missing}")
            index = rng.randrange(VOLATILE_FILES)
            wanted = [*STABLE, f"volatile.com/dev=v{index}-0"]
            oci: dict[str, Any] = {"ociVersion": "1.2.0", "process": {"cwd": "/", "env": []}}
            try:
                reg.inject_devices(oci, wanted)
            except UnresolvableDevicesError as err:
                if set(err.names) - {wanted[-1]}:
                    counts["lost"] += 1
                    problems.append(f"unresolvable: {err.names}")
                counts["volatile_absent"] += 1
                continue
            env = dict(e.split("=", 1) for e in oci["process"]["env"])
            if env[f"GEN{index}"] != env[f"GEN{index}_DEV"]:
                counts["torn"] += 1
                problems.append(f"mixed generations: {env}")
            counts["injections"] += 1
        except Exception as err:  # every other exception is a failure of the registry
            counts["unexpected"] += 1
            problems.append(f"unexpected {type(err).__name__}: {err}")


def test_writer_and_readers(tmp_path: Path) -> None:
    spec_dir = tmp_path / "cdi"
    for i in range(len(STABLE)):
        write(spec_dir / f"stable{i}.yaml", spec_json("stable.com/dev", [f"s{i}"]))
    counts: Counter[str] = Counter()
    problems: list[str] = []
    stop = threading.Event()
    with Registry([str(spec_dir)]) as reg:
        listener_calls = Counter[str]()
        reg.add_listener(lambda _r: listener_calls.update(["calls"]))
        threads = [threading.Thread(target=_writer, args=(spec_dir, stop, counts))]
        threads += [
            threading.Thread(target=_reader, args=(reg, stop, counts, problems)) for _ in range(READERS)
        ]
        for t in threads:
            t.start()
        time.sleep(DURATION_S)
        stop.set()
        for t in threads:
            t.join(timeout=30)
        assert not any(t.is_alive() for t in threads)
    print(
        f"\nstress: writes={counts['writes']} removes={counts['removes']} refreshes={counts['refreshes']} "
        f"injections={counts['injections']} volatile_absent={counts['volatile_absent']} "
        f"listener_calls={listener_calls['calls']} torn={counts['torn']} lost={counts['lost']} "
        f"unexpected={counts['unexpected']}"
    )
    assert problems == [], problems[:5]
    assert counts["torn"] == counts["lost"] == counts["unexpected"] == 0
    assert counts["writes"] > 0 and counts["injections"] > 0
