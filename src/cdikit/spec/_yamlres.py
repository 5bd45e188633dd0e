"""go-yaml's plain-scalar resolution rules, shared by the decoder and the encoder.

The decoder (``_goyaml``) reads plain scalars as go-yaml v2 does (``sigs.k8s.io/yaml``, the
reference's reader); the encoder quotes a string whenever a reader would take it
for something else. Both must agree on what a bool, a null, an int and a float
look like, so the words and patterns live here once. Patterns are strings: each
module compiles (or lazily matches) them as it needs.
"""

__all__ = [
    "FALSE_WORDS",
    "GO_INT",
    "NULL_WORDS",
    "SPECIAL_FLOATS",
    "TRUE_WORDS",
    "YAML_FLOAT",
    "go_parse_float",
    "is_timestamp",
    "may_be_decimal_float",
]

#: YAML 1.1 booleans (go-yaml v2 reads all of them; yaml.v3 only the true/false forms).
TRUE_WORDS = ("y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "true", "True", "TRUE")
FALSE_WORDS = ("n", "N", "no", "No", "NO", "off", "Off", "OFF", "false", "False", "FALSE")
NULL_WORDS = ("", "~", "null", "Null", "NULL")
#: Special float spellings -> their value.
SPECIAL_FLOATS = {
    ".inf": float("inf"), ".Inf": float("inf"), ".INF": float("inf"),
    "+.inf": float("inf"), "+.Inf": float("inf"), "+.INF": float("inf"),
    "-.inf": float("-inf"), "-.Inf": float("-inf"), "-.INF": float("-inf"),
    ".nan": float("nan"), ".NaN": float("nan"), ".NAN": float("nan"),
}  # fmt: skip
#: go-yaml's float syntax (before strconv.ParseFloat); match it against the whole scalar.
YAML_FLOAT = r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?"
#: strconv.ParseInt(s, 0, 64)'s syntax, with the base's digits in named groups.
GO_INT = (
    r"(?P<sign>[-+]?)(?:0[xX](?P<hex>[0-9a-fA-F]+)|0[oO](?P<oct>[0-7]+)|0[bB](?P<bin>[01]+)"
    r"|(?P<oct0>0[0-7]*)|(?P<dec>[1-9][0-9]*))"
)

#: strconv.ParseFloat's decimal syntax (after its underscores are checked and removed).
_GO_FLOAT = r"[-+]?(\.[0-9]+|[0-9]+\.?[0-9]*)([eE][-+]?[0-9]+)?"
_TS_DATE = r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})"
_TS_TIME = (
    # Go's time.Parse: 1-2 digit fields, fraction digits after ',' or '.',
    # a space in the layout matching a run of spaces, offsets up to 24 hours and 60 minutes.
    r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})"
    r"(?:[Tt](?P<h>[0-9]{1,2}):(?P<m>[0-9]{1,2}):(?P<s>[0-9]{1,2})(?:[.,](?P<f>[0-9]+))?"
    r"(?:Z|[-+](?P<zh>[0-9]{2}):(?P<zm>[0-9]{2}))"
    r"| +(?P<h2>[0-9]{1,2}):(?P<m2>[0-9]{1,2}):(?P<s2>[0-9]{1,2})(?:[.,](?P<f2>[0-9]+))?)"
)


_FLOAT_CHARS = frozenset("0123456789+-.eE")


def may_be_decimal_float(text: str) -> bool:
    """False for what neither float pattern (``YAML_FLOAT``, strconv's) can match: other
    characters, two dots, no digit. Told without ``re`` (its import alone costs a spec
    writer a tenth of its time); True says only "maybe"."""
    return (
        _FLOAT_CHARS.issuperset(text)
        and text.count(".") <= 1
        and not _FLOAT_CHARS.isdisjoint(text.strip("+-.eE"))
    )


def _underscore_ok(text: str) -> bool:
    """strconv's underscoreOK for a decimal number: each ``_`` between two digits."""
    import re

    return re.fullmatch(r"[-+]?[^_]*", text) is not None or (
        re.search(r"(^|[^0-9])_|_($|[^0-9])", text.lstrip("+-")) is None
    )


def go_parse_float(text: str) -> float | None:
    """strconv.ParseFloat(text, 64) for decimal syntax; None on error (overflow included)."""
    if "_" in text:
        if not _underscore_ok(text):
            return None
        text = text.replace("_", "")
    if not may_be_decimal_float(text):
        return None
    import re

    if not re.fullmatch(_GO_FLOAT, text):
        return None
    import math  # only for number-like strings

    value = float(text)
    return None if math.isinf(value) else value


def is_timestamp(s: str, *, max_fraction: int | None = None) -> bool:
    """go-yaml's parseTimestamp: one of the four ``time.Parse`` layouts it allows.

    go-yaml v2 (the reader) takes any number of fraction digits; yaml.v3 (whose output
    the encoder reproduces) only up to nine, observed: the encoder passes ``max_fraction=9``.
    """
    if len(s) < 5 or not (s[:4].isascii() and s[:4].isdigit()) or s[4] != "-":
        return False
    import re

    m = re.fullmatch(_TS_DATE, s)
    if m is None:
        m = re.fullmatch(_TS_TIME, s)
        if m is None:
            return False
        hms = (m["h"], m["m"], m["s"]) if m["h"] is not None else (m["h2"], m["m2"], m["s2"])
        h, mi, sec = (int(x) for x in hms)
        if h > 23 or mi > 59 or sec > 59:
            return False
        if m["zh"] is not None and (int(m["zh"]) > 24 or int(m["zm"]) > 60):
            return False
        fraction = m["f"] or m["f2"] or ""
        if max_fraction is not None and len(fraction) > max_fraction:
            return False
    year, month, day = int(m[1]), int(m[2]), int(m[3])
    if not 1 <= month <= 12 or day < 1:
        return False
    from datetime import date

    try:
        date(year or 2000, month, day)  # Go accepts year 0, a leap year like 2000
    except ValueError:
        return False
    return True
