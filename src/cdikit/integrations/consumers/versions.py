"""Which consumer release is installed, and what it can do with CDI.

Every installed consumer binary is asked its version (``X --version``, with a
timeout); the answers decide what ``cdi doctor`` recommends, whether ``cdi
configure`` registers ``cdi-runtime`` at all, and whether a spec file being
written can be loaded by the consumers present. The capability table holds
only what was verified against the real consumers (``tests/e2e/consumers``,
``docs/consumers.md``) or read from the CDI library version a release vendors;
for other releases it answers "unknown" rather than guess.
"""

from __future__ import annotations

import os
import time

from cdikit._record import record

TYPE_CHECKING = False  # not typing's: `cdi generate` asks this module after every write
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = [
    "BINARIES",
    "ConsumerVersion",
    "detect",
    "detect_all",
    "has_native_cdi",
    "limiting",
    "max_spec_version",
    "parse_version",
    "unloadable_by",
]

# consumer -> the binary whose --version is the consumer's version
BINARIES: dict[str, str] = {
    "docker": "dockerd",
    "containerd": "containerd",
    "crio": "crio",
    "podman": "podman",
    "buildkit": "buildkitd",
}
_SYSTEM_DIRS = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
_VERSION = r"(?<![\w.])v?(\d+)\.(\d+)(?:\.(\d+))?"  # compiled when a binary is asked (re's cache)
_TIMEOUT_S = 10


def parse_version(text: str) -> tuple[int, int, int] | None:
    """The first ``X.Y[.Z]`` of a ``--version`` line (``1.6.20~ds1`` -> ``(1, 6, 20)``)."""
    import re  # only when a binary was asked (re costs a spec writer a tenth of its time)

    match = re.search(_VERSION, text)
    if match is None:
        return None
    return int(match[1]), int(match[2]), int(match[3] or 0)


@record(frozen=True)
class ConsumerVersion:
    """One consumer binary and the version it reported (``None``: it did not say)."""

    consumer: str
    binary: str
    version: tuple[int, int, int] | None

    @property
    def text(self) -> str:
        return ".".join(map(str, self.version)) if self.version else "unknown"


def _find(binary: str, path: str | None) -> str | None:
    search = os.pathsep.join([path if path is not None else os.environ.get("PATH", ""), *_SYSTEM_DIRS])
    from cdikit._paths import which

    return which(binary, path=search)


def detect(consumer: str, *, path: str | None = None) -> ConsumerVersion | None:
    """Ask the installed binary of ``consumer`` its version; None when it is not installed.

    Runs only the host's own binaries (``PATH`` or ``path``, then the system
    bin dirs), with an empty environment apart from ``PATH`` and a timeout.
    The answer is remembered (:class:`_VersionCache`) for as long as the binary
    file stays the same (device, inode, size, mtime, ctime): every ``cdi
    generate --output`` asks, and ``podman --version`` alone costs more than
    generating a spec.
    """
    binary = _find(BINARIES[consumer], path)
    if binary is None:
        return None
    cache = _VersionCache.open()
    stamp = _stamp(binary)
    if cache is not None and stamp is not None:
        hit, known = cache.get(binary, stamp)
        if hit:
            return ConsumerVersion(consumer, binary, known)
    version = _ask(consumer, binary)
    if cache is not None and stamp is not None:
        cache.put(binary, stamp, version)
    return ConsumerVersion(consumer, binary, version)


def _ask(consumer: str, binary: str) -> tuple[int, int, int] | None:
    """Run ``binary --version`` and parse the answer."""
    import subprocess

    try:
        done = subprocess.run(
            [binary, "--version"],
            capture_output=True,
            text=True,
            timeout=_TIMEOUT_S,
            check=False,
            env={"PATH": os.pathsep.join(_SYSTEM_DIRS), "LANG": "C"},
        )
        out = done.stdout + "\n" + done.stderr
    except (OSError, subprocess.SubprocessError):
        out = ""
    if consumer == "containerd":
        # "containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1+deb12u3"
        out = out.replace("github.com/containerd/containerd/v2", "").replace(
            "github.com/containerd/containerd", ""
        )
    return parse_version(out)


def _stamp(binary: str) -> str | None:
    """The identity of the binary file, None when it cannot be trusted yet (changed just now)."""
    from cdikit._cachedir import RACY_WINDOW_NS

    try:
        st = os.stat(binary)
    except OSError:
        return None
    if time.time_ns() - max(st.st_mtime_ns, st.st_ctime_ns) < RACY_WINDOW_NS:
        return None
    return f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}"


class _VersionCache:
    """``consumer-versions`` in cdikit's cache dir: one ``binary TAB stamp TAB X.Y.Z|-`` line each.

    Trusted like every cdikit cache (:mod:`cdikit._cachedir`: a private directory,
    a regular file of this user); a damaged line is ignored. ``get`` answers
    ``()`` for a binary known to report no version.
    """

    NAME = "consumer-versions"

    def __init__(self, path: str, entries: dict[str, tuple[str, str]]) -> None:
        self.path = path
        self.entries = entries

    @classmethod
    def open(cls) -> _VersionCache | None:
        from cdikit._cachedir import default_cache_dir, read_private_file, secure_dir

        root = default_cache_dir()
        if not root or not secure_dir(root):
            return None
        path = os.path.join(root, cls.NAME)
        entries: dict[str, tuple[str, str]] = {}
        data = read_private_file(path) or b""
        for line in data.decode("utf-8", "replace").splitlines():
            fields = line.split("\t")
            if len(fields) == 3:
                entries[fields[0]] = (fields[1], fields[2])
        return cls(path, entries)

    def get(self, binary: str, stamp: str) -> tuple[bool, tuple[int, int, int] | None]:
        """``(known, version)``: whether the binary with this stamp is in the cache, and its answer."""
        found = self.entries.get(binary)
        if found is None or found[0] != stamp:
            return False, None
        if found[1] == "-":
            return True, None
        parts = found[1].split(".")
        if len(parts) != 3 or not all(p.isascii() and p.isdecimal() for p in parts):
            return False, None
        major, minor, patch = (int(p) for p in parts)
        return True, (major, minor, patch)

    def put(self, binary: str, stamp: str, version: tuple[int, int, int] | None) -> None:
        if "\t" in binary or "\n" in binary or "\r" in binary:
            return
        self.entries[binary] = (stamp, ".".join(map(str, version)) if version else "-")
        data = "".join(f"{b}\t{st}\t{v}\n" for b, (st, v) in sorted(self.entries.items()))
        from cdikit._atomic import atomic_write
        from cdikit.errors import CDIError

        try:
            atomic_write(self.path, data.encode(), mode=0o600, make_parents=False, durable=False)
        except (CDIError, OSError):
            pass  # a cache: failing to remember is not an error


def detect_all(
    consumers: Sequence[str] = tuple(BINARIES), *, path: str | None = None
) -> dict[str, ConsumerVersion]:
    """:func:`detect` for each consumer; only the installed ones are in the result."""
    found = {}
    for consumer in consumers:
        version = detect(consumer, path=path)
        if version is not None:
            found[consumer] = version
    return found


def has_native_cdi(consumer: str, version: tuple[int, int, int] | None) -> bool | None:
    """Whether this release reads CDI specs itself (None: version unknown).

    docker: 25.0 (behind ``features.cdi`` until 28.2); containerd: 1.7 (CRI,
    ``enable_cdi``); podman: 4.1; buildkit: 0.20; cri-o: 1.23.
    """
    if version is None:
        return None
    first = {"docker": (25, 0), "containerd": (1, 7), "podman": (4, 1), "buildkit": (0, 20), "crio": (1, 23)}
    return version[:2] >= first[consumer]


# (consumer, first release, last release inclusive) -> highest cdiVersion it loads.
# Only rows verified here: Debian 12's podman 4.3.1 vendors the CDI library v0.5.x
# (tests/e2e/consumers: 0.5.0 loads, 0.6.0 is "unresolvable"); podman 4.2 vendors v0.4.0
# (nvidia-container-toolkit#38); Docker 29, containerd 2.3 and BuildKit 0.32 vendor v1.1.0.
_MAX_SPEC_VERSION: tuple[tuple[str, tuple[int, int], tuple[int, int], str], ...] = (
    ("podman", (4, 1), (4, 2), "0.4.0"),
    ("podman", (4, 3), (4, 3), "0.5.0"),
    ("docker", (29, 0), (29, 99), "1.1.0"),
    ("containerd", (2, 3), (2, 99), "1.1.0"),
    ("buildkit", (0, 32), (0, 99), "1.1.0"),
)


def max_spec_version(consumer: str, version: tuple[int, int, int] | None) -> str | None:
    """The highest ``cdiVersion`` this consumer release loads, None when not known.

    containerd before 1.7 has no CDI of its own: through ``cdi-runtime`` it
    loads whatever cdikit loads, so it is not limited here.
    """
    if version is None:
        return None
    for name, first, last, top in _MAX_SPEC_VERSION:
        if name == consumer and first <= version[:2] <= last:
            return top
    return None


def limiting(cdi_version: str) -> tuple[str, ...]:
    """The consumers some release of which cannot load ``cdi_version``: the only ones worth asking.

    ``unloadable_by(cdi_version, detect_all(limiting(cdi_version)))`` equals
    ``unloadable_by(cdi_version, detect_all())`` without running the binaries
    of consumers that load every version up to ``cdi_version``.
    """
    from cdikit.spec.version import version_key

    wanted = version_key(cdi_version)
    return tuple(
        dict.fromkeys(
            name for name, _, _, top in _MAX_SPEC_VERSION if wanted > version_key(top) and name in BINARIES
        )
    )


def unloadable_by(
    cdi_version: str, versions: Mapping[str, ConsumerVersion]
) -> list[tuple[ConsumerVersion, str]]:
    """The detected consumers that cannot load a spec declaring ``cdi_version``, with their maximum."""
    from cdikit.spec.version import version_key

    out = []
    for found in versions.values():
        top = max_spec_version(found.consumer, found.version)
        if top is not None and version_key(cdi_version) > version_key(top):
            out.append((found, top))
    return out
