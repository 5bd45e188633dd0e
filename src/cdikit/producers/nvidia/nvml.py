"""NVML backends: what the generator asks the driver, behind one small interface.

Two implementations share :class:`NvmlBackend`:

* :class:`PynvmlBackend` talks to the real driver through NVIDIA's own bindings
  (``nvidia-ml-py``, imported lazily so that ``cdi`` start-up never pays for it);
* :class:`FakeBackend` answers from a JSON description of GPUs, selected by the
  environment variable ``CDIKIT_FAKE_NVML=<path>`` (format in ``docs/nvidia.md``).

Both are opened with the ``libnvidia-ml.so.1`` that the generator found *inside
the driver root* (as nvidia-ctk does, so a containerised driver in
``/run/nvidia/driver`` works on a host without NVML), or the bare SONAME for the
host loader when the root holds none. The fake "loads" the same path: a file
that exists, or the bare name only when its description says the host loader
has the library (``"host_library"``, default true).

Backends return *raw* NVML values (PCI bus ids as NVML spells them, every device
including display-only ones); all interpretation lives in ``discover.py`` so the
fake drives exactly the same generator code as the real driver.
"""

from __future__ import annotations

import os

from cdikit._record import record
from cdikit.errors import CDIError

TYPE_CHECKING = False  # not typing's: `cdi generate nvidia` start-up time
if TYPE_CHECKING:
    from collections.abc import Mapping
    from contextlib import closing
    from typing import Any, Protocol

__all__ = [
    "FAKE_NVML_ENV",
    "NVML_SONAME",
    "FakeBackend",
    "GpuRecord",
    "MigRecord",
    "NvmlBackend",
    "NvmlError",
    "PynvmlBackend",
    "driver_version",
    "open_backend",
]

FAKE_NVML_ENV = "CDIKIT_FAKE_NVML"
NVML_SONAME = "libnvidia-ml.so.1"
_DRIVER_VERSION_BUFFER = 80  # NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE
_LIBRARY_NOT_FOUND = "failed to initialize NVML: NVML Shared Library Not Found"


class NvmlError(CDIError):
    """NVML could not be initialised or answered with an error."""


@record(frozen=True)
class MigRecord:
    """One MIG device: ``index`` is its slot among the parent's MIG handles."""

    index: int
    uuid: str
    gpu_instance_id: int
    compute_instance_id: int
    profile_name: str = ""

    @property
    def has_graphics(self) -> bool:
        """MIG profiles with the ``gfx`` attribute get DRM nodes (``1g.24gb+gfx``)."""
        return "gfx" in self.profile_name.split("+")[1:]


@record(frozen=True)
class GpuRecord:
    """One full GPU as NVML reports it."""

    index: int
    uuid: str
    minor: int
    pci_bus_id: str
    name: str = ""
    mig_enabled: bool = False
    mig_devices: tuple[MigRecord, ...] = ()
    # ATS addressing mode (NVML's nvmlDeviceGetAddressingMode): a cache-coherent GPU.
    coherent: bool = False


if TYPE_CHECKING:

    class NvmlBackend(Protocol):
        """The NVML calls the generator needs (see nvidia-toolkit.md section 2.1)."""

        def driver_version(self) -> str | None: ...

        def cuda_driver_version(self) -> int | None: ...

        def gpus(self) -> list[GpuRecord]: ...

        def close(self) -> None: ...

else:
    NvmlBackend = object  # a Protocol for type checkers; typing is not imported at run time


class FakeBackend:
    """Answers from a JSON description (``CDIKIT_FAKE_NVML``); no driver needed."""

    def __init__(
        self, description: dict[str, Any], *, source: str = "<fake>", library: str | None = None
    ) -> None:
        self.library = library or NVML_SONAME
        if "/" in self.library:
            if not os.path.isfile(self.library):
                raise NvmlError(f"{_LIBRARY_NOT_FOUND} ({self.library})", path=self.library)
        elif not description.get("host_library", True):
            raise NvmlError(_LIBRARY_NOT_FOUND, path=source)
        error = description.get("init_error")
        if error:
            raise NvmlError(f"failed to initialize NVML: {error}", path=source)
        self._source = source
        self._desc = description

    @classmethod
    def from_file(cls, path: str, *, library: str | None = None) -> FakeBackend:
        import json

        try:
            with open(path, "rb") as f:
                data = json.load(f)
        except (OSError, ValueError) as exc:
            raise NvmlError(f"cannot read fake NVML description {path}: {exc}", path=path) from exc
        if not isinstance(data, dict):
            raise NvmlError(f"fake NVML description {path} must be a JSON object", path=path)
        return cls(data, source=path, library=library)

    def driver_version(self) -> str | None:
        value = self._desc.get("driver_version")
        return str(value) if value else None

    def cuda_driver_version(self) -> int | None:
        value = self._desc.get("cuda_version")
        return int(value) if value is not None else None

    def gpus(self) -> list[GpuRecord]:
        out = []
        for pos, g in enumerate(self._desc.get("gpus", [])):
            where = f"gpus[{pos}]"
            try:
                migs = tuple(
                    MigRecord(
                        index=int(m.get("index", j)),
                        uuid=str(m["uuid"]),
                        gpu_instance_id=int(m["gi"]),
                        compute_instance_id=int(m.get("ci", 0)),
                        profile_name=str(m.get("profile", "")),
                    )
                    for j, m in enumerate(g.get("mig_devices", []))
                )
                out.append(
                    GpuRecord(
                        index=int(g.get("index", pos)),
                        uuid=str(g["uuid"]),
                        minor=int(g.get("minor", g.get("index", pos))),
                        pci_bus_id=str(g.get("pci_bus_id", "")),
                        name=str(g.get("name", "NVIDIA Fake GPU")),
                        mig_enabled=bool(g.get("mig_mode", False)),
                        mig_devices=migs,
                        coherent=str(g.get("addressing_mode", "")).lower() == "ats",
                    )
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise NvmlError(
                    f"invalid fake NVML description {self._source}: {where}: {exc!r}",
                    path=self._source,
                    field=where,
                ) from exc
        return out

    def close(self) -> None:
        return None


def _probe_soname(soname: str) -> None:
    """Fail as ``nvmlInit`` would when the host loader cannot load ``soname``, before importing pynvml.

    pynvml is a large module (milliseconds to import) and every ``generate`` on a
    host without the driver (management mode, CI) would pay for it only to learn
    that ``dlopen("libnvidia-ml.so.1")`` fails: try that first.
    """
    import ctypes

    try:
        ctypes.CDLL(soname)
    except OSError:
        from importlib.util import find_spec

        if find_spec("pynvml") is None:  # pragma: no cover - depends on the install
            raise NvmlError("nvidia-ml-py is not installed (pip install 'cdikit[nvidia]')") from None
        raise NvmlError(_LIBRARY_NOT_FOUND) from None


class PynvmlBackend:
    """The real driver through ``nvidia-ml-py`` (``import pynvml``)."""

    def __init__(self, library: str | None = None) -> None:
        if "/" not in (library or NVML_SONAME):
            _probe_soname(library or NVML_SONAME)
        try:
            import pynvml  # type: ignore[import-untyped]
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise NvmlError("nvidia-ml-py is not installed (pip install 'cdikit[nvidia]')") from exc
        self._nvml = pynvml
        self.library = library or NVML_SONAME
        if "/" in self.library:
            self._preload(pynvml, self.library)
        try:
            pynvml.nvmlInit()
        except pynvml.NVMLError as exc:
            raise NvmlError(f"failed to initialize NVML: {exc}") from exc

    @staticmethod
    def _preload(pynvml: Any, path: str) -> None:
        """Make ``pynvml`` use the library at ``path`` (it dlopens the bare SONAME otherwise).

        pynvml loads lazily into its module global ``nvmlLib`` unless that is set;
        a library loaded earlier in this process stays (NVML cannot be unloaded).
        """
        from cdikit.producers.nvidia._dlopen import load_library

        with pynvml.libLoadLock:
            if pynvml.nvmlLib is not None:
                return
            try:
                pynvml.nvmlLib = load_library(path)
            except OSError as exc:
                raise NvmlError(f"{_LIBRARY_NOT_FOUND} ({path}: {exc})", path=path) from exc

    @staticmethod
    def _text(value: str | bytes) -> str:
        return value.decode() if isinstance(value, bytes) else value

    def driver_version(self) -> str | None:
        try:
            return self._text(self._nvml.nvmlSystemGetDriverVersion())
        except self._nvml.NVMLError:
            return None

    def cuda_driver_version(self) -> int | None:
        try:
            return int(self._nvml.nvmlSystemGetCudaDriverVersion())
        except self._nvml.NVMLError:
            return None

    def gpus(self) -> list[GpuRecord]:
        nv = self._nvml
        try:
            count = nv.nvmlDeviceGetCount()
        except nv.NVMLError as exc:
            raise NvmlError(f"failed to get device count: {exc}") from exc
        out = []
        for i in range(count):
            try:
                h = nv.nvmlDeviceGetHandleByIndex(i)
                name = self._text(nv.nvmlDeviceGetName(h))
                uuid = self._text(nv.nvmlDeviceGetUUID(h))
                minor = int(nv.nvmlDeviceGetMinorNumber(h))
                bus = self._text(nv.nvmlDeviceGetPciInfo(h).busId)
            except nv.NVMLError as exc:
                raise NvmlError(f"failed to query GPU {i}: {exc}") from exc
            mig_enabled = False
            try:
                current, _pending = nv.nvmlDeviceGetMigMode(h)
                mig_enabled = current == nv.NVML_DEVICE_MIG_ENABLE
            except nv.NVMLError:
                pass  # not MIG capable
            migs = self._mig_devices(h) if mig_enabled else ()
            out.append(GpuRecord(i, uuid, minor, bus, name, mig_enabled, migs, self._coherent(h)))
        return out

    def _coherent(self, handle: Any) -> bool:
        """ATS addressing mode, as go-nvlib's ``IsCoherent`` (absent symbol / unsupported: False)."""
        nv = self._nvml
        get = getattr(nv, "nvmlDeviceGetAddressingMode", None)
        if get is None:
            return False
        try:
            mode = get(handle)
        except (nv.NVMLError, AttributeError):
            return False
        return int(getattr(mode, "value", mode)) == 2  # NVML_DEVICE_ADDRESSING_MODE_ATS

    def _mig_devices(self, parent: Any) -> tuple[MigRecord, ...]:
        nv = self._nvml
        try:
            slots = nv.nvmlDeviceGetMaxMigDeviceCount(parent)
        except nv.NVMLError as exc:
            raise NvmlError(f"failed to get MIG device count: {exc}") from exc
        out = []
        for j in range(slots):
            try:
                mh = nv.nvmlDeviceGetMigDeviceHandleByIndex(parent, j)
            except (nv.NVMLError_NotFound, nv.NVMLError_InvalidArgument):
                continue  # empty slot, as the reference skips them
            try:
                uuid = self._text(nv.nvmlDeviceGetUUID(mh))
                gi = int(nv.nvmlDeviceGetGpuInstanceId(mh))
                ci = int(nv.nvmlDeviceGetComputeInstanceId(mh))
            except nv.NVMLError as exc:
                raise NvmlError(f"failed to query MIG device {j}: {exc}") from exc
            out.append(MigRecord(j, uuid, gi, ci, self._profile_name(parent, mh, gi)))
        return tuple(out)

    def _profile_name(self, parent: Any, mig: Any, gi: int) -> str:
        """The GPU-instance profile name (``1g.10gb+gfx``); the device name as a fallback."""
        nv = self._nvml
        try:
            info = nv.nvmlGpuInstanceGetInfo(nv.nvmlDeviceGetGpuInstanceById(parent, gi))
            for p in range(nv.NVML_GPU_INSTANCE_PROFILE_COUNT):
                try:
                    prof = nv.nvmlDeviceGetGpuInstanceProfileInfoV(parent, p)
                except nv.NVMLError:
                    continue
                if prof.id == info.profileId:
                    return self._text(prof.name)
        except (nv.NVMLError, AttributeError):
            pass
        try:
            return self._text(nv.nvmlDeviceGetName(mig))
        except nv.NVMLError:
            return ""

    def close(self) -> None:
        try:
            self._nvml.nvmlShutdown()
        except self._nvml.NVMLError:
            pass


def open_backend(environ: Mapping[str, str] | None = None, *, library: str | None = None) -> NvmlBackend:
    """The fake backend when ``CDIKIT_FAKE_NVML`` is set, else the real driver.

    ``library`` is the ``libnvidia-ml.so.1`` to load (a path found in the driver
    root), else the host loader's. Raises :class:`NvmlError` when NVML cannot be
    initialised.
    """
    env = os.environ if environ is None else environ
    fake = env.get(FAKE_NVML_ENV)
    if fake:
        return FakeBackend.from_file(fake, library=library)
    return PynvmlBackend(library)


def driver_version(environ: Mapping[str, str] | None = None, *, library: str | None = None) -> str | None:
    """NVML's driver version, ``None`` when NVML cannot be initialised or does not say.

    What ``open_backend(...).driver_version()`` answers (then ``close()``), for the
    modes that need nothing else from NVML (management): the real driver is asked
    through :func:`cdikit._libc.library_functions`, on :mod:`_ctypes` (``nvmlInitWithFlags(0)``,
    ``nvmlSystemGetDriverVersion``, ``nvmlShutdown``, the calls pynvml makes)
    instead of importing pynvml, so ``cdi generate nvidia --mode management`` does
    not pay for that large module. The library is checked and loaded the same way
    (:func:`cdikit.producers.nvidia._dlopen.load_library` for a path inside the
    driver root, the host loader for the bare SONAME).
    """
    env = os.environ if environ is None else environ
    if env.get(FAKE_NVML_ENV):
        try:
            backend = open_backend(env, library=library)
        except NvmlError:
            return None
        try:
            return backend.driver_version()
        finally:
            backend.close()
    path = library or NVML_SONAME
    try:
        if "/" in path:
            from cdikit.producers.nvidia._dlopen import check_library

            check_library(path)
        # Bound on _ctypes as cdikit._libc binds libc: the ctypes package costs `cdi generate
        # nvidia` more to import than this whole question.
        from cdikit._libc import char_buffer, library_functions

        init, get_version, shutdown = library_functions(
            path, "nvmlInitWithFlags", "nvmlSystemGetDriverVersion", "nvmlShutdown"
        )
    except (OSError, AttributeError):
        return None
    if init(0) != 0:
        return None
    try:
        buf = char_buffer(_DRIVER_VERSION_BUFFER)
        if get_version(buf, _DRIVER_VERSION_BUFFER) != 0:
            return None
        value: bytes = buf.value
        return value.decode()
    finally:
        shutdown()


def backend_session(
    environ: Mapping[str, str] | None = None, *, library: str | None = None
) -> closing[NvmlBackend]:
    """``open_backend`` as a context manager that always shuts NVML down."""
    from contextlib import closing

    return closing(open_backend(environ, library=library))
