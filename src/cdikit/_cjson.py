"""JSON through CPython's C scanner and encoder, without importing :mod:`json` (and so :mod:`re`).

:mod:`json` imports :mod:`re` (for two regular expressions its C accelerator
does not use), and :mod:`re` costs more than the rest of the shim's warm
container start together. :func:`loads` and :func:`dumps` drive the same C
code :func:`json.loads` and :func:`json.dumps` use (``_json.make_scanner``,
``_json.make_encoder``) with the same settings, so they give the same
results; anything off the common path (no C accelerator, a byte-order mark
or another encoding than UTF-8, a syntax error, a value the encoder refuses)
goes to :mod:`json` itself, which then decides (and words the error).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

try:
    import _json
except ImportError:  # pragma: no cover - every CPython has it
    _json = None  # type: ignore[assignment]

__all__ = ["dumps", "loads"]

_WS = " \t\n\r"
_CONSTANTS = {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}


class _Context:
    """The attributes ``_json.make_scanner`` reads from a :class:`json.JSONDecoder`."""

    __slots__ = (
        "memo",
        "object_hook",
        "object_pairs_hook",
        "parse_constant",
        "parse_float",
        "parse_int",
        "strict",
    )

    def __init__(
        self,
        parse_float: Callable[[str], Any] | None,
        parse_int: Callable[[str], Any] | None,
        parse_constant: Callable[[str], Any] | None,
    ) -> None:
        self.strict = True
        self.object_hook = None
        self.object_pairs_hook = None
        self.parse_float = parse_float or float
        self.parse_int = parse_int or int
        self.parse_constant = parse_constant or _CONSTANTS.__getitem__
        self.memo: dict[str, str] = {}


def loads(
    data: bytes | str,
    *,
    parse_float: Callable[[str], Any] | None = None,
    parse_int: Callable[[str], Any] | None = None,
    parse_constant: Callable[[str], Any] | None = None,
) -> Any:
    """:func:`json.loads` of ``data`` (same result, same errors)."""
    text: str | None = None
    if isinstance(data, str):
        text = data if not data.startswith("\ufeff") else None
    elif not data.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")) and (
        len(data) < 2 or all(data[:2])
    ):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = None
    if text is not None and _json is not None:
        scan = _json.make_scanner(_Context(parse_float, parse_int, parse_constant))  # type: ignore[arg-type]
        start = len(text) - len(text.lstrip(_WS))
        try:
            value, end = scan(text, start)
        except (StopIteration, ValueError, SystemError):
            # A syntax error: json words it. (Without json.decoder loaded, the C scanner cannot
            # build its JSONDecodeError and raises SystemError instead.)
            pass
        else:
            if not text[end:].strip(_WS):
                return value
    import json

    return json.loads(data, parse_float=parse_float, parse_int=parse_int, parse_constant=parse_constant)


def _refuse(o: object) -> object:
    raise TypeError(f"Object of type {o.__class__.__name__} is not JSON serializable")


def dumps(doc: Any, *, default: Callable[[Any], Any] | None = None) -> str:
    """``json.dumps(doc, separators=(",", ":"), default=default)``."""
    if _json is not None:
        encode = _json.make_encoder(
            {}, default or _refuse, _json.encode_basestring_ascii, None, ":", ",", False, False, True
        )
        try:
            return "".join(encode(doc, 0))
        except (TypeError, ValueError):
            pass  # json raises the same error, worded its way
    import json

    return json.dumps(doc, separators=(",", ":"), default=default)
