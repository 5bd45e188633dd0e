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
