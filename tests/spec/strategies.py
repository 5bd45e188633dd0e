"""Hypothesis strategies for CDI wire objects (valid specs and near-valid noise)."""

from __future__ import annotations

from hypothesis import strategies as st

from cdikit.spec.types import ContainerEdits, Device, DeviceNode, Hook, IntelRdt, Mount, NetDevice, Spec

_alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
names = st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9_.:-]{0,10}[A-Za-z0-9])?", fullmatch=True)
vendor_or_class = st.from_regex(r"[a-z][a-z0-9_.-]{0,8}[a-z0-9]", fullmatch=True)
# Text likely to hit YAML 1.1 / JSON corner cases when written as plain scalars.
tricky = st.sampled_from(
    [
        "yes",
        "no",
        "on",
        "off",
        "y",
        "n",
        "Y",
        "N",
        "true",
        "null",
        "~",
        "007",
        "0x1F",
        "1e3",
        "1.50",
        "0o17",
        "1_000",
        "12:30",
        ".inf",
        "-",
        "#x",
        "a: b",
        "- x",
        "'q'",
        '"dq"',
        "",
        " lead",
        "trail ",
        "é",
    ]
)
text = st.one_of(
    st.text(st.characters(exclude_categories=("Cc", "Cs", "Cn", "Co", "Zl", "Zp")), max_size=12), tricky
)
paths = st.from_regex(r"/[a-z0-9/_.-]{1,20}", fullmatch=True)
env = st.builds(lambda k, v: f"{k}={v}", st.from_regex(r"[A-Z_][A-Z0-9_]{0,6}", fullmatch=True), text)

device_nodes = st.builds(
    DeviceNode,
    path=paths,
    host_path=st.one_of(st.just(""), paths),
    type=st.sampled_from(["", "c", "b", "p", "u"]),
    major=st.integers(0, 600),
    minor=st.integers(0, 600),
    file_mode=st.one_of(st.none(), st.integers(0, 0o7777)),
    permissions=st.sampled_from(["", "r", "rw", "rwm", "m"]),
    uid=st.one_of(st.none(), st.integers(0, 2**32 - 1)),
    gid=st.one_of(st.none(), st.integers(0, 2**32 - 1)),
)
mounts = st.builds(
    Mount,
    host_path=paths,
    container_path=paths,
    options=st.one_of(st.none(), st.lists(st.sampled_from(["ro", "bind", "rbind", "nosuid"]), max_size=3)),
    type=st.sampled_from(["", "bind", "tmpfs"]),
)
hooks = st.builds(
    Hook,
    hook_name=st.sampled_from(
        ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"]
    ),
    path=paths,
    args=st.one_of(st.none(), st.lists(text, max_size=3)),
    env=st.one_of(st.none(), st.lists(env, max_size=2)),
    timeout=st.one_of(st.none(), st.integers(-5, 100)),
)
net_devices = st.lists(
    st.builds(NetDevice, host_interface_name=names, name=names),
    max_size=2,
    unique_by=(lambda d: d.host_interface_name),
).filter(lambda ds: len({d.name for d in ds}) == len(ds))
edits = st.builds(
    ContainerEdits,
    env=st.one_of(st.none(), st.lists(env, max_size=3)),
    device_nodes=st.one_of(st.none(), st.lists(device_nodes, max_size=3)),
    net_devices=st.one_of(st.none(), net_devices),
    hooks=st.one_of(st.none(), st.lists(hooks, max_size=2)),
    mounts=st.one_of(st.none(), st.lists(mounts, max_size=3)),
    intel_rdt=st.one_of(
        st.none(),
        st.builds(
            IntelRdt,
            clos_id=st.sampled_from(["", "c1", "/"]),
            l3_cache_schema=st.sampled_from(["", "L3:0=ff"]),
            mem_bw_schema=st.sampled_from(["", "MB:0=50"]),
            schemata=st.one_of(st.none(), st.lists(names, max_size=2)),
            enable_monitoring=st.booleans(),
        ),
    ),
    additional_gids=st.one_of(st.none(), st.lists(st.integers(0, 2**32 - 1), max_size=3)),
)
nonempty_edits = edits.filter(lambda e: not e.is_empty())
annotations = st.one_of(st.none(), st.dictionaries(names, text, max_size=2))


@st.composite
def valid_specs(draw: st.DrawFn) -> Spec:
    """A spec that passes validation (its version is set to the minimum it needs later by callers)."""
    devs = draw(
        st.lists(
            st.builds(Device, name=names, annotations=annotations, container_edits=nonempty_edits),
            min_size=1,
            max_size=4,
            unique_by=lambda d: d.name,
        )
    )
    return Spec(
        cdi_version="1.1.0",
        kind=f"{draw(vendor_or_class)}/{draw(vendor_or_class)}",
        annotations=draw(annotations),
        devices=devs,
        container_edits=draw(st.one_of(st.none(), edits)),
    )


# Fragments on which YAML 1.1 (go-yaml v2), yaml-rs and msgspec read differently
# (issue 13): escapes, directives, tags, merge keys, complex keys, stray BOMs, tabs,
# flow-context colons, zero values, numbers at type limits, case-variant keys.
EDGE_FRAGMENTS = [
    '"\\/"', "\"\\'\"", '"\\ud83d\\ude00"', '"\\ud800"', "%YAML 1.1\n---\n", "%YAML 1.2\n---\n", "...\n",
    "%TAG !e! tag:e.com,2000:\n---\n", "!e!x ", "!foo ", "!!str ", "!!binary aGk=", "!!binary @@", "!!timestamp x",
    "!!null x", "!!int 1.5", "!!float 1", "<<: {a: b}", "<<: [{a: b}, {a: c}]", "&a ", "*a", "? a : b", "{a: b:}",
    "{a: :b}", "[:b]", "\ufeff", "\t", "\n\t", " :", "-0.0", "-9223372036854775808.0", "9223372036854775808",
    "18446744073709551616", "1e400", "1e6", "1.23456789", ".inf", ".nan", "0x1F", "007", "0b101", "1_000", "yes",
    "~", "null", "0", '""', "false", "[~]", "[]", "{}", '"Kind"', "KIND", "ﬁleMode", "\u0131ntelRdt", "ho\u017ftPath",
    "\u212aind", "k" * 1030, "9" * 40,
]  # fmt: skip


@st.composite
def edge_documents(draw: st.DrawFn) -> bytes:
    """A valid spec written as JSON or YAML, then edited with one to three edge fragments."""
    import json

    import msgspec

    from cdikit.spec.encode import encode_spec

    spec = draw(valid_specs())
    fmt = draw(st.sampled_from(["json", "json-indent", "yaml"]))
    if fmt == "json":
        text = msgspec.json.encode(spec).decode()
    elif fmt == "json-indent":
        text = json.dumps(
            msgspec.to_builtins(spec), indent=draw(st.sampled_from([1, 2, "\t"])), ensure_ascii=False
        )
    else:
        text = encode_spec(spec, "yaml").decode()
    for _ in range(draw(st.integers(1, 3))):
        fragment = draw(st.sampled_from(EDGE_FRAGMENTS))
        at = draw(st.integers(0, len(text)))
        if draw(st.booleans()):
            # replace the token at ``at`` (up to the next separator) instead of inserting
            end = at
            while end < len(text) and text[end] not in ' ,:\n[]{}"':
                end += 1
            text = text[:at] + fragment + text[end:]
        else:
            text = text[:at] + fragment + text[at:]
    return text.encode()
