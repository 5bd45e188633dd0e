"""docs/runtime-config.md documents exactly the keys the shim accepts, with the defaults it uses."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

from cdikit.integrations.runtime._config import RuntimeConfig, load_config

DOC = Path(__file__).resolve().parents[2] / "docs" / "runtime-config.md"


def _reference_block() -> str:
    text = DOC.read_text()
    return re.search(r"## Reference\n\n```toml\n(.*?)```", text, re.S).group(1)  # type: ignore[union-attr]


def test_reference_example_loads_and_equals_the_defaults(tmp_path: Path) -> None:
    config = tmp_path / "runtime.toml"
    config.write_text(_reference_block())
    loaded, default = load_config(str(config)), RuntimeConfig()
    for slot in RuntimeConfig.__slots__:
        if slot != "source":
            assert getattr(loaded, slot) == getattr(default, slot), slot


def test_every_accepted_key_is_in_the_table(tmp_path: Path) -> None:
    keys = set(tomllib.loads(_reference_block()))
    table = set(re.findall(r"^\| `([a-z-]+)` \|", DOC.read_text(), re.M))
    assert keys <= table
    for key in table:
        # Each documented key is accepted (an unknown key is an error).
        config = tmp_path / f"{key}.toml"
        value = tomllib.loads(_reference_block()).get(key)
        if value is None:
            continue
        config.write_text(f"{key} = {json.dumps(value)}\n")  # JSON scalars and arrays are TOML
        load_config(str(config))
