"""Encoding specs to bytes exactly as the Go tools write them.

* JSON: Go ``encoding/json`` compact output of the ``specs-go`` structs: struct
  field order, ``omitempty`` where the Go tags say so (``containerEdits`` has no
  effective ``omitempty``, so it is always written, ``{}`` when empty), map keys
  sorted, and Go's HTML-safe string escaping (``<``, ``>``, ``&``, U+2028 and
  U+2029 written as ``\\uXXXX``). No trailing newline (``json.Marshal``).
* YAML: ``"---\\n"`` followed by ``gopkg.in/yaml.v3`` output (what the reference
  library's ``WriteSpec`` and NVIDIA's generators write): 4-space indentation,
  sequences indented under their key, empty ``omitempty`` fields dropped, map
  keys in yaml.v3's "natural" order, and yaml.v3's choice of scalar style
  (plain, single-quoted, double-quoted or literal block).

Both encoders walk the typed model directly and collect output pieces in a list
that is joined once: this runs every time a generator writes a spec.
"""

from __future__ import annotations

from cdikit._atomic import atomic_write
from cdikit._paths import spec_format
from cdikit.errors import WriteError
from cdikit.spec import _yamlres

TYPE_CHECKING = False  # not typing's: generators encode plain records (cdikit.spec.plain) without msgspec
if TYPE_CHECKING:
    import re
    from typing import Literal, TypeAlias

    from cdikit.spec.types import ContainerEdits, Device, DeviceNode, Hook, IntelRdt, Mount, NetDevice, Spec

    Format = Literal["json", "yaml"]

__all__ = ["SPEC_FILE_MODE", "encode_spec", "write_spec_data", "write_spec_file"]

#: Spec files are world-readable: a spec holds no secret, and rootless engines and
#: non-root users must load it (podman #17539; the reference leaves 0600).
SPEC_FILE_MODE = 0o644


def encode_spec(spec: Spec, fmt: Format) -> bytes:
    """Encode ``spec`` byte-for-byte like the Go tools (``fmt`` is ``"json"`` or ``"yaml"``)."""
    if fmt == "json":
        out = _json_spec(spec)
    elif fmt == "yaml":
        out = _yaml_spec(spec)
    else:
        raise ValueError(f"unknown spec format {fmt!r} (want 'json' or 'yaml')")
    try:
        return out.encode("utf-8")
    except UnicodeEncodeError:
        # Lone surrogates cannot come from decoded files, only from code building
        # specs by hand; Go would write U+FFFD for the invalid bytes.
        import re

        repl = "\\ufffd" if fmt == "json" else "\ufffd"
        return re.sub(_SURROGATE, repl, out).encode("utf-8")


def write_spec_file(spec: Spec, path: str, *, fmt: Format | None = None, mode: int = 0o644) -> None:
    """Encode ``spec`` and write it to ``path`` atomically (temp file, fsync, rename).

    The format defaults to the extension (:func:`cdikit._paths.spec_format`:
    exactly ``.json`` gives JSON, anything else YAML). Raises
    :class:`~cdikit.errors.WriteError`. Every spec writer of cdikit (the
    registry, the generators, ``cdi spec install``) ends here or in
    :func:`write_spec_data`.
    """
    if fmt is None:
        fmt = "json" if spec_format(path) == "json" else "yaml"
    try:
        data = encode_spec(spec, fmt)
    except ValueError as err:
        raise WriteError(f"failed to encode CDI Spec {path}: {err}", path=path) from err
    write_spec_data(path, data, mode=mode)


def write_spec_data(path: str, data: bytes, *, mode: int = SPEC_FILE_MODE, if_changed: bool = False) -> bool:
    """Atomically replace ``path`` with encoded spec ``data``; whether the file was written.

    With ``if_changed``, a file already holding exactly ``data`` is left alone, so
    spec watchers (registries, kubelet plugins) see no churn.
    """
    if if_changed:
        try:
            with open(path, "rb") as f:
                if f.read() == data:
                    return False
        except (OSError, ValueError):
            pass  # absent or unreadable (a NUL in the path: atomic_write reports it as a WriteError)
    atomic_write(path, data, mode=mode)
    return True


_SURROGATE = "[\ud800-\udfff]"

# --------------------------------------------------------------------------- JSON

_JSON_ESCAPE_PATTERN = '[\x00-\x1f"\\\\<>&\u2028\u2029]'  # compiled on first use: YAML writers never need it
_JSON_SHORT = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",  # Go >= 1.22 writes \b and \f in short form
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
}


def _json_escape_char(m: re.Match[str]) -> str:
    c = m.group()
    short = _JSON_SHORT.get(c)
    return short if short is not None else f"\\u{ord(c):04x}"


_json_escape: re.Pattern[str] | None = None


def _js(s: str) -> str:
    global _json_escape
    escape = _json_escape
    if escape is None:
        import re

        escape = _json_escape = re.compile(_JSON_ESCAPE_PATTERN)
    if escape.search(s) is None:
        return '"' + s + '"'
    return '"' + escape.sub(_json_escape_char, s) + '"'


def _json_strings(items: list[str]) -> str:
    return "[" + ",".join([_js(s) for s in items]) + "]"


def _json_map(m: dict[str, str]) -> str:
    return "{" + ",".join([_js(k) + ":" + _js(m[k]) for k in sorted(m)]) + "}"


def _json_spec(spec: Spec) -> str:
    out = ['{"cdiVersion":', _js(spec.cdi_version), ',"kind":', _js(spec.kind)]
    if spec.annotations:
        out.append(',"annotations":')
        out.append(_json_map(spec.annotations))
    out.append(',"devices":')
    if spec.devices is None:
        out.append("null")  # a nil slice without omitempty
    else:
        out.append("[")
        for i, dev in enumerate(spec.devices):
            if i:
                out.append(",")
            _json_device(dev, out)
        out.append("]")
    out.append(',"containerEdits":')
    _json_edits(spec.container_edits, out)
    out.append("}")
    return "".join(out)


def _json_device(dev: Device, out: list[str]) -> None:
    out.append('{"name":')
    out.append(_js(dev.name))
    if dev.annotations:
        out.append(',"annotations":')
        out.append(_json_map(dev.annotations))
    out.append(',"containerEdits":')
    _json_edits(dev.container_edits, out)
    out.append("}")


def _json_edits(ce: ContainerEdits | None, out: list[str]) -> None:
    if ce is None:
        out.append("{}")
        return
    parts: list[str] = []
    if ce.env:
        parts.append('"env":' + _json_strings(ce.env))
    if ce.device_nodes:
        parts.append('"deviceNodes":[' + ",".join([_json_node(n) for n in ce.device_nodes]) + "]")
    if ce.net_devices:
        parts.append('"netDevices":[' + ",".join([_json_netdev(n) for n in ce.net_devices]) + "]")
    if ce.hooks:
        parts.append('"hooks":[' + ",".join([_json_hook(h) for h in ce.hooks]) + "]")
    if ce.mounts:
        parts.append('"mounts":[' + ",".join([_json_mount(m) for m in ce.mounts]) + "]")
    if ce.intel_rdt is not None:
        parts.append('"intelRdt":' + _json_rdt(ce.intel_rdt))
    if ce.additional_gids:
        parts.append('"additionalGids":[' + ",".join([str(int(g)) for g in ce.additional_gids]) + "]")
    out.append("{" + ",".join(parts) + "}")


def _json_node(n: DeviceNode) -> str:
    parts = ['"path":' + _js(n.path)]
    if n.host_path:
        parts.append('"hostPath":' + _js(n.host_path))
    if n.type:
        parts.append('"type":' + _js(n.type))
    if n.major:
        parts.append(f'"major":{int(n.major)}')
    if n.minor:
        parts.append(f'"minor":{int(n.minor)}')
    if n.file_mode is not None:
        parts.append(f'"fileMode":{int(n.file_mode)}')
    if n.permissions:
        parts.append('"permissions":' + _js(n.permissions))
    if n.uid is not None:
        parts.append(f'"uid":{int(n.uid)}')
    if n.gid is not None:
        parts.append(f'"gid":{int(n.gid)}')
    return "{" + ",".join(parts) + "}"


def _json_netdev(n: NetDevice) -> str:
    return '{"hostInterfaceName":' + _js(n.host_interface_name) + ',"name":' + _js(n.name) + "}"


def _json_hook(h: Hook) -> str:
    parts = ['"hookName":' + _js(h.hook_name), '"path":' + _js(h.path)]
    if h.args:
        parts.append('"args":' + _json_strings(h.args))
    if h.env:
        parts.append('"env":' + _json_strings(h.env))
    if h.timeout is not None:
        parts.append(f'"timeout":{int(h.timeout)}')
    return "{" + ",".join(parts) + "}"


def _json_mount(m: Mount) -> str:
    parts = ['"hostPath":' + _js(m.host_path), '"containerPath":' + _js(m.container_path)]
    if m.options:
        parts.append('"options":' + _json_strings(m.options))
    if m.type:
        parts.append('"type":' + _js(m.type))
    return "{" + ",".join(parts) + "}"


def _json_rdt(r: IntelRdt) -> str:
    parts = []
    if r.clos_id:
        parts.append('"closID":' + _js(r.clos_id))
    if r.l3_cache_schema:
        parts.append('"l3CacheSchema":' + _js(r.l3_cache_schema))
    if r.mem_bw_schema:
        parts.append('"memBwSchema":' + _js(r.mem_bw_schema))
    if r.schemata:
        parts.append('"schemata":' + _json_strings(r.schemata))
    if r.enable_monitoring:
        parts.append('"enableMonitoring":true')
    return "{" + ",".join(parts) + "}"


# --------------------------------------------------------------------------- YAML
#
# The YAML writer builds a small tree (dict = mapping in field order, list =
# sequence, str/int/bool = scalar) holding only the fields yaml.v3 would emit,
# then renders it with yaml.v3's block-style layout rules.

if TYPE_CHECKING:
    _YamlNode: TypeAlias = "str | int | bool | dict[str, _YamlNode] | list[_YamlNode]"


def _yaml_spec(spec: Spec) -> str:
    root: dict[str, _YamlNode] = {"cdiVersion": spec.cdi_version, "kind": spec.kind}
    if spec.annotations:
        root["annotations"] = _yaml_map(spec.annotations)
    # `devices` has no omitempty: a nil slice is written as `[]`.
    root["devices"] = [_yaml_device(d) for d in spec.devices or ()]
    if spec.container_edits is not None:
        edits = _yaml_edits(spec.container_edits)
        if edits:  # omitempty on a struct: dropped when every field is empty
            root["containerEdits"] = edits
    out = ["---\n"]
    emitter = _YamlEmitter(out)
    emitter.mapping(root, 0, inline=False)
    return "".join(out)


def _yaml_map(m: dict[str, str]) -> dict[str, _YamlNode]:
    return {k: m[k] for k in _natural_sorted(m)}


def _yaml_device(dev: Device) -> dict[str, _YamlNode]:
    node: dict[str, _YamlNode] = {"name": dev.name}
    if dev.annotations:
        node["annotations"] = _yaml_map(dev.annotations)
    # No omitempty on the device's containerEdits: `{}` when empty.
    node["containerEdits"] = _yaml_edits(dev.container_edits) if dev.container_edits is not None else {}
    return node


def _yaml_edits(ce: ContainerEdits) -> dict[str, _YamlNode]:
    node: dict[str, _YamlNode] = {}
    if ce.env:
        node["env"] = list(ce.env)
    if ce.device_nodes:
        node["deviceNodes"] = [_yaml_node(n) for n in ce.device_nodes]
    if ce.net_devices:
        node["netDevices"] = [
            {"hostInterfaceName": n.host_interface_name, "name": n.name} for n in ce.net_devices
        ]
    if ce.hooks:
        node["hooks"] = [_yaml_hook(h) for h in ce.hooks]
    if ce.mounts:
        node["mounts"] = [_yaml_mount(m) for m in ce.mounts]
    if ce.intel_rdt is not None:
        node["intelRdt"] = _yaml_rdt(ce.intel_rdt)
    if ce.additional_gids:
        node["additionalGids"] = [int(g) for g in ce.additional_gids]
    return node


def _yaml_node(n: DeviceNode) -> dict[str, _YamlNode]:
    node: dict[str, _YamlNode] = {"path": n.path}
    if n.host_path:
        node["hostPath"] = n.host_path
    if n.type:
        node["type"] = n.type
    if n.major:
        node["major"] = int(n.major)
    if n.minor:
        node["minor"] = int(n.minor)
    if n.file_mode is not None:
        node["fileMode"] = int(n.file_mode)
    if n.permissions:
        node["permissions"] = n.permissions
    if n.uid is not None:
        node["uid"] = int(n.uid)
    if n.gid is not None:
        node["gid"] = int(n.gid)
    return node


def _yaml_hook(h: Hook) -> dict[str, _YamlNode]:
    node: dict[str, _YamlNode] = {"hookName": h.hook_name, "path": h.path}
    if h.args:
        node["args"] = list(h.args)
    if h.env:
        node["env"] = list(h.env)
    if h.timeout is not None:
        node["timeout"] = int(h.timeout)
    return node


def _yaml_mount(m: Mount) -> dict[str, _YamlNode]:
    node: dict[str, _YamlNode] = {"hostPath": m.host_path, "containerPath": m.container_path}
    if m.options:
        node["options"] = list(m.options)
    if m.type:
        node["type"] = m.type
    return node


def _yaml_rdt(r: IntelRdt) -> dict[str, _YamlNode]:
    node: dict[str, _YamlNode] = {}
    if r.clos_id:
        node["closID"] = r.clos_id
    if r.l3_cache_schema:
        node["l3CacheSchema"] = r.l3_cache_schema
    if r.mem_bw_schema:
        node["memBwSchema"] = r.mem_bw_schema
    if r.schemata:
        node["schemata"] = list(r.schemata)
    if r.enable_monitoring:
        node["enableMonitoring"] = True
    return node


def _child_indent(indent: int) -> int:
    # yaml.v3 (best_indent 4) aligns a nested block to the next multiple of 4.
    return 4 * ((indent + 4) // 4)


class _YamlEmitter:
    """Block-style layout of a node tree, following yaml.v3's emitter state machine."""

    __slots__ = ("out",)

    def __init__(self, out: list[str]) -> None:
        self.out = out

    def mapping(self, node: dict[str, _YamlNode], indent: int, *, inline: bool) -> None:
        out = self.out
        pad = " " * indent
        first = True
        for key, value in node.items():
            if not (first and inline):
                out.append(pad)
            first = False
            style, text = _scalar_style(key, simple_key=True)
            if style == "complex":
                # yaml.v3 writes keys longer than 128 bytes, or multi-line ones, as "? key".
                out.append("?")
                self.scalar(key, _child_indent(indent), simple_key=False)
                out.append(pad + ":")
            else:
                out.append(text + ":")
            self.value(value, _child_indent(indent), seq_item_indent=None)

    def value(self, value: _YamlNode, child_indent: int, *, seq_item_indent: int | None) -> None:
        """Write a value after ``key:`` or ``-`` (the cursor sits right after the indicator)."""
        out = self.out
        if isinstance(value, dict):
            if not value:
                out.append(" {}\n")
                return
            out.append("\n")
            self.mapping(value, child_indent, inline=False)
        elif isinstance(value, list):
            if not value:
                out.append(" []\n")
                return
            out.append("\n")
            self.sequence(value, child_indent)
        elif isinstance(value, bool):
            out.append(" true\n" if value else " false\n")
        elif isinstance(value, int):
            out.append(f" {value}\n")
        else:
            self.scalar(value, child_indent if seq_item_indent is None else seq_item_indent, simple_key=False)

    def sequence(self, items: list[_YamlNode], indent: int) -> None:
        out = self.out
        dash = " " * indent + "-"
        for item in items:
            if isinstance(item, dict) and item:
                out.append(dash + " ")
                self.mapping(item, indent + 2, inline=True)
            else:
                out.append(dash)
                self.value(item, _child_indent(indent), seq_item_indent=indent + 2)

    def scalar(self, s: str, block_indent: int, *, simple_key: bool) -> None:
        """Write `` <scalar>\\n``; ``block_indent`` is where literal block lines go."""
        style, text = _scalar_style(s, simple_key=simple_key)
        if style == "literal":
            self.out.append(" " + _literal(s, block_indent))
            return
        if style == "single_multiline":
            text = _single_quoted(s, block_indent)
        self.out.append(" " + text + "\n")


# ---- scalar style selection (yaml.v3 encode.go stringv + emitterc.go analyze/select)

# [A-Za-z0-9_./=+@:-]*: a set test (re's import alone costs `cdi generate` a tenth of its time).
_SAFE_PLAIN = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./=+@:-")
_FAST_FIRST = frozenset("ABCDEGHIJKLMPQRSUVWXZabcdeghijklmpqrsuvwxz/_")
_style_cache: dict[tuple[str, bool], tuple[str, str]] = {}


def _scalar_style(s: str, *, simple_key: bool) -> tuple[str, str]:
    """Return (style, rendered text) for string ``s`` as yaml.v3 would write it.

    Styles: ``plain``, ``single``, ``double``, ``literal`` (rendered later, it
    depends on the indentation), ``single_multiline`` (ditto) and, for keys,
    ``complex`` (the key cannot be a simple key).
    """
    key = (s, simple_key)
    hit = _style_cache.get(key)
    if hit is not None:
        return hit
    # Fast path: the common shapes of paths, env entries and names.
    if (
        s
        and s[0] in _FAST_FIRST
        and s[-1] != ":"
        and _SAFE_PLAIN.issuperset(s)
        and not (simple_key and len(s.encode()) > 128)
    ):
        result = ("plain", s)
    else:
        result = _select_style(s, simple_key)
    if len(_style_cache) > 50_000:
        _style_cache.clear()
    _style_cache[key] = result
    return result


_LEADING_BREAK_OR_SPACE = frozenset(" \n\r\x85\u2028\u2029")
#: False reproduces yaml.v3 byte for byte, unreadable blocks included (tests use it).
FIX_UNREADABLE_BLOCKS = True


def _select_style(s: str, simple_key: bool) -> tuple[str, str]:
    can_plain = _resolves_to_str(s) and not _is_base60_float(s) and s not in _OLD_BOOLS
    if "\n" in s:
        style = "literal"
    elif can_plain:
        style = "plain"
    else:
        style = "double"
    a = _analyze(s)
    if simple_key and (a.multiline or len(s.encode("utf-8", "surrogatepass")) > 128):
        # yaml_emitter_check_simple_key fails: the key is written as "? key".
        return ("complex", "")
    if style == "plain" and not a.block_plain_allowed:
        style = "single"
    if style == "single" and not a.single_quoted_allowed:
        style = "double"
    if style == "literal" and (not a.block_allowed or simple_key):
        style = "double"
    if style == "literal" and s[0] in _LEADING_BREAK_OR_SPACE and FIX_UNREADABLE_BLOCKS:
        # Deliberate difference from yaml.v3: it writes these as "|4" blocks indented
        # wrongly, which no YAML reader (the reference included) can load back.
        style = "double"
    if style == "plain":
        return ("plain", s)
    if style == "single":
        if a.multiline:
            return ("single_multiline", "")
        return ("single", "'" + s.replace("'", "''") + "'")
    if style == "double":
        return ("double", _double_quoted(s))
    return ("literal", "")


class _Analysis:
    __slots__ = ("block_allowed", "block_plain_allowed", "multiline", "single_quoted_allowed")

    def __init__(self) -> None:
        self.multiline = False
        self.block_plain_allowed = True
        self.single_quoted_allowed = True
        self.block_allowed = True


_BREAKS = frozenset("\n\r\x85\u2028\u2029")
_BLANKZ = frozenset(" \t\n\r\x85\u2028\u2029\x00")
_FIRST_INDICATORS = frozenset("#,[]{}&*!|>'\"%@`")


def _is_printable(c: str) -> bool:
    # yaml.v3 is_printable, on code points (4-byte UTF-8 sequences are not printable).
    o = ord(c)
    return o == 0x0A or 0x20 <= o <= 0x7E or 0xA0 <= o <= 0xD7FF or (0xE000 <= o <= 0xFFFD and o != 0xFEFF)


def _analyze(s: str) -> _Analysis:
    """yaml_emitter_analyze_scalar (block context)."""
    a = _Analysis()
    if not s:
        a.block_allowed = False
        return a
    block_indicators = False
    line_breaks = special = tabs = False
    leading_space = leading_break = trailing_space = trailing_break = False
    break_space = space_break = False
    previous_space = previous_break = False
    if s.startswith(("---", "...")):
        block_indicators = True
    preceded_by_ws = True
    n = len(s)
    for i, c in enumerate(s):
        followed_by_ws = i + 1 >= n or s[i + 1] in " \t"
        if i == 0:
            if c in _FIRST_INDICATORS:
                block_indicators = True
            elif c in "?:":
                if followed_by_ws:
                    block_indicators = True
            elif c == "-" and followed_by_ws:
                block_indicators = True
        elif c == ":":
            if followed_by_ws:
                block_indicators = True
        elif c == "#" and preceded_by_ws:
            block_indicators = True
        if c == "\t":
            tabs = True
        elif not _is_printable(c):
            special = True
        if c == " ":
            if i == 0:
                leading_space = True
            if i == n - 1:
                trailing_space = True
            if previous_break:
                break_space = True
            previous_space, previous_break = True, False
        elif c in _BREAKS:
            line_breaks = True
            if i == 0:
                leading_break = True
            if i == n - 1:
                trailing_break = True
            if previous_space:
                space_break = True
            previous_space, previous_break = False, True
        else:
            previous_space = previous_break = False
        preceded_by_ws = c in _BLANKZ
    a.multiline = line_breaks
    if leading_space or leading_break or trailing_space or trailing_break:
        a.block_plain_allowed = False
    if trailing_space:
        a.block_allowed = False
    if break_space:
        a.block_plain_allowed = False
        a.single_quoted_allowed = False
    if space_break or tabs or special:
        a.block_plain_allowed = False
        a.single_quoted_allowed = False
    if space_break or special:
        a.block_allowed = False
    if line_breaks or block_indicators:
        a.block_plain_allowed = False
    return a


_DQ_SHORT = {
    "\x00": "\\0",
    "\x07": "\\a",
    "\x08": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\x0b": "\\v",
    "\x0c": "\\f",
    "\r": "\\r",
    "\x1b": "\\e",
    '"': '\\"',
    "\\": "\\\\",
    "\x85": "\\N",
    "\xa0": "\\_",
    "\u2028": "\\L",
    "\u2029": "\\P",
}


def _double_quoted(s: str) -> str:
    # yaml.v3's is_bom() looks at the start of the value, not at the current
    # character: a value starting with U+FEFF gets every character escaped.
    escape_all = s.startswith("\ufeff")
    out = ['"']
    for c in s:
        if escape_all or c in _BREAKS or c in '"\\' or not _is_printable(c):
            short = _DQ_SHORT.get(c)
            if short is not None:
                out.append(short)
            else:
                o = ord(c)
                if o <= 0xFF:
                    out.append(f"\\x{o:02X}")
                elif o <= 0xFFFF:
                    out.append(f"\\u{o:04X}")
                else:
                    out.append(f"\\U{o:08X}")
        else:
            out.append(c)
    out.append('"')
    return "".join(out)


def _single_quoted(s: str, indent: int) -> str:
    # Only reachable with U+2028/U+2029 (printable line breaks): yaml.v3 copies the
    # break and re-indents the next line.
    out = ["'"]
    breaks = False
    for c in s:
        if c in _BREAKS:
            out.append(c)
            breaks = True
        else:
            if breaks:
                out.append(" " * indent)
            out.append("''" if c == "'" else c)
            breaks = False
    out.append("'")
    return "".join(out)


def _keep_chomp(s: str) -> bool:
    """yaml.v3 keeps trailing breaks ("|+") when the value ends with two breaks or is one break."""
    if not s or s[-1] not in _BREAKS:
        return False
    return len(s) == 1 or s[-2] in _BREAKS


def _literal(s: str, indent: int) -> str:
    """A literal block scalar (``|``) with yaml.v3's indentation and chomping hints."""
    head = "|"
    if s[0] in " \n\r\x85\u2028\u2029":
        head += "4"  # explicit indentation indicator = best_indent
    if s[-1] not in _BREAKS:
        head += "-"
    elif _keep_chomp(s):
        head += "+"
    pad = " " * indent
    out = [head]
    # The header line is ended by the first break of the value, or by the
    # indentation written before the first text.
    on_header = True
    breaks = True
    for c in s:
        if c in _BREAKS:
            out.append(c)
            breaks = True
            on_header = False
        else:
            if breaks:
                out.append("\n" + pad if on_header else pad)
                on_header = False
            out.append(c)
            breaks = False
    if not breaks:
        out.append("\n")  # the last line is ended by the next indentation
    return "".join(out)


# ---- yaml.v3 resolve(): would the plain scalar read back as something else?

_V3_BOOLS = frozenset(("true", "True", "TRUE", "false", "False", "FALSE"))
# YAML 1.1's other bools: yaml.v3 reads them as strings, go-yaml v2 (the reference's reader) does not.
_OLD_BOOLS = frozenset((*_yamlres.TRUE_WORDS, *_yamlres.FALSE_WORDS)) - _V3_BOOLS
_RESOLVE_MAP = frozenset((*_V3_BOOLS, *_yamlres.NULL_WORDS, *_yamlres.SPECIAL_FLOATS))
_HINT_MAP = frozenset("yYnNtTfFoO~")
_HINT_NUM = frozenset("+-0123456789")
# Patterns of the rarely taken slow paths stay strings (compiled, and cached by
# the re module, on first use) to keep this module's import cheap.
_YAML_FLOAT = _yamlres.YAML_FLOAT
_BASE60 = r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?"
_GO_INT = _yamlres.GO_INT
_INT_CHARS = frozenset("0123456789abcdefABCDEFxXoObB+-")  # every character _GO_INT can match
_INT64_MIN, _INT64_MAX, _UINT64_MAX = -(2**63), 2**63 - 1, 2**64 - 1


def _resolves_to_str(s: str) -> bool:
    if not s:
        return False  # the empty plain scalar is null
    c = s[0]
    if c in _HINT_MAP:
        return s not in _RESOLVE_MAP
    if c == ".":
        return s not in _RESOLVE_MAP and _yamlres.go_parse_float(s) is None
    if c not in _HINT_NUM:
        return True
    if s in _RESOLVE_MAP:
        return False
    if _yamlres.is_timestamp(s, max_fraction=9):
        return False
    plain = s.replace("_", "")
    if _go_parse_int(plain):
        return False
    if _go_float_ok(plain, _YAML_FLOAT):
        return False
    # yaml.v3's own 0b/0o handling (strconv with an explicit base, which takes a sign).
    if plain.startswith(("0b", "0o")):
        base = 2 if plain[1] == "b" else 8
        if _go_parse_int_base(plain[2:], base, signed=True) or _go_parse_int_base(
            plain[2:], base, signed=False
        ):
            return False
    elif plain.startswith(("-0b", "-0o")):
        base = 2 if plain[2] == "b" else 8
        if _go_parse_int_base("-" + plain[3:], base, signed=True):
            return False
    return True


def _go_parse_int(s: str) -> bool:
    """strconv.ParseInt(s, 0, 64) or ParseUint(s, 0, 64) succeeds."""
    if not _INT_CHARS.issuperset(s) or s.strip("+-xXoObB") == "":
        return False  # what the pattern cannot match (other characters, no digit), told without re
    import re

    m = re.fullmatch(_GO_INT, s)
    if m is None:
        return False
    if m["hex"] is not None:
        value = int(m["hex"], 16)
    elif m["oct"] is not None:
        value = int(m["oct"], 8)
    elif m["bin"] is not None:
        value = int(m["bin"], 2)
    elif m["oct0"] is not None:
        value = int(m["oct0"], 8)
    else:
        value = int(m["dec"])
    if m["sign"] == "-":
        return -value >= _INT64_MIN
    if m["sign"] == "+":
        return value <= _INT64_MAX
    return value <= _UINT64_MAX


def _go_parse_int_base(s: str, base: int, *, signed: bool) -> bool:
    """strconv.ParseInt(s, base, 64) (signed) or ParseUint(s, base, 64) succeeds."""
    sign = 1
    if signed and s[:1] in ("+", "-"):
        sign = -1 if s[0] == "-" else 1
        s = s[1:]
    if not s or any(c not in "01234567"[:base] for c in s):
        return False
    value = sign * int(s, base)
    if signed:
        return _INT64_MIN <= value <= _INT64_MAX
    return value <= _UINT64_MAX


def _go_float_ok(s: str, pattern: str) -> bool:
    """The regex matches and strconv.ParseFloat does not report a range error."""
    if not _yamlres.may_be_decimal_float(s):
        return False
    import re

    if re.fullmatch(pattern, s) is None:
        return False
    import math  # only for number-like strings

    return math.isfinite(float(s))


def _is_base60_float(s: str) -> bool:
    if not s or not (s[0] in "+-" or (s[0].isascii() and s[0].isdigit())) or ":" not in s:
        return False
    import re

    return re.fullmatch(_BASE60, s) is not None


def _natural_sorted(keys: dict[str, str]) -> list[str]:
    import functools  # only for maps (annotations): it pulls in collections

    return sorted(keys, key=functools.cmp_to_key(_natural_cmp))


def _natural_cmp(a: str, b: str) -> int:
    return -1 if _natural_less(a, b) else (1 if _natural_less(b, a) else 0)


def _natural_less(a: str, b: str) -> bool:
    """yaml.v3's keyList.Less for two string keys (letters before other runes, numbers by value)."""
    digits = False
    n = min(len(a), len(b))
    for i in range(n):
        ca, cb = a[i], b[i]
        if ca == cb:
            digits = ca.isdecimal()
            continue
        al, bl = ca.isalpha(), cb.isalpha()
        if al and bl:
            return ca < cb
        if al or bl:
            return al if digits else bl
        an = bn = 0
        if ca == "0" or cb == "0":
            j = i - 1
            while j >= 0 and a[j].isdecimal():
                if a[j] != "0":
                    an = bn = 1
                    break
                j -= 1
        ai = i
        while ai < len(a) and a[ai].isdecimal():
            an = _wrap64(an * 10 + _digit(a[ai]))
            ai += 1
        bi = i
        while bi < len(b) and b[bi].isdecimal():
            bn = _wrap64(bn * 10 + _digit(b[bi]))
            bi += 1
        if an != bn:
            return an < bn
        if ai != bi:
            return ai < bi
        return ca < cb
    return len(a) < len(b)


def _wrap64(v: int) -> int:
    # Go accumulates the number in an int64, which silently wraps around.
    return ((v + 2**63) % 2**64) - 2**63


def _digit(c: str) -> int:
    # Go computes rune - '0' even for non-ASCII digits; mirror that.
    return ord(c) - 48
