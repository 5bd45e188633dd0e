"""``libnvidia-sandboxutils.so.1``: the driver's own list of a GPU's files, through ctypes.

nvidia-ctk prefers this library, when the driver root has it, over NVML plus
sysfs for a GPU's (or MIG device's) device nodes and ``/dev/dri/by-path``
links, and over NVML for the driver version; any failure falls back to the
NVML path (its ``FirstValid`` discoverer), and the feature flag
``disable-nvsandboxutils`` turns it off. cdikit does the same. The library is
loaded from the driver root (never by a bare name: a host without the driver
has none) and initialised with that root; the structures below are the
library's ABI (``nvSandboxUtilsInitInput_v1_t``, ``nvSandboxUtilsGpuRes_v1_t``,
``nvSandboxUtilsGpuFileInfo_v1_t``).

Tests load a fake built from C at test time (``tests/producers/fake_sandboxutils.py``),
so this module's ctypes code is what they exercise.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass

from cdikit.errors import CDIError
from cdikit.producers.nvidia._dlopen import load_library

__all__ = [
    "NV_DEV_DRI_CARD",
    "NV_DEV_DRI_CARD_SYMLINK",
    "NV_DEV_DRI_RENDERD",
    "NV_DEV_DRI_RENDERD_SYMLINK",
    "NV_DEV_NVIDIA",
    "NV_DEV_NVIDIA_CAPS_NVIDIA_CAP",
    "NV_FILE_FLAG_CONTENT",
    "SONAME",
    "GpuFile",
    "SandboxUtils",
    "SandboxUtilsError",
]

SONAME = "libnvidia-sandboxutils.so.1"
# nvSandboxUtilsFileSystemSubType_t (the /dev entries)
NV_DEV_NVIDIA = 0
NV_DEV_DRI_CARD = 1
NV_DEV_DRI_RENDERD = 2
NV_DEV_DRI_CARD_SYMLINK = 3
NV_DEV_DRI_RENDERD_SYMLINK = 4
NV_DEV_NVIDIA_CAPS_NVIDIA_CAP = 10
NV_FILE_FLAG_CONTENT = 1 << 2  # a symlink: ask nvSandboxUtilsGetFileContent for its target
_NV_ROOTFS_PATH = 1
_NV_GPU_INPUT_GPU_UUID, _NV_GPU_INPUT_MIG_UUID = 0, 1
_INPUT_LENGTH = 256
_MAX_FILE_PATH = 256
_VERSION_LENGTH = 100
_MAX_FILES = 4096  # bounded walk of the returned list
_RETURNS = {
    1: "ERROR_UNINITIALIZED",
    2: "ERROR_NOT_SUPPORTED",
    3: "ERROR_INVALID_ARG",
    4: "ERROR_INSUFFICIENT_SIZE",
    5: "ERROR_VERSION_NOT_SUPPORTED",
    6: "ERROR_LIBRARY_LOAD",
    7: "ERROR_FUNCTION_NOT_FOUND",
    8: "ERROR_DEVICE_NOT_FOUND",
    9: "ERROR_NVML_LIB_CALL",
    10: "ERROR_OUT_OF_MEMORY",
    11: "ERROR_FILEPATH_NOT_FOUND",
    0xFFFF: "ERROR_UNKNOWN",
}


class SandboxUtilsError(CDIError):
    """The library is absent, failed to initialise, or answered with an error."""


class _InitInput(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint), ("type", ctypes.c_int), ("value", ctypes.c_char * _INPUT_LENGTH)]


class _FileInfo(ctypes.Structure):
    pass


_FileInfo._fields_ = [
    ("next", ctypes.POINTER(_FileInfo)),
    ("file_type", ctypes.c_int),
    ("file_sub_type", ctypes.c_int),
    ("module", ctypes.c_int),
    ("flags", ctypes.c_int),
    ("file_path", ctypes.c_char_p),
]


class _GpuRes(ctypes.Structure):
    _fields_ = [
        ("version", ctypes.c_uint),
        ("input_type", ctypes.c_int),
        ("input", ctypes.c_char * _INPUT_LENGTH),
        ("files", ctypes.POINTER(_FileInfo)),
    ]


@dataclass(frozen=True)
class GpuFile:
    """One entry of ``nvSandboxUtilsGetGpuResource``: a host path and what it is."""

    path: str
    subtype: int
    flags: int


def _fixed(text: str, what: str) -> bytes:
    raw = text.encode()
    if len(raw) >= _INPUT_LENGTH or b"\0" in raw:
        raise SandboxUtilsError(f"nvsandboxutils: {what} {text!r} is too long or holds NUL")
    return raw


class SandboxUtils:
    """An initialised ``libnvidia-sandboxutils`` (use as a context manager or call :meth:`close`)."""

    def __init__(self, library: str, driver_root: str) -> None:
        self.library = library
        try:
            self._lib = load_library(library)
        except OSError as exc:
            raise SandboxUtilsError(f"cannot load {library}: {exc}", path=library) from exc
        self._check("nvSandboxUtilsInit", self._call("nvSandboxUtilsInit", ctypes.byref(
            _InitInput(1, _NV_ROOTFS_PATH, _fixed(driver_root, "driver root")))))  # fmt: skip
        self._open = True

    def _call(self, name: str, *args: object) -> int:
        try:
            fn = getattr(self._lib, name)
        except AttributeError as exc:
            raise SandboxUtilsError(f"{self.library}: no symbol {name}", path=self.library) from exc
        fn.restype = ctypes.c_int
        return int(fn(*args))

    def _check(self, name: str, ret: int) -> None:
        if ret != 0:
            raise SandboxUtilsError(f"{name}: {_RETURNS.get(ret, ret)}", path=self.library)

    def driver_version(self) -> str | None:
        buf = ctypes.create_string_buffer(_VERSION_LENGTH)
        if self._call("nvSandboxUtilsGetDriverVersion", buf, ctypes.c_uint(_VERSION_LENGTH)) != 0:
            return None
        return buf.value.decode(errors="replace") or None

    def gpu_files(self, uuid: str) -> list[GpuFile]:
        """The files of the GPU or MIG device ``uuid`` (raises :class:`SandboxUtilsError`)."""
        kind = _NV_GPU_INPUT_MIG_UUID if uuid.startswith("MIG-") else _NV_GPU_INPUT_GPU_UUID
        request = _GpuRes(1, kind, _fixed(uuid, "device"), None)
        self._check(
            "nvSandboxUtilsGetGpuResource", self._call("nvSandboxUtilsGetGpuResource", ctypes.byref(request))
        )
        out: list[GpuFile] = []
        node = request.files
        while node and len(out) < _MAX_FILES:
            info = node.contents
            if info.file_path:
                out.append(GpuFile(info.file_path.decode(errors="replace"), info.file_sub_type, info.flags))
            node = info.next
        return out

    def file_content(self, path: str) -> str:
        """What a ``NV_FILE_FLAG_CONTENT`` entry holds (a by-path link's target)."""
        content = ctypes.create_string_buffer(_MAX_FILE_PATH)
        size = ctypes.c_uint(_MAX_FILE_PATH)
        ret = self._call(
            "nvSandboxUtilsGetFileContent", ctypes.c_char_p(path.encode()), content, ctypes.byref(size)
        )
        self._check("nvSandboxUtilsGetFileContent", ret)
        return content.value.decode(errors="replace")

    def close(self) -> None:
        if getattr(self, "_open", False):
            self._open = False
            self._call("nvSandboxUtilsShutdown")

    def __enter__(self) -> SandboxUtils:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
