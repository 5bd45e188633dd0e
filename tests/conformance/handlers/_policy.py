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
4. SPEC NAMES. The reference joins a producer's spec name to the spec
   directory unchecked: ``../x`` writes outside it, ``sub/x.json`` into a
   subdirectory no scanner reads. cdikit refuses any name that is not a plain
   file name (``/``, ``.``, ``..``, empty, NUL) with ``InvalidSpecNameError``.
   For such an op the runner requires that error and that nothing was
   written; the rest of the case is compared as usual.
"""

PANIC_IS_REJECTION = True
TRANSACTIONAL_INJECTION = True
WRITE_VERSION_FOR_REFERENCE = "keep"


def spec_name_refused(name: str) -> bool:
    """Rule 4: whether cdikit refuses ``name`` as a spec file name where the reference writes it."""
    return name in ("", ".", "..") or "/" in name or "\0" in name
