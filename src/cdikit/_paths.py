"""Path helpers with Go's semantics (the reference echoes ``filepath.Clean``-ed paths)."""

from __future__ import annotations

__all__ = [
    "DEFAULT_SPEC_DIRS",
    "RUNTIME_CONFIG_ENV",
    "RUNTIME_CONFIG_PATH",
    "SPEC_EXTENSIONS",
    "go_clean",
    "has_spec_extension",
    "spec_format",
    "which",
    "with_spec_extension",
]

#: The reference's ``DefaultSpecDirs``, lowest priority first (the one home of this fact).
DEFAULT_SPEC_DIRS: tuple[str, ...] = ("/etc/cdi", "/var/run/cdi")

#: Where ``cdi-runtime`` reads its settings (``$CDIKIT_RUNTIME_CONFIG`` overrides the path):
#: the shim reads it, ``cdi configure`` writes it, ``cdi doctor`` checks it.
RUNTIME_CONFIG_ENV = "CDIKIT_RUNTIME_CONFIG"
RUNTIME_CONFIG_PATH = "/etc/cdikit/runtime.toml"


def go_clean(path: str) -> str:
    """``filepath.Clean``: the shortest equivalent path, lexically ("" -> ".", "//a/" -> "/a")."""
    if not path:
        return "."
    rooted = path.startswith("/")
    parts: list[str] = []
    for part in path.split("/"):
        if not part or part == ".":
            continue
        if part == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            elif not rooted:
                parts.append("..")
            continue
        parts.append(part)
    cleaned = "/".join(parts)
    if rooted:
        return "/" + cleaned
    return cleaned or "."


# Only these extensions (exact, case-sensitive) make a spec file; any other name a
# spec is written or recorded under gets ".yaml" appended (x.yml -> x.yml.yaml).
SPEC_EXTENSIONS = (".json", ".yaml")


def has_spec_extension(path: str) -> bool:
    """``filepath.Ext(path)`` is exactly ``.json`` or ``.yaml``.

    The extension starts at the last dot of the last element, so a suffix test is
    exact (a file named ``.yaml`` has the extension ``.yaml``, unlike ``splitext``).
    """
    return path.endswith(SPEC_EXTENSIONS)


def spec_format(path: str) -> str:
    """``"json"`` when ``path`` ends in exactly ``.json``, else ``"yaml"``: how every writer encodes.

    Case-sensitive, as the reference's ``WriteSpec`` (``x.JSON`` is YAML, and is
    written as ``x.JSON.yaml`` by :meth:`~cdikit.registry.Registry.write_spec`).
    """
    return "json" if path.endswith(".json") else "yaml"


def with_spec_extension(path: str) -> str:
    """``path``, with ``.yaml`` appended unless it already has a spec extension."""
    return path if has_spec_extension(path) else path + ".yaml"


def which(name: str, path: str | None = None) -> str | None:
    """:func:`shutil.which` (POSIX, executables), without importing :mod:`shutil`.

    shutil pulls in fnmatch, bz2 and lzma: milliseconds on the start-up paths
    (``cdi generate``, ``cdi spec install``) that only look a program up.
    """
    import os

    def runnable(candidate: str) -> bool:
        return os.path.exists(candidate) and os.access(candidate, os.X_OK) and not os.path.isdir(candidate)

    if os.path.dirname(name):
        return name if runnable(name) else None
    if path is None:
        path = os.environ.get("PATH", None)
        if path is None:
            try:
                path = os.confstr("CS_PATH")
            except (AttributeError, ValueError):
                path = os.defpath
    if not path:
        return None
    seen: set[str] = set()
    for directory in path.split(os.pathsep):
        if directory in seen:
            continue
        seen.add(directory)
        candidate = os.path.join(directory, name)
        if runnable(candidate):
            return candidate
    return None
