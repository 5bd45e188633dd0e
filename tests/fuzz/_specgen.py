"""Seeded, edge-biased generators of CDI spec bytes and inject setups for differential fuzzing.

A generated spec starts as a mostly valid document (so decoded values get compared, not
only verdicts) and then takes a few edges from the catalogues below: YAML 1.1 versus 1.2
scalars, tags and directives, anchors, aliases and merge keys, escapes, BOMs and UTF-16,
case-variant, Unicode-folded and duplicate keys, numbers at type limits, floats in string
fields, huge integers, names at grammar edges. Every choice comes from one
``random.Random``, so a (seed, index) pair always gives the same bytes.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from typing import Any

# --------------------------------------------------------------------------- tree

#: A document tree: Map (ordered pairs, duplicates allowed), list, Raw token or a plain value.


@dataclass
class Raw:
    """A scalar written exactly as given (an edge token: ``0x1F``, ``!!binary aGk=``, ...)."""

    text: str


@dataclass
class Map:
    pairs: list[tuple[Any, Any]] = field(default_factory=list)
    anchor: str | None = None


@dataclass
class Alias:
    name: str


@dataclass
class Anchored:
    """A node carrying an anchor (``&name``)."""

    name: str
    node: Any


# --------------------------------------------------------------------------- catalogues

VERSIONS = ["0.3.0", "0.4.0", "0.5.0", "0.6.0", "0.7.0", "0.8.0", "1.0.0", "1.1.0"]
ODD_VERSIONS = ["v1.0.0", "1.0", "1", "0.2.0", "1.2.0", "v0.6.0", "01.0.0", "1.0.0-rc1", " 1.0.0", "1.1.0 "]
VENDORS = ["vendor.com", "acme.io", "nvidia.com", "example.org", "x-y.z", "Vendor_1", "a1"]
EDGE_VENDORS = [
    "a",
    "v",
    "1a",
    "a.",
    "a-",
    "a..b",
    "a_b",
    "a" * 70,
    "vé",
    "ve\u0301",
    "A",
    "a/b",
    "",
    "-a",
    "a1-",
]
CLASSES = ["gpu", "device", "nic", "fpga", "c_1", "class.x", "net-dev"]
EDGE_CLASSES = ["c", "g", "9gpu", "gpu-", "gpu.", "g/p", "gpu=x", "ǵpu", "", "Gpu", "g" * 80]
DEVICES = ["dev0", "0", "gpu0", "all", "mig-1:0", "a.b", "a_b", "x", "1", "d-1"]
EDGE_DEVICES = ["a:", ":a", "a..b", "a b", "é", "a=b", "-a", "a-", "", "a" * 200, "a/b", "0:0", "A"]
HOST_PATHS = ["/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom"]
ABSENT_PATHS = ["/dev/cdi-test-x", "/dev/fake1", "/dev/fake2", "/dev/ctr0"]
ENV = ["A=1", "B=2", "PATH=/bin", "FOO=", "X=a=b", "LD_LIBRARY_PATH=/usr/lib", "U=é"]
EDGE_ENV = ["=x", "FOO", "", " A=1", "A B=1"]
HOOK_NAMES = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"]

#: Scalars whose meaning differs between YAML 1.1 (go-yaml v2) and 1.2, or between decoders.
SCALAR_EDGES = [
    "yes",
    "no",
    "Yes",
    "NO",
    "on",
    "Off",
    "y",
    "n",
    "Y",
    "N",
    "true",
    "False",
    "TRUE",
    "~",
    "null",
    "Null",
    "NULL",
    "''",
    '""',
    "0x1F",
    "0X1f",
    "007",
    "0o17",
    "0O17",
    "0b101",
    "0B1",
    "08",
    "09.5",
    "1e3",
    "1E3",
    "1.50",
    "1_000",
    "1__0",
    "_1",
    ".inf",
    "-.Inf",
    "+.INF",
    ".nan",
    ".NaN",
    "+12",
    "-0",
    "-0.0",
    "+0.0",
    "0.",
    ".5",
    "1.0",
    "1e+06",
    "1e-07",
    "1000000.0",
    "123456789.0",
    "1.2345678901",
    "0.1",
    "3.0e+2",
    "2001-12-14",
    "2001-12-14t21:59:43.10-05:00",
    "2001-12-14 21:59:43.10",
    "1:20",
    "190:20:30",
    "-1:30",
    "1:2:3.5",
    "=",
    "<<",
    "0x_1F",
    "0b_1",
    "0_7",
    "1e400",
    "-1e400",
    "4.9e-324",
    "1.7976931348623157e308",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "-9223372036854775809",
    "18446744073709551615",
    "18446744073709551616",
    "-9223372036854775808.0",
    "9.223372036854776e18",
    "4294967295",
    "4294967296",
    "2147483648",
    "-2147483649",
    "0777777777777777777777",
    "1" * 25,
    "1" * 4301,
    "1" * 4400,
]
# flow oddities, scalars that start like indicators, quoting edges
SCALAR_EDGES += [
    ":x",
    "::",
    "x:",
    "{a: b:}",
    "[a: b]",
    "{? a}",
    "[? a : b]",
    "{a, b}",
    "-",
    "- x",
    "?",
    "? x",
    "@x",
    "`x",
    "|",
    ">",
    "#x",
    "x #y",
    "x#y",
    "'a''b'",
    '"\\/"',
    '"\\\'"',
    '"\\ud83d\\ude00"',
    '"\\ud83d"',
    "'\\'",
]

INT_EDGES = [
    "0",
    "-1",
    "1",
    "0660",
    "0o660",
    "0x1F",
    "0b101",
    "1e3",
    "1.0",
    "1.5",
    "-0.0",
    "-0",
    "+1",
    "2147483647",
    "2147483648",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "-9223372036854775809",
    "18446744073709551616",
    "-9223372036854775808.0",
    "9.223372036854776e18",
    "1e400",
    "1e18",
    "1.0e+3",
    "0x7FFFFFFFFFFFFFFF",
    "0x8000000000000000",
    "0777",
    '"1"',
    "'1'",
    "yes",
    "~",
    "null",
    ".inf",
    ".nan",
    "1_0",
    "0b_1",
    "1" * 30,
    "1" * 4301,
    "12:30",
    "!!int 5",
    "!!int '5'",
    "!!float 5",
    "!!str 5",
    "!!binary MQ==",
    "[1]",
    "{}",
    "true",
]
TAG_EDGES = [
    "!!str",
    "!!int",
    "!!float",
    "!!bool",
    "!!null",
    "!!binary",
    "!!timestamp",
    "!!map",
    "!!seq",
    "!!set",
    "!!omap",
    "!!merge",
    "!!value",
    "!custom",
    "!",
    "!<tag:yaml.org,2002:str>",
    "!<tag:yaml.org,2002:int>",
    "!<!foo>",
    "!e!x",
    "!!Str",
    "!!python/str",
]
TAGGED_VALUES = [
    "!!binary aGVsbG8=",
    "!!binary Zm9v\n",
    "!!binary '!!'",
    "!!timestamp 2001-12-14",
    "!!timestamp x",
    "!!null x",
    "!!null ''",
    "!!null",
    "!!bool yes",
    "!!bool x",
    "!!float 1",
    "!!float x",
    "!!int 0x10",
    "!!int x",
    "!!str 1",
    "!!str yes",
    "!!str",
    "!custom v",
    "! 5",
    "!<tag:yaml.org,2002:str> 5",
    "!!map {}",
    "!!seq []",
    "!!set {a}",
]
#: Double-quoted string escapes (YAML and/or JSON).
ESCAPES = [
    "\\/",
    "\\'",
    '\\"',
    "\\\\",
    "\\x41",
    "\\u0041",
    "\\U0001F600",
    "\\ud83d\\ude00",
    "\\ud800",
    "\\udc00x",
    "\\N",
    "\\_",
    "\\L",
    "\\P",
    "\\e",
    "\\0",
    "\\a",
    "\\b",
    "\\f",
    "\\v",
    "\\t",
    "\\ ",
    "\\u00e9",
    "\\u2028",
    "\\uFEFF",
    "\\uFFFE",
    "\\x7f",
    "\\x85",
    "\\xff",
    "\\q",
    "\\u12",
    "\\x4",
    "\\U00110000",
]
DIRECTIVES = [
    "%YAML 1.1\n---\n",
    "%YAML 1.2\n---\n",
    "%YAML 1.3\n---\n",
    "%YAML 2.0\n---\n",
    "%TAG ! tag:example.com,2000:\n---\n",
    "%TAG !e! tag:e.com,2000:\n---\n",
    "%FOO bar\n---\n",
    "%YAML 1.1\n%YAML 1.1\n---\n",
    "--- !!map\n",
    "--- \n",
    "---\n",
    "...\n",
    "\t",
    "...\n---\n",
    " ",
    "\n\n",
    "--- # c\n",
    "%YAML 1.1\n",
    "\ufeff",
    "# c\n---\n",
]
TRAILERS = [
    "\n...\n",
    "\n---\n",
    "\n--- x\n",
    "\n---\nkind: a/b\n",
    "\n...\n---\n{}\n",
    "\n# end",
    "\n\n\n",
    "\x00",
    "\n\t",
]
#: Characters that fold to ASCII letters under full Unicode case folding, and lookalikes.
FOLDS = {
    "k": ["\u212a"],  # KELVIN SIGN
    "s": ["\u017f"],  # LATIN SMALL LETTER LONG S
    "i": ["\u0130", "\u0131"],
    "fi": ["\ufb01"],
    "ff": ["\ufb00"],
    "st": ["\ufb06"],
    "a": ["\u0430"],  # Cyrillic a (no fold: a different key)
}

FIELDS_SPEC = ["cdiVersion", "kind", "annotations", "devices", "containerEdits"]
FIELDS_EDITS = ["env", "deviceNodes", "hooks", "mounts", "intelRdt", "additionalGids", "netDevices"]


class Gen:
    """One generator state: a Random plus the edges it applied (tags for the report)."""

    def __init__(self, rng: random.Random, intensity: float | None = None) -> None:
        self.r = rng
        self.edges: list[str] = []
        self._anchor = 0
        # how often value-level edges strike: 0 gives a clean document, 2 a very edgy one
        self.k = intensity if intensity is not None else rng.choice([0.0, 0.15, 0.3, 0.6, 1.0, 2.0])

    def p(self, prob: float) -> bool:
        return self.r.random() < prob

    def pick(self, seq: list[Any]) -> Any:
        return seq[self.r.randrange(len(seq))]

    def edge(self, tag: str) -> None:
        if tag not in self.edges:
            self.edges.append(tag)

    def anchor_name(self) -> str:
        self._anchor += 1
        return str(self.pick(["a", "x", "A", "anc", "1", "a-b", "é"])) + str(self._anchor)

    # ------------------------------------------------------------------ values

    def name(self, pool: list[str], edges: list[str], tag: str) -> str:
        if self.p(0.04 * self.k):
            self.edge(f"name-edge:{tag}")
            return str(self.pick(edges))
        return str(self.pick(pool))

    def string_value(self, s: str) -> Any:
        """A string field's value: usually ``s``; sometimes an edge scalar or a tagged value."""
        roll = self.r.random() / max(self.k, 1e-9)
        if roll < 0.03:
            self.edge("scalar-in-string-field")
            return Raw(self.pick(SCALAR_EDGES))
        if roll < 0.04:
            self.edge("tag")
            return Raw(self.pick(TAGGED_VALUES))
        if roll < 0.06:
            self.edge("escape")
            return Raw('"' + self.escaped(s) + '"')
        return s

    def escaped(self, s: str) -> str:
        parts = list(s.replace("\\", "\\\\").replace('"', '\\"'))
        for _ in range(self.r.randint(1, 2)):
            parts.insert(self.r.randint(0, len(parts)), self.pick(ESCAPES))
        return "".join(parts)

    def int_value(self, n: int) -> Any:
        roll = self.r.random() / max(self.k, 1e-9)
        if roll < 0.06:
            self.edge("number-edge")
            return Raw(self.pick(INT_EDGES))
        return n

    # ------------------------------------------------------------------ spec

    def device_node(self) -> Map:
        m = Map()
        present = self.p(0.7)
        path = self.pick(HOST_PATHS if present else ABSENT_PATHS)
        m.pairs.append(("path", self.string_value(path)))
        if self.p(0.25):
            m.pairs.append(("hostPath", self.string_value(self.pick(HOST_PATHS + ABSENT_PATHS))))
        if self.p(0.4) or not present:
            m.pairs.append(("type", self.string_value(self.pick(["c", "c", "b", "p", "", "u"]))))
        if self.p(0.4) or not present:
            m.pairs.append(("major", self.int_value(self.pick([1, 226, 195, 0, 10]))))
        if self.p(0.3):
            m.pairs.append(("minor", self.int_value(self.pick([3, 0, 255, 1]))))
        if self.p(0.2):
            m.pairs.append(("fileMode", self.int_value(self.pick([420, 438, 0, 0o640]))))
        if self.p(0.2):
            m.pairs.append(("permissions", self.string_value(self.pick(["rw", "rwm", "m", "r", "", "mrw"]))))
        if self.p(0.15):
            m.pairs.append(("uid", self.int_value(self.pick([0, 1000, 65534]))))
        if self.p(0.15):
            m.pairs.append(("gid", self.int_value(self.pick([0, 1000, 5]))))
        return m

    def edits(self, need: bool) -> Map:
        m = Map()
        kinds = [k for k in FIELDS_EDITS if self.p(0.3)]
        if need and not kinds:
            kinds = [self.pick(["env", "deviceNodes", "mounts"])]
        for k in kinds:
            if k == "env":
                m.pairs.append(
                    (
                        k,
                        [
                            self.string_value(self.pick(ENV if self.p(1 - 0.03 * self.k) else EDGE_ENV))
                            for _ in range(self.r.randint(1, 3))
                        ],
                    )
                )
            elif k == "deviceNodes":
                m.pairs.append((k, [self.device_node() for _ in range(self.r.randint(1, 2))]))
            elif k == "hooks":
                hooks = []
                for _ in range(self.r.randint(1, 2)):
                    h = Map(
                        [
                            ("hookName", self.string_value(self.pick(HOOK_NAMES))),
                            ("path", self.string_value("/bin/h")),
                        ]
                    )
                    if self.p(0.4):
                        h.pairs.append(
                            ("args", [self.string_value(a) for a in ["h", "-x"][: self.r.randint(0, 2)]])
                        )
                    if self.p(0.2):
                        h.pairs.append(("env", [self.string_value("A=1")]))
                    if self.p(0.3):
                        h.pairs.append(("timeout", self.int_value(self.pick([5, 0, -1]))))
                    hooks.append(h)
                m.pairs.append((k, hooks))
            elif k == "mounts":
                mounts = []
                for _ in range(self.r.randint(1, 2)):
                    mm = Map(
                        [
                            (
                                "hostPath",
                                self.string_value(
                                    self.pick(
                                        ["/tmp", "/usr/lib/x", "/tmp", "rel"]
                                        + ([""] if self.p(0.1 * self.k) else [])
                                    )
                                ),
                            ),
                            ("containerPath", self.string_value(self.pick(["/a", "/usr/lib/x", "/opt/d"]))),
                        ]
                    )
                    if self.p(0.4):
                        mm.pairs.append(
                            (
                                "options",
                                [
                                    self.string_value(o)
                                    for o in self.r.sample(["ro", "bind", "nosuid", "rbind"], 2)
                                ],
                            )
                        )
                    if self.p(0.2):
                        mm.pairs.append(("type", self.string_value(self.pick(["bind", "tmpfs", ""]))))
                    mounts.append(mm)
                m.pairs.append((k, mounts))
            elif k == "intelRdt":
                rdt = Map()
                for key, val in (
                    ("closID", "c1"),
                    ("l3CacheSchema", "L3:0=f"),
                    ("memBwSchema", "MB:0=70"),
                    ("schemata", ["L3:0=f"]),
                ):
                    if self.p(0.4):
                        rdt.pairs.append(
                            (
                                key,
                                [self.string_value(v) for v in val]
                                if isinstance(val, list)
                                else self.string_value(val),
                            )
                        )
                if self.p(0.2):
                    rdt.pairs.append(
                        ("enableMonitoring", Raw(self.pick(["true", "false", "yes", "on", "1", "~"])))
                    )
                m.pairs.append((k, rdt))
            elif k == "additionalGids":
                m.pairs.append(
                    (
                        k,
                        [
                            self.int_value(self.pick([0, 5, 65534, 4294967295]))
                            for _ in range(self.r.randint(1, 3))
                        ],
                    )
                )
            elif k == "netDevices":
                m.pairs.append(
                    (
                        k,
                        [
                            Map(
                                [
                                    (
                                        "hostInterfaceName",
                                        self.string_value(
                                            self.pick(
                                                ["eth0", "net0"] + ([""] if self.p(0.1 * self.k) else [])
                                            )
                                        ),
                                    ),
                                    (
                                        "name",
                                        self.string_value(
                                            self.pick(["eth1", "n1"] + ([""] if self.p(0.1 * self.k) else []))
                                        ),
                                    ),
                                ]
                            )
                        ],
                    )
                )
        return m

    def spec_tree(
        self, vendor: str | None = None, klass: str | None = None, devices: list[str] | None = None
    ) -> Map:
        version = "1.1.0" if self.p(0.85) else self.pick(VERSIONS)
        if self.p(0.03 * self.k):
            self.edge("version-edge")
            version = self.pick(ODD_VERSIONS)
        vendor = vendor or self.name(VENDORS, EDGE_VENDORS, "vendor")
        klass = klass or self.name(CLASSES, EDGE_CLASSES, "class")
        spec = Map()
        spec.pairs.append(("cdiVersion", self.string_value(version)))
        spec.pairs.append(("kind", self.string_value(f"{vendor}/{klass}")))
        if self.p(0.15):
            ann = Map(
                [
                    (
                        self.pick(["a", "vendor.com/key", "k", "1"]),
                        self.string_value(self.pick(["v", "1", "yes", ""])),
                    )
                ]
            )
            spec.pairs.append(("annotations", ann))
        names = devices or list(
            dict.fromkeys(self.name(DEVICES, EDGE_DEVICES, "device") for _ in range(self.r.randint(1, 3)))
        )
        devs = []
        for n in names:
            d = Map([("name", self.string_value(n))])
            if self.p(0.1):
                d.pairs.append(("annotations", Map([("a", self.string_value("b"))])))
            d.pairs.append(("containerEdits", self.edits(need=True)))
            devs.append(d)
        spec.pairs.append(("devices", devs))
        if self.p(0.3):
            spec.pairs.append(("containerEdits", self.edits(need=False)))
        if self.p(0.3):
            self.r.shuffle(spec.pairs)
        return spec


# --------------------------------------------------------------------------- structural edges


def _all_maps(node: Any, out: list[Map]) -> list[Map]:
    if isinstance(node, Map):
        out.append(node)
        for _, v in node.pairs:
            _all_maps(v, out)
    elif isinstance(node, list):
        for v in node:
            _all_maps(v, out)
    elif isinstance(node, Anchored):
        _all_maps(node.node, out)
    return out


def _fold_key(g: Gen, key: str) -> str:
    roll = g.r.random()
    if roll < 0.4:
        g.edge("key-case-variant")
        return "".join(c.upper() if g.p(0.5) else c.lower() for c in key)
    if roll < 0.5:
        g.edge("key-upper")
        return key.upper()
    for plain, subs in FOLDS.items():
        at = key.lower().find(plain)
        if at >= 0:
            g.edge("key-unicode-fold")
            return key[:at] + str(g.pick(subs)) + key[at + len(plain) :]
    return key.capitalize()


def structural_edges(g: Gen, tree: Map) -> None:
    """Apply one to three structural edges in place (keys, anchors, merges, duplicates)."""
    for _ in range(g.r.randint(0, 3)):
        maps = _all_maps(tree, [])
        m = g.pick(maps)
        if not m.pairs:
            continue
        i = g.r.randrange(len(m.pairs))
        key, value = m.pairs[i]
        roll = g.r.random()
        if roll < 0.22 and isinstance(key, str):
            m.pairs[i] = (_fold_key(g, key), value)
        elif roll < 0.34:
            g.edge("duplicate-key")
            dup_key = _fold_key(g, key) if isinstance(key, str) and g.p(0.6) else key
            if dup_key != key:
                g.edge("duplicate-key-case-variant")
            other = value if g.p(0.3) else (g.spec_tree().pairs[1][1] if key == "kind" else value)
            m.pairs.insert(g.r.randint(0, len(m.pairs)), (dup_key, other))
        elif roll < 0.40:
            g.edge("unknown-key")
            m.pairs.insert(
                g.r.randint(0, len(m.pairs)),
                (g.pick(["foo", "Devicess", "x", "annotation", "<<x", "k" * 1025, "name" + "e" * 1021]), "v"),
            )
        elif roll < 0.62:
            # merge keys: an inline map, an alias of an anchored map, a sequence of them, or junk
            g.edge("merge-key")
            kind = g.r.random()
            sources = [mm for mm in maps if mm is not m and mm.pairs]
            if kind < 0.3 or not sources:
                merge_value: Any = Map(list(m.pairs[: g.r.randint(1, len(m.pairs))]))
                del m.pairs[i]
            else:
                src = g.pick(sources)
                if src.anchor is None:
                    src.anchor = g.anchor_name()
                merge_value = Alias(src.anchor)
                if kind < 0.5:
                    g.edge("merge-sequence")
                    merge_value = [merge_value, Map([(key, value)])] if g.p(0.5) else [merge_value]
                elif kind < 0.6:
                    g.edge("merge-of-scalar-or-seq")
                    merge_value = g.pick([Raw("1"), [Raw("1")], Raw("~"), Raw("[]"), Raw("{}")])
            m.pairs.insert(g.r.randint(0, len(m.pairs)), ("<<", merge_value))
            if g.p(0.3):
                g.edge("merge-override")
                m.pairs.append((key, value))
        elif roll < 0.74:
            g.edge("anchor-alias")
            name = g.anchor_name()
            m.pairs[i] = (key, Anchored(name, value))
            others = [mm for mm in maps if mm is not m]
            if others:
                t = g.pick(others)
                if t.pairs:
                    j = g.r.randrange(len(t.pairs))
                    t.pairs[j] = (t.pairs[j][0], Alias(name))
            else:
                m.pairs.append((key, Alias(name)))
        elif roll < 0.80:
            g.edge("null-value")
            m.pairs[i] = (key, Raw(g.pick(["~", "null", "", "[]", "{}", "[~]", "[null, x]"])))
        elif roll < 0.86:
            g.edge("complex-key")
            m.pairs[i] = (Raw("? " + str(key)), value)
        elif roll < 0.92 and isinstance(value, (str, int)):
            g.edge("tag")
            m.pairs[i] = (key, Raw(g.pick(TAG_EDGES) + " " + json.dumps(value)))
        else:
            g.edge("numeric-key")
            m.pairs.insert(
                g.r.randint(0, len(m.pairs)),
                (Raw(g.pick(["1", '"1"', "1.5", "1e3", "yes", "~", "0x1", "1.0e+6", "12345678.9"])), "v"),
            )


# --------------------------------------------------------------------------- rendering


def _scalar(g: Gen, v: Any, json_mode: bool) -> str:
    if isinstance(v, Raw):
        return v.text
    if isinstance(v, Alias):
        return "*" + v.name
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    s = str(v)
    if json_mode:
        return json.dumps(s, ensure_ascii=g.p(0.3))
    roll = g.r.random()
    if roll < 0.55 and s and _plain_ok(s):
        return s
    if roll < 0.75 and "\n" not in s:
        return "'" + s.replace("'", "''") + "'"
    return json.dumps(s, ensure_ascii=g.p(0.5))


def _plain_ok(s: str) -> bool:
    bad = set(":#{}[],&*!|>'\"%@`\n\t")
    return (
        s[0] not in "-?~ "
        and s[-1] != " "
        and not (set(s) & bad)
        and s.lower() not in {"yes", "no", "on", "off", "y", "n", "true", "false", "null"}
    )


def _key(g: Gen, k: Any, json_mode: bool) -> str:
    if isinstance(k, Raw):
        return k.text
    s = str(k)
    if json_mode:
        return json.dumps(s, ensure_ascii=g.p(0.5))
    if g.p(0.1):
        return json.dumps(s, ensure_ascii=g.p(0.5))
    if g.p(0.05):
        return "'" + s + "'"
    return s


def render_flow(g: Gen, node: Any, json_mode: bool) -> str:
    if isinstance(node, Anchored):
        return f"&{node.name} " + render_flow(g, node.node, json_mode)
    if isinstance(node, Map):
        sep = ", " if g.p(0.7) else ","
        body = sep.join(f"{_key(g, k, json_mode)}: {render_flow(g, v, json_mode)}" for k, v in node.pairs)
        pre = f"&{node.anchor} " if node.anchor else ""
        trail = "," if node.pairs and g.p(0.04) else ""
        if trail:
            g.edge("trailing-comma")
        return pre + "{" + body + trail + "}"
    if isinstance(node, list):
        return "[" + ", ".join(render_flow(g, v, json_mode) for v in node) + "]"
    return _scalar(g, node, json_mode)


def render_block(g: Gen, node: Any, indent: int, out: list[str], step: int) -> None:
    """Append block-style YAML lines for a Map to ``out``."""
    pad = " " * indent
    assert isinstance(node, Map)
    if node.anchor:
        out.append(pad + f"&{node.anchor}")
    for k, v in node.pairs:
        key = _key(g, k, False)
        if isinstance(v, Anchored):
            prefix, v = f" &{v.name}", v.node
        else:
            prefix = ""
        if isinstance(v, Map) and v.pairs and not g.p(0.15):
            out.append(f"{pad}{key}:{prefix}")
            render_block(g, v, indent + step, out, step)
        elif isinstance(v, list) and v and not g.p(0.2):
            out.append(f"{pad}{key}:{prefix}")
            seq_pad = pad + (" " * step if g.p(0.6) else "")
            for item in v:
                if isinstance(item, Map) and item.pairs and not g.p(0.2):
                    sub: list[str] = []
                    render_block(g, item, 0, sub, step)
                    inner = " " * (len(seq_pad) + 2)
                    out.append(f"{seq_pad}- {sub[0]}")
                    out.extend(inner + line for line in sub[1:])
                else:
                    out.append(f"{seq_pad}- {render_flow(g, item, False)}")
        elif isinstance(v, str) and "\n" not in v and g.p(0.03):
            g.edge("block-scalar")
            out.append(f"{pad}{key}:{prefix} {g.pick(['|', '>', '|-', '>+', '|2'])}")
            out.append(pad + " " * step + v)
        else:
            out.append(f"{pad}{key}:{prefix} {render_flow(g, v, False)}".rstrip())


def render(g: Gen, tree: Map) -> tuple[bytes, str]:
    """Bytes of the document and a file name (extension chosen to match, mostly)."""
    json_mode = g.p(0.4)
    if json_mode:
        text = _json_pretty(g, tree, 0) if g.p(0.5) else render_flow(g, tree, True)
        name = g.pick(["spec.json"] * 6 + ["a.yaml", "a.JSON", "spec.txt", "spec"])
    else:
        lines: list[str] = []
        render_block(g, tree, 0, lines, g.pick([2, 2, 4, 1]))
        text = "\n".join(lines) + ("\n" if g.p(0.9) else "")
        name = g.pick(["spec.yaml"] * 6 + ["a.yml", "a.json", "spec.YAML", "spec"])
    return text.encode("utf-8", "surrogatepass"), name


def _json_pretty(g: Gen, node: Any, depth: int) -> str:
    ind = g.pick(["  ", "    ", "\t"]) if depth == 0 else "  "
    pad = ind * (depth + 1)
    if isinstance(node, Anchored):
        return f"&{node.name} " + _json_pretty(g, node.node, depth)
    if isinstance(node, Map):
        if not node.pairs:
            return "{}"
        items = [f"{pad}{_key(g, k, True)}: {_json_pretty(g, v, depth + 1)}" for k, v in node.pairs]
        pre = f"&{node.anchor} " if node.anchor else ""
        return pre + "{\n" + ",\n".join(items) + "\n" + ind * depth + "}"
    if isinstance(node, list):
        if not node:
            return "[]"
        return (
            "[\n" + ",\n".join(pad + _json_pretty(g, v, depth + 1) for v in node) + "\n" + ind * depth + "]"
        )
    return _scalar(g, node, True)


# --------------------------------------------------------------------------- byte-level edges


def text_edges(g: Gen, data: bytes) -> bytes:
    """Document-level edges: directives, BOMs, UTF-16, line endings, trailers, small mutations."""
    f = min(1.0, 0.25 + g.k)
    if g.p(0.08 * f):
        g.edge("directive")
        data = g.pick(DIRECTIVES).encode() + data
    if g.p(0.05 * f):
        g.edge("trailer")
        data = data + g.pick(TRAILERS).encode()
    if g.p(0.04 * f):
        g.edge("crlf")
        data = data.replace(b"\n", b"\r\n")
    if g.p(0.03 * f):
        g.edge("tab")
        lines = data.split(b"\n")
        i = g.r.randrange(len(lines))
        lines[i] = g.pick([b"\t", b" \t", b""]) + lines[i] + g.pick([b"\t", b"", b" "])
        data = b"\n".join(lines)
    if g.p(0.02 * f):
        g.edge("unicode-line-break")
        lines = data.split(b"\n")
        i = g.r.randrange(len(lines))
        lines[i] = lines[i] + g.pick(["\u0085", "\u2028", "\u2029", "\r", "\x0b", "\x0c"]).encode()
        data = b"\n".join(lines)
    if g.p(0.04 * f):
        g.edge("stray-feff")
        at = g.r.randint(0, len(data))
        data = data[:at] + "\ufeff".encode() + data[at:]
    if g.p(0.04 * f):
        g.edge("bom-utf8")
        data = b"\xef\xbb\xbf" + data
    if g.p(0.03 * f):
        enc = g.pick(["utf-16-le", "utf-16-be", "utf-16", "utf-32"])
        g.edge("utf16" if "16" in enc else "utf32")
        text = data.decode("utf-8", "replace")
        bom = {"utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff", "utf-16": b"", "utf-32": b""}[enc]
        data = (bom if g.p(0.8 * f) else b"") + text.encode(enc)
    if g.p(0.06 * f):
        g.edge("byte-mutation")
        data = mutate(g, data)
    return data


_TOKENS = [
    b"\n",
    b" ",
    b":",
    b"- ",
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b"'",
    b'"',
    b"#",
    b"&a",
    b"*a",
    b"<<: ",
    b"!!",
    b"?",
    b"\t",
    b"\\",
    b"\x00",
    b"\xff",
    b"\xc3",
    b"0x",
    b"~",
    b"...",
    b"---",
    b"%",
    b"|",
    b">",
    b"\x85",
    "\u2028".encode(),
]


def mutate(g: Gen, data: bytes) -> bytes:
    buf = bytearray(data)
    for _ in range(g.r.randint(1, 3)):
        op = g.r.random()
        at = g.r.randint(0, len(buf))
        if op < 0.35:
            buf[at:at] = g.pick(_TOKENS)
        elif op < 0.65 and buf:
            del buf[at : at + g.r.randint(1, 8)]
        elif op < 0.8 and buf:
            i = g.r.randrange(len(buf))
            buf[i] ^= 1 << g.r.randrange(8)
        elif buf:
            j = g.r.randint(0, len(buf))
            chunk = bytes(buf[min(at, j) : max(at, j)][:64])
            buf[at:at] = chunk
    return bytes(buf)


# --------------------------------------------------------------------------- public entry points


def gen_spec(rng: random.Random) -> tuple[bytes, str, list[str]]:
    """One spec file: (bytes, file name, edge tags)."""
    g = Gen(rng)
    tree = g.spec_tree()
    if g.p(min(0.8, 0.2 + 0.5 * g.k)):
        structural_edges(g, tree)
    data, name = render(g, tree)
    data = text_edges(g, data)
    return data, name, g.edges


def spec_for_inject(g: Gen, vendor: str, klass: str, devices: list[str]) -> tuple[bytes, list[str]]:
    tree = g.spec_tree(vendor, klass, devices)
    if g.p(0.25 * g.k):
        structural_edges(g, tree)
    data, _ = render(g, tree)
    if g.p(0.3 * g.k):
        data = text_edges(g, data)
    return data, g.edges


def gen_oci(g: Gen) -> dict[str, Any]:
    oci: dict[str, Any] = {"ociVersion": g.pick(["1.2.0", "1.0.2", ""])}
    if g.p(0.8):
        proc: dict[str, Any] = {"user": {"uid": g.pick([0, 1000]), "gid": g.pick([0, 1000])}, "cwd": "/"}
        if g.p(0.3):
            proc["user"]["additionalGids"] = [5, 8]
        if g.p(0.7):
            proc["env"] = g.r.sample(["PATH=/bin", "A=0", "FOO", "B=2", "A=1"], g.r.randint(0, 3))
        proc["args"] = ["sh"]
        oci["process"] = proc
    oci["root"] = {"path": "rootfs"}
    if g.p(0.5):
        oci["mounts"] = [{"destination": g.pick(["/proc", "/a", "/opt/d"]), "source": "/s", "type": "bind"}]
    if g.p(0.3):
        oci["hooks"] = {"prestart": [{"path": "/bin/x"}]}
    if g.p(0.8):
        linux: dict[str, Any] = {"namespaces": [{"type": "mount"}]}
        if g.p(0.4):
            linux["devices"] = [
                {"path": g.pick(HOST_PATHS), "type": "c", "major": 1, "minor": 3, "fileMode": 438}
            ]
        if g.p(0.4):
            linux["resources"] = {"devices": [{"allow": False, "access": "rwm"}]}
        oci["linux"] = linux
    return oci


def gen_inject(rng: random.Random) -> tuple[dict[str, Any], dict[str, bytes], list[str]]:
    """One inject case: (args without description, files by relative path, edge tags)."""
    g = Gen(rng, rng.choice([0.0, 0.0, 0.15, 0.3, 1.0]))
    ndirs = g.r.randint(1, 4)
    dirs = [f"dirs/{i}" for i in range(ndirs)]
    files: dict[str, bytes] = {}
    setup: list[dict[str, Any]] = []
    kinds = [(g.pick(VENDORS[:3]), g.pick(CLASSES[:3])) for _ in range(2)]
    defined: list[str] = []
    for d in dirs:
        roll = g.r.random()
        if roll < 0.08:
            g.edge("missing-dir")
            continue
        if roll < 0.12:
            g.edge("dir-is-file")
            files[d] = b"not a dir\n"
            continue
        nfiles = g.r.randint(0, 3)
        if nfiles == 0:
            setup.append({"action": "mkdir", "path": d})
        for j in range(nfiles):
            vendor, klass = g.pick(kinds)
            names = list(
                dict.fromkeys(g.name(DEVICES[:5], EDGE_DEVICES, "device") for _ in range(g.r.randint(1, 3)))
            )
            data, _ = spec_for_inject(g, vendor, klass, names)
            ext = g.pick([".yaml", ".yaml", ".json", ".yml", ".YAML", ""])
            fname = g.pick(["spec", "z", "_0", "a"]) + str(j) + ext
            files[f"{d}/{fname}"] = data
            defined += [f"{vendor}/{klass}={n}" for n in names]
        if g.p(0.08):
            g.edge("subdir")
            files[f"{d}/sub.yaml/inner.yaml"] = b"cdiVersion: 0.3.0\nkind: vendor.com/device\ndevices: []\n"
    if g.p(0.1):
        g.edge("repeated-dir")
        dirs.append(g.pick(dirs))
    if g.p(0.05):
        g.edge("symlink-dir")
        setup.append({"action": "symlink", "path": "dirs/link", "target": "0"})
        dirs.append("dirs/link")
    if g.p(0.1):
        dirs.insert(g.r.randint(0, len(dirs)), g.pick(["dirs/0/", "./dirs/1", "dirs//0", "nowhere"]))
    wanted = [g.pick(defined) for _ in range(g.r.randint(1, 3))] if defined else []
    if g.p(0.1) or not wanted:
        g.edge("unknown-device")
        wanted.insert(
            g.r.randint(0, len(wanted)), g.pick(["vendor.com/gpu=nope", "gpu0", "acme.io/nic", "", "a/b=c"])
        )
    if g.p(0.1):
        wanted.append(wanted[0])
    oci_path: str | None = "oci.json"
    if g.p(0.02):
        g.edge("nil-oci")
        oci_path = None
    else:
        files["oci.json"] = json.dumps(gen_oci(g), indent=1).encode()
    args: dict[str, Any] = {"command": "inject", "specDirs": dirs, "oci": oci_path, "devices": wanted}
    if oci_path is not None:
        args["ociCanonical"] = False
    if setup:
        args["setup"] = setup
    return args, files, g.edges


# --------------------------------------------------------------------------- qualified names

_NAME_PIECES = [
    "vendor.com",
    "nvidia.com",
    "a",
    "v",
    "A",
    "1",
    "gpu",
    "c",
    "dev0",
    "0",
    "all",
    "mig-1:0",
    "x_y",
    "a.b",
    "a-",
    "-a",
    "a..b",
    "é",
    "e\u0301",
    "\u212a",
    "ǵ",
    "\u00ff",
    "\u0130",
    "\ufeff",
    "\x00",
    "\t",
    " ",
    "\x7f",
    "\U0001f600",
    "a" * 64,
    "a" * 300,
    "",
    ".",
    "_",
    ":",
    "::",
    "=",
    "/",
    "//",
    "==",
]


def gen_name(rng: random.Random) -> tuple[str, list[str]]:
    """One input for the name functions: ``vendor/class=name`` shapes with edge pieces."""
    g = Gen(rng, rng.choice([0.0, 0.3, 1.0, 2.0]))
    roll = g.r.random()
    if roll < 0.5:
        vendor = g.name(VENDORS, EDGE_VENDORS + _NAME_PIECES, "vendor")
        klass = g.name(CLASSES, EDGE_CLASSES + _NAME_PIECES, "class")
        device = g.name(DEVICES, EDGE_DEVICES + _NAME_PIECES, "device")
        text = f"{vendor}/{klass}={device}"
    elif roll < 0.8:
        text = "".join(str(g.pick([*_NAME_PIECES, "/", "=", "/", "="])) for _ in range(g.r.randint(1, 6)))
        g.edge("pieces")
    else:
        text = str(g.pick(VENDORS + CLASSES + DEVICES + EDGE_VENDORS + EDGE_CLASSES + EDGE_DEVICES))
        g.edge("bare-name")
    if g.p(0.2):
        g.edge("name-mutation")
        chars = list(text)
        at = g.r.randint(0, len(chars))
        chars[at:at] = [str(g.pick(["/", "=", ".", "-", "_", ":", "\u0080", "\xe9", "A", "0", " "]))]
        text = "".join(chars)
    return text, g.edges
