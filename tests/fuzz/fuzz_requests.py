"""Fuzz harness: BuildKit-style device requests (``cdikit.requests.request.parse_request``).

Property, for any string: only :class:`RequestError` escapes, and an accepted
request has a non-empty name.

Run: ``python -m tests.fuzz.fuzz_requests WORKDIR tests/fuzz/corpus/requests -max_total_time=60``.
"""

from __future__ import annotations

from cdikit.errors import RequestError
from cdikit.requests.request import parse_request
from tests.fuzz._common import only, run_atheris


def one_input(data: bytes) -> None:
    required = data[:1] == b"!"
    text = (
        data[1:].decode("utf-8", "surrogateescape") if required else data.decode("utf-8", "surrogateescape")
    )
    with only(RequestError, data):
        request = parse_request(text, required=required)
        assert request.name, f"empty name accepted from {text!r}"


if __name__ == "__main__":
    run_atheris(one_input)
