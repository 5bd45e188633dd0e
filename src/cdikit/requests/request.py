"""Device requests as BuildKit's ``RUN --device`` writes them.

A request names what to inject, in one of four forms:

=========================  ==================================================
``vendor.com/class=name``  that exact device
``vendor.com/class``       the first device of the kind in **sorted** order
``vendor.com/class=*``     every device of the kind
``alias``                  devices whose spec/device annotation
                           ``org.mobyproject.buildkit.device.class`` equals it
=========================  ==================================================

The option grammar is the Dockerfile frontend's
(``instructions.ParseDevice``): a CSV line ``NAME[,required[=BOOL]]`` or
``name=NAME,...``. ``required`` defaults to false, as in a Dockerfile.
"""

from __future__ import annotations

import csv
import difflib
from dataclasses import dataclass

from cdikit.requests._autoallow import go_parse_bool
from cdikit.requests._errors import RequestError

__all__ = ["DeviceRequest", "go_parse_bool", "parse_request"]

_KEYS = ("name", "required")


@dataclass(frozen=True, slots=True)
class DeviceRequest:
    """One request: ``name`` in any of the four forms; ``optional`` requests may resolve to nothing."""

    name: str
    optional: bool = False

    @property
    def kind(self) -> str:
        """The part before ``=`` (the whole name for a kind or alias request)."""
        return self.name.partition("=")[0]

    def __str__(self) -> str:
        return self.name if not self.optional else f"{self.name} (optional)"


def _csv_fields(text: str) -> list[str]:
    try:
        rows = list(csv.reader([text], strict=True))
    except csv.Error as err:
        raise RequestError(f"failed to parse csv devices: {err}", device=text) from None
    return rows[0] if rows else []


def parse_request(text: str, *, required: bool = False) -> DeviceRequest:
    """Parse the Dockerfile ``--device`` value ``text`` into a :class:`DeviceRequest`.

    ``required`` is the default when the text does not say (false, as the
    Dockerfile frontend has it). Error texts are the frontend's.
    """
    name = ""
    for field in _csv_fields(text):
        raw_key, eq, value = field.partition("=")
        key = raw_key.lower()
        if not eq:
            if key == "required":
                required = True
            elif not name:
                name = field
            else:
                raise RequestError(f"invalid field '{field}' must be a key=value pair", device=text)
            continue
        if key == "name":
            if name:
                raise RequestError(f"device name already set to {name}", device=text)
            name = value
        elif key == "required":
            try:
                required = go_parse_bool(value)
            except ValueError:
                raise RequestError(f"invalid value for {key}: {value}", device=text) from None
        elif not name:
            # "vendor.com/class=dev" is itself a key=value field: the first one is the name.
            name = field
        else:
            message = f"unexpected key '{key}' in '{field}'"
            close = difflib.get_close_matches(key, _KEYS, n=1)
            if close:
                message += f" (did you mean {close[0]}?)"
            raise RequestError(message, device=text)
    if not name:
        raise RequestError(f"invalid device request {text!r}: no device name", device=text)
    return DeviceRequest(name=name, optional=not required)
