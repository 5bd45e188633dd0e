"""Path helpers with Go's semantics (the reference echoes ``filepath.Clean``-ed paths)."""

from __future__ import annotations

__all__ = ["go_clean", "go_ext"]


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


def go_ext(path: str) -> str:
    """``filepath.Ext``: from the last dot of the last element (``.yaml`` -> ``.yaml``, unlike splitext)."""
    base = path[path.rfind("/") + 1 :]
    dot = base.rfind(".")
    return base[dot:] if dot >= 0 else ""
