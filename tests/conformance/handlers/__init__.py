"""One module per conformance command: parse, validate, inject, annotations, write.

Each module defines ``check(case: Case) -> None`` that runs the case (cwd is the
scratch copy) and raises ``AssertionError`` naming every mismatch.
"""
