"""Where cdikit deliberately differs from the Go reference, and the rule applied instead.

Every conformance handler consults this module; nothing else in the runner
relaxes a comparison.

1. PANICS. The reference panics on one-character vendor or class names
   (`slice bounds out of range [1:0]`). A recorded panic means "no defined
   result"; cdikit must reject such input with an ``InvalidNameError`` whose
   ``go_panics`` is true (a clear error explaining that Go consumers crash).
   In a cache refresh, the reference aborts loading altogether; cdikit records
   the error against that one file and keeps every other spec (a broken spec
   never hides good ones): the runner then only requires that the offending
   file is reported and none of its devices resolve.
2. TRANSACTIONAL INJECTION. When injection fails after resolution, the
   reference leaves the OCI spec half edited; cdikit leaves it untouched.
   The runner then requires the error to match and the OCI spec to equal the
   input.
3. WRITE VERSION. cdikit's ``Registry.write_spec`` lowers ``cdiVersion`` to the
   minimum the content needs by default (so older consumers load the file);
   the reference keeps the declared version. The runner calls
   ``write_spec(..., version="keep")``, which is the reference's behaviour.
4. MINIMUM VERSION OVER ALL DEVICES. specs-go v1.1.0 computes the version a
   spec needs with loops that collect ``&d.ContainerEdits`` of the loop
   variable; its module says ``go 1.19``, so there is one variable for the whole
   loop and every device's edits those loops inspect are the *last* device's:
   a ``hostPath`` (v0.5.0) or a mount ``type`` (v0.4.0) in any other device is
   not seen (the other checks read each device directly). cdikit
   checks every device: ``minimumRequiredVersion`` can be higher, and a spec
   declaring too low a version is rejected where Go accepts it. The runner then
   re-runs the case with cdikit's own rule applied to the view Go takes
   (:func:`reference_minimum_version`) and requires an exact match.
5. NIL ENTRIES. ``null`` entries of ``deviceNodes``, ``netDevices``, ``hooks``
   or ``mounts`` decode in Go to nil pointers, on which its validation (and so
   ``ReadSpec`` and the cache) panics. cdikit rejects such a document when
   decoding it (a ``ParseError`` with ``go_panics`` true). The runner treats the
   reference's panic, or its ParseSpec result holding such a ``null``, as
   matched by that rejection; ``ReadSpec`` then matches whatever error Go gave
   (its validation may meet an old ``cdiVersion`` or an empty vendor before the
   nil entry), as long as both reject.
6. AMBIGUOUS KEYS. Two YAML keys that become the same JSON key (``1`` and
   ``"1"``, ``1.0`` and ``1``, ``true`` and ``"true"``) give a random winner in
   Go (its map iteration order); cdikit rejects the document as a duplicate key
   (``error converting YAML to JSON``) unless both values decode to the same Go value (then
   the pick cannot matter and both accept). No recorded case depends on the winner;
   for a fuzzed one (Go may accept) the runner requires that rejection alone.
7. HOSTILE SPEC-DIR ENTRIES. A FIFO, a device (``/dev/zero`` through a
   symlink), a socket, or a file over 16 MiB named ``*.json``/``*.yaml`` in a
   spec directory hangs the reference or exhausts its memory; cdikit reports
   it as that file's read error (``failed to read CDI Spec "p": read p: a named
   pipe, not a spec file``) and loads every other spec. No recorded case has
   one (the corpus's FIFOs are device-node sources, where verdicts match).
8. SPEC NAMES. The reference joins a producer's spec name to the spec
   directory unchecked: ``../x`` writes outside it, ``sub/x.json`` into a
   subdirectory no scanner reads. cdikit refuses any name that is not a plain
   file name (``/``, ``.``, ``..``, empty, NUL) with ``InvalidSpecNameError``.
   For such an op the runner requires that error and that nothing was
   written; the rest of the case is compared as usual.
9. SPEC FILE MODE. cdikit writes spec files 0644 (rootless engines and users
   must read them; nvidia-ctk made the same change); the reference's temporary
   file leaves them 0600. The runner calls ``write_spec(..., mode=0o600)``.
10. BYTE-ORDER MARK AT GO'S BUFFER START. go-yaml v2's scanner tests for a BOM
   at the start of its reader's buffer instead of at the current character
   (``is_bom``), and skips the current character when that test holds at the
   start of a line. So while a U+FEFF is the buffer's first character, it drops
   the first character of every line it begins (an indent, a key's first letter,
   a ``}``), up to the next refill. That happens (a) to a file starting with two
   BOMs (UTF-8 or UTF-16): the first is the encoding mark, the second the
   buffer's first character, for about the first 512 bytes; and (b) to a U+FEFF
   that the reader moves to its buffer's start when it refills: one of the last
   three characters decoded from one 512-byte read (the file's end included) or
   the first of the next (:func:`cdikit.spec._goyaml.go_buffer_bom`; whether it
   does depends on the scanner's lookahead there). A pretty-printed JSON file
   loses only spaces; a YAML file is silently re-indented. cdikit rejects such a
   file when decoding it (``yaml: the file starts with two byte-order marks ...``,
   ``yaml: a byte-order mark (U+FEFF) lies where go-yaml v2's reader refills its
   buffer ...``). For such a file the runner requires that rejection, whatever
   the reference did; in a cache refresh where the reference loaded such a file,
   it requires the whole case to match with the file as Go reads it when the
   characters it drops are harmless: (a) without the second BOM, (b) with the
   U+FEFF moved out of reach by a comment line inserted at the top.
"""

import contextlib
from collections.abc import Iterator

from cdikit.spec.types import Spec

PANIC_IS_REJECTION = True
TRANSACTIONAL_INJECTION = True
WRITE_VERSION_FOR_REFERENCE = "keep"
WRITE_MODE_FOR_REFERENCE = 0o600
MINIMUM_VERSION_OVER_ALL_DEVICES = True
NIL_ENTRY_IS_GO_PANIC = True
BUFFER_BOM_IS_REJECTED = True
# Rule 6: the words cdikit's duplicate-key error adds for keys that become one JSON key.
AMBIGUOUS_KEY_MARK = "(as another key written differently, with another value)"


@contextlib.contextmanager
def reference_minimum_version() -> Iterator[None]:
    """Rule 4: cdikit's minimum-version rule over the devices as specs-go v1.1.0 sees them."""
    import msgspec

    from cdikit.spec import version

    original = version.minimum_version

    def flawed(spec: Spec) -> str:
        # Only requiresV040 (mount type) and requiresV050 (hostPath) collect the loop
        # variable's address; the other checks read each device directly.
        devices = list(spec.devices or [])
        for i, device in enumerate(devices[:-1]):
            edits = device.container_edits
            if edits is None:
                continue
            nodes = [msgspec.structs.replace(n, host_path="") for n in edits.device_nodes or []]
            mounts = [msgspec.structs.replace(m, type="") for m in edits.mounts or []]
            edits = msgspec.structs.replace(edits, device_nodes=nodes or None, mounts=mounts or None)
            devices[i] = msgspec.structs.replace(device, container_edits=edits)
        if devices:
            spec = msgspec.structs.replace(spec, devices=devices)
        return original(spec)

    version.minimum_version = flawed
    try:
        yield
    finally:
        version.minimum_version = original


def has_nil_entry(raw: object) -> bool:
    """Rule 5: whether a spec as the reference encodes it holds a ``null`` pointer-list entry."""
    if not isinstance(raw, dict):
        return False
    edits = [raw.get("containerEdits")] + [
        d.get("containerEdits") for d in raw.get("devices") or [] if isinstance(d, dict)
    ]
    return any(
        isinstance(e, dict) and None in (e.get(field) or [])
        for e in edits
        for field in ("deviceNodes", "netDevices", "hooks", "mounts")
    )


def spec_name_refused(name: str) -> bool:
    """Rule 8: whether cdikit refuses ``name`` as a spec file name where the reference writes it."""
    return name in ("", ".", "..") or "/" in name or "\0" in name


def repeated_bom(data: bytes) -> bool:
    """Rule 10 (a): whether a spec file starts with two byte-order marks (UTF-8 or UTF-16)."""
    return (data[:2] in (b"\xff\xfe", b"\xfe\xff") and data[2:4] == data[:2]) or data[
        :6
    ] == b"\xef\xbb\xbf" * 2


def stray_buffer_bom(data: bytes) -> bool:
    """Rule 10 (b): whether go-yaml v2's reader may move a U+FEFF of the file to its buffer's start."""
    from cdikit.spec._goyaml import YamlError, decode_text, go_buffer_bom

    if b"\xef\xbb\xbf" not in data and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False
    try:
        return go_buffer_bom(data, decode_text(data)) is not None
    except YamlError:
        return False


# Rule 10: the words of cdikit's two rejections.
BUFFER_BOM_MARKS = ("starts with two byte-order marks", "where go-yaml v2's reader refills its buffer")


def buffer_bom_rejection(data: bytes, error: object) -> bool:
    """Rule 10: whether ``error`` is cdikit's rejection of a file that falls under the rule."""
    text = str(error)
    return (repeated_bom(data) and BUFFER_BOM_MARKS[0] in text) or (
        stray_buffer_bom(data) and BUFFER_BOM_MARKS[1] in text
    )


def go_view_without_buffer_bom(data: bytes) -> bytes | None:
    """Rule 10: the file as the reference reads it when the characters it drops are harmless
    (``None`` when no such rewrite keeps its content: a UTF-16 file with a stray U+FEFF)."""
    if repeated_bom(data):
        return data[2:] if data[:1] in (b"\xff", b"\xfe") else data[3:]
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None
    head = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    for width in range(1, 16):  # a comment line at the top moves every character, not the content
        moved = data[:head] + b"#" * width + b"\n" + data[head:]
        if not stray_buffer_bom(moved):
            return moved
    return None
