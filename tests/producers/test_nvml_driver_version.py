"""nvml.driver_version: the management mode's one NVML question, against compiled stand-ins of NVML.

The calls are bound on _ctypes (not the ctypes package, for start-up time); these stubs are real
shared objects, loaded by the real dynamic loader, so the binding's argument and result
conversions are exercised as with the driver's libnvidia-ml.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cdikit.producers.nvidia.nvml import driver_version
from tests.producers import fakeroot

_WORKING = r"""
#include <string.h>
static int up;
int nvmlInitWithFlags(unsigned int flags){ if (flags) return 2; up = 1; return 0; }
int nvmlSystemGetDriverVersion(char *buf, unsigned int len){
    if (!up || len < 80) return 2;
    strcpy(buf, "580.159.04"); return 0; }
int nvmlShutdown(void){ up = 0; return 0; }
"""
_NOT_LOADED = r"""
int nvmlInitWithFlags(unsigned int f){ (void)f; return 9; }
int nvmlSystemGetDriverVersion(char *b, unsigned int l){ (void)b; (void)l; return 0; }
int nvmlShutdown(void){ return 0; }
"""
_NO_VERSION = r"""
int nvmlInitWithFlags(unsigned int f){ (void)f; return 0; }
int nvmlShutdown(void){ return 0; }
"""


@pytest.mark.parametrize(
    ("source", "expected"),
    [(_WORKING, "580.159.04"), (_NOT_LOADED, None), (_NO_VERSION, None), ("int x;", None)],
    ids=["working", "driver-not-loaded", "no-version-function", "not-nvml"],
)
def test_driver_version_from_a_real_library(tmp_path: Path, source: str, expected: str | None) -> None:
    lib = fakeroot.compile_shared(source, tmp_path / "libnvidia-ml.so.1")
    if lib is None:
        pytest.skip("no C compiler for the NVML stand-in")
    assert driver_version({}, library=str(lib)) == expected


def test_a_file_that_is_not_a_library_is_not_loaded(tmp_path: Path) -> None:
    fake = tmp_path / "libnvidia-ml.so.1"
    fake.write_bytes(b"\x7fELF" + b"\0" * 60)  # a truncated ELF: dlopen could crash on worse
    assert driver_version({}, library=str(fake)) is None


def test_the_question_imports_no_ctypes_package(tmp_path: Path) -> None:
    lib = fakeroot.compile_shared(_WORKING, tmp_path / "libnvidia-ml.so.1")
    if lib is None:
        pytest.skip("no C compiler for the NVML stand-in")
    code = (
        "import sys\nfrom cdikit.producers.nvidia.nvml import driver_version\n"
        f"print(driver_version({{}}, library={str(lib)!r}), 'ctypes' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["580.159.04", "False"]
