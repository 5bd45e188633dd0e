"""WSL2: the NVIDIA driver store as ``libdxcore.so`` reports it, through ctypes.

On WSL the GPU driver lives in a Windows driver store mounted under
``/usr/lib/wsl/drivers/<store>``; nvidia-ctk asks ``libdxcore.so`` for the
adapters (``D3DKMTEnumAdapters3``, with compute-only adapters, else
``D3DKMTEnumAdapters2``), keeps those whose WDDM version is 2.7 or later
(``D3DKMTQueryAdapterInfo``, driver version query) and reads each one's driver
store path from the registry query; the store holding ``libcuda.so.1.1`` is
NVIDIA's. cdikit does the same with these structures (the WSL ABI, wchar_t of
4 bytes), loading ``libdxcore.so`` from the driver root.

Tests load a fake built from C at test time (``tests/producers/fake_dxcore.py``).
"""

from __future__ import annotations

import ctypes
import sys

from cdikit.errors import CDIError
from cdikit.producers.nvidia._dlopen import load_library

__all__ = ["DxcoreError", "driver_store_paths"]

_MAX_PATH = 260
_WCHAR = 4  # sizeof(wchar_t) on Linux
_QUERY_DRIVER_VERSION = 13
_QUERY_REGISTRY = 48
_REGISTRY_DRIVER_STORE_PATH = 2
_FILTER_COMPUTE_ONLY = 1
_MIN_WDDM = 2700
_MAX_ADAPTERS = 64


class DxcoreError(CDIError):
    """``libdxcore.so`` is absent, lacks its entry points, or failed."""


class _Luid(ctypes.Structure):
    _fields_ = [("low", ctypes.c_uint), ("high", ctypes.c_int)]


class _AdapterInfo(ctypes.Structure):
    _fields_ = [
        ("adapter", ctypes.c_uint),
        ("luid", _Luid),
        ("sources", ctypes.c_uint),
        ("present_move_regions", ctypes.c_uint),
    ]


class _Enum2(ctypes.Structure):
    _fields_ = [("count", ctypes.c_uint), ("adapters", ctypes.POINTER(_AdapterInfo))]


class _Enum3(ctypes.Structure):
    _fields_ = [
        ("filter", ctypes.c_ulonglong),
        ("count", ctypes.c_uint),
        ("adapters", ctypes.POINTER(_AdapterInfo)),
    ]


class _Query(ctypes.Structure):
    _fields_ = [
        ("adapter", ctypes.c_uint),
        ("type", ctypes.c_int),
        ("data", ctypes.c_void_p),
        ("size", ctypes.c_uint),
    ]


class _Registry(ctypes.Structure):
    _fields_ = [
        ("query_type", ctypes.c_int),
        ("query_flags", ctypes.c_uint),
        ("value_name", ctypes.c_uint32 * _MAX_PATH),
        ("value_type", ctypes.c_uint),
        ("adapter_index", ctypes.c_uint),
        ("output_size", ctypes.c_uint),
        ("status", ctypes.c_int),
        ("output", ctypes.c_ulonglong),  # a union: the first 8 bytes of the output string
    ]


_OUTPUT_OFFSET = _Registry.output.offset


class _Dxcore:
    def __init__(self, library: str) -> None:
        try:
            lib = load_library(library)
        except OSError as exc:
            raise DxcoreError(f"cannot load {library}: {exc}", path=library) from exc
        self.library = library
        self.enum3 = getattr(lib, "D3DKMTEnumAdapters3", None)
        self.enum2 = getattr(lib, "D3DKMTEnumAdapters2", None)
        self.query = getattr(lib, "D3DKMTQueryAdapterInfo", None)
        if self.enum3 is None and self.enum2 is None:
            raise DxcoreError(
                f"{library} has neither D3DKMTEnumAdapters2 nor D3DKMTEnumAdapters3", path=library
            )
        if self.query is None:
            raise DxcoreError(f"{library} has no D3DKMTQueryAdapterInfo", path=library)
        for fn in (self.enum3, self.enum2, self.query):
            if fn is not None:
                fn.restype = ctypes.c_int

    def adapters(self) -> list[int]:
        for fn, params in (
            (self.enum3, _Enum3(_FILTER_COMPUTE_ONLY, 0, None)),
            (self.enum2, _Enum2(0, None)),
        ):
            if fn is None or fn(ctypes.byref(params)) != 0:
                continue
            count = min(params.count, _MAX_ADAPTERS)
            buf = (_AdapterInfo * max(count, 1))()
            params.count = count
            params.adapters = ctypes.cast(buf, ctypes.POINTER(_AdapterInfo))
            if fn(ctypes.byref(params)) != 0:
                continue
            return [buf[i].adapter for i in range(min(params.count, count))]
        raise DxcoreError(f"{self.library}: failed to enumerate adapters", path=self.library)

    def _query(self, adapter: int, kind: int, data: ctypes.c_void_p | int, size: int) -> bool:
        assert self.query is not None
        q = _Query(adapter, kind, data, size)
        return int(self.query(ctypes.byref(q))) == 0

    def wddm_version(self, adapter: int) -> int | None:
        version = ctypes.c_uint(0)
        ok = self._query(adapter, _QUERY_DRIVER_VERSION, ctypes.addressof(version), ctypes.sizeof(version))
        return version.value if ok else None

    def driver_store(self, adapter: int) -> str | None:
        probe = _Registry(query_type=_REGISTRY_DRIVER_STORE_PATH)
        if not self._query(adapter, _QUERY_REGISTRY, ctypes.addressof(probe), ctypes.sizeof(probe)):
            return None
        size = probe.output_size
        if size > _MAX_PATH * _WCHAR:
            return None
        total = ctypes.sizeof(_Registry) + size + _WCHAR
        buf = ctypes.create_string_buffer(total)
        value = _Registry.from_buffer(buf)
        value.query_type = _REGISTRY_DRIVER_STORE_PATH
        value.output_size = size
        if not self._query(adapter, _QUERY_REGISTRY, ctypes.addressof(buf), ctypes.sizeof(_Registry) + size):
            return None
        raw = bytes(buf.raw[_OUTPUT_OFFSET : _OUTPUT_OFFSET + size])
        text = raw.decode("utf-32-le" if sys.byteorder == "little" else "utf-32-be", errors="replace")
        return text.split("\0", 1)[0] or None


def driver_store_paths(library: str) -> list[str]:
    """The driver store of every WDDM 2.7+ adapter, without duplicates, in adapter order."""
    dx = _Dxcore(library)
    out: list[str] = []
    for adapter in dx.adapters():
        version = dx.wddm_version(adapter)
        if version is None or version < _MIN_WDDM:
            continue
        store = dx.driver_store(adapter)
        if store and store not in out:
            out.append(store)
    return out
