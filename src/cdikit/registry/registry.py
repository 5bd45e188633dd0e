"""The registry: every CDI device defined in an ordered list of spec directories.

This is the reference library's ``Cache`` (``pkg/cdi/cache.go``), with the
same verdicts: which files are read (:mod:`cdikit.registry.scan`), how
priorities resolve duplicates (a later directory wins), what a conflict within
one priority does (the device is dropped everywhere, an error is recorded
against both files), which errors are kept per file and per directory, and the
order in which container edits are collected for injection.

Where cdikit does better:

* refresh is incremental (:mod:`cdikit.registry.loader`): unchanged files are
  not parsed again;
* auto-refresh uses real inotify (:mod:`cdikit.registry.watcher`) and a query
  first applies every change queued before it, so a process sees its own
  writes;
* a spec file that makes the reference panic (a one-character vendor or class)
  is reported as an error for that file instead of aborting the whole load;
* a failed injection leaves the caller's OCI spec unchanged.

Every refresh builds a new immutable :class:`_Snapshot` and swaps it in, so a
reader always sees one consistent state without holding the lock.
"""

from __future__ import annotations

import errno
import gc
import os
from _thread import RLock  # threading's RLock, without importing threading

from cdikit._paths import DEFAULT_SPEC_DIRS, go_clean, spec_format
from cdikit._text import go_errno_text
from cdikit.errors import ConflictError, InjectionError, RegistryError, UnresolvableDevicesError, WriteError
from cdikit.registry._light import resolve_devices, scan_raw
from cdikit.registry.loader import LoadResult, SpecLoader

# Not typing's, and no dataclasses: a registry over a warm disk cache needs neither (nor
# msgspec: specs are decoded when first used), and every CLI call or container start pays imports.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence
    from typing import Any, Literal

    from cdikit.registry.watcher import Watcher
    from cdikit.spec.types import ContainerEdits, Device, Spec
    from cdikit.specfile import SchemaValidator, SpecFile

    Listener = Callable[["Registry"], None]
    VersionChoice = Literal["minimum", "keep"] | str

__all__ = [
    "DEFAULT_SPEC_DIRS",
    "NilOCISpecError",
    "Registry",
    "ResolvedDevice",
]


class NilOCISpecError(InjectionError):
    """``inject_devices`` was called without an OCI spec.

    ``unresolved`` lists every requested name, as the reference returns them.
    """

    def __init__(self, names: Sequence[str]) -> None:
        super().__init__("can't inject devices, nil OCI Spec")
        self.unresolved = list(names)


class ResolvedDevice:
    """A device the registry resolves: its qualified name, definition and spec file.

    ``device`` may be left None when ``spec`` defines it (the registry does
    so): it is then looked up on first use, so that a spec taken from the
    disk cache is decoded only when one of its devices is really used.
    """

    __slots__ = ("_device", "name", "spec")

    def __init__(self, name: str, device: Device | None, spec: SpecFile) -> None:
        self.name = name
        self._device = device
        self.spec = spec

    @property
    def device(self) -> Device:
        device = self._device
        if device is None:
            device = self._device = self.spec.devices[self.name.partition("=")[2]]
        return device

    @property
    def edits(self) -> ContainerEdits:
        return self.device.edits

    def _key(self) -> tuple[str, Device, SpecFile]:
        return (self.name, self.device, self.spec)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, ResolvedDevice)
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"ResolvedDevice(name={self.name!r}, device={self.device!r}, spec={self.spec!r})"


class _Snapshot:
    """One refresh's complete, immutable view."""

    __slots__ = ("conflicts", "devices", "errors", "specs")

    def __init__(
        self,
        specs: tuple[SpecFile, ...],
        devices: dict[str, ResolvedDevice],
        errors: dict[str, tuple[str, ...]],
        conflicts: frozenset[str] = frozenset(),
    ) -> None:
        self.specs = specs
        self.devices = devices
        self.errors = errors
        self.conflicts = conflicts

    def signature(self) -> tuple[Any, ...]:
        """What listeners care about: which specs (and their content) and which errors."""
        return (
            tuple((s.path, s.priority, s.spec) for s in self.specs),
            tuple(sorted(self.errors.items())),
        )


_EMPTY = _Snapshot((), {}, {})


class _Builder:
    """Builds snapshots, reusing per-spec work: a spec file parsed once is resolved once.

    Refreshing 1,000 unchanged files must not allocate per-device objects
    (that alone costs more than the stats, mostly in garbage collection), so
    each loaded :class:`SpecFile` keeps its tuple of :class:`ResolvedDevice`,
    and a refresh whose scan gave exactly the same results as the previous one
    reuses the previous snapshot outright.
    """

    def __init__(self, loader: SpecLoader) -> None:
        self.loader = loader
        self._resolved: dict[SpecFile, tuple[ResolvedDevice, ...]] = {}
        self._last_inputs: list[tuple[str, int, str | LoadResult]] | None = None

    def _devices_of(self, spec: SpecFile) -> tuple[ResolvedDevice, ...]:
        found = self._resolved.get(spec)
        if found is None:
            prefix = spec.qualified_name("")
            found = tuple(ResolvedDevice(prefix + name, None, spec) for name in spec.device_names)
            self._resolved[spec] = found
        return found

    def build(self, spec_dirs: Sequence[str], previous: _Snapshot) -> _Snapshot:
        """Scan, load (incrementally) and resolve priorities and conflicts like ``Cache.refresh``."""
        candidates = scan_raw(spec_dirs)  # cdikit.registry.scan's walk, as plain tuples
        load = self.loader.load
        # Loading allocates many small objects, all of them kept: the collector's passes over a
        # growing heap would cost as much as the decoding itself (2-3x on 1,000 files).
        paused = gc.isenabled()
        gc.disable()
        try:
            inputs = [(path, prio, error or load(path, prio)) for path, prio, error in candidates]
        finally:
            if paused:
                gc.enable()
        self.loader.flush(c[0] for c in candidates)
        if inputs == self._last_inputs and previous is not _EMPTY:
            return previous
        self._last_inputs = inputs
        self.loader.retain((c[0], c[1]) for c in candidates)

        errors: dict[str, list[str]] = {}
        specs: list[SpecFile] = []

        def record(message: str, *paths: str) -> None:
            for path in paths:
                errors.setdefault(path, []).append(message)

        def loaded() -> Iterator[tuple[str, int, Iterator[tuple[str, ResolvedDevice]]]]:
            for path, _prio, result in inputs:
                if isinstance(result, str):  # the scanner could not examine the entry
                    record(f"failed to load CDI Spec {result}", path)
                    continue
                spec = result.spec
                if spec is None:
                    if result.error is not None:
                        record(f"failed to load CDI Spec {result.error}", path)
                    # else: removed while we were scanning, as if scanned a moment later
                    continue
                specs.append(spec)
                yield spec.path, spec.priority, ((r.name, r) for r in self._devices_of(spec))

        devices, conflicts = resolve_devices(loaded(), record)
        live = set(specs)
        for stale in [s for s in self._resolved if s not in live]:
            del self._resolved[stale]
        return _Snapshot(
            tuple(specs), devices, {p: tuple(e) for p, e in errors.items()}, frozenset(conflicts)
        )


class Registry:
    """Every CDI device of an ordered list of spec directories (later = higher priority).

    ``auto_refresh`` (default on) keeps the registry current through inotify
    (polling where inotify is unavailable); with it off, call :meth:`refresh`.
    The registry is thread-safe. Call :meth:`close` (or use it as a context
    manager) to stop the watcher thread.

    Directory errors: the reference reports every directory it cannot watch,
    including a missing one. cdikit watches a missing directory through its
    nearest existing ancestor, so only real failures (watch limits,
    permissions) are reported by :meth:`get_spec_dir_errors`.

    ``cache`` selects the persistent cache of loaded spec files shared by
    processes (:mod:`cdikit.registry._diskcache`): True (default) uses
    ``$CDIKIT_CACHE_DIR`` or the per-user default location, False none, a
    string that directory. An unusable cache directory is silently skipped.
    """

    def __init__(
        self,
        spec_dirs: Sequence[str] | None = None,
        *,
        auto_refresh: bool = True,
        schema: SchemaValidator | None = None,
        poll_interval: float | None = None,
        use_inotify: bool = True,
        cache: bool | str = True,
    ) -> None:
        dirs = DEFAULT_SPEC_DIRS if spec_dirs is None else spec_dirs
        if isinstance(dirs, str):
            raise TypeError("spec_dirs must be a sequence of directory paths, not a string")
        self._dirs = [go_clean(d) for d in dirs]
        self._schema = schema
        self._lock = RLock()
        disk = None
        if cache is not False:
            from cdikit.registry._diskcache import open_disk_cache

            disk = open_disk_cache(cache, schema)
        self._loader = SpecLoader(schema=schema, disk=disk)
        self._builder = _Builder(self._loader)
        self._state = _EMPTY
        self._listeners: list[Listener] = []
        self._watcher: Watcher | None = None
        if auto_refresh:
            # Imported here: threads and inotify cost start-up time a one-shot registry never uses.
            from cdikit.registry.watcher import DEFAULT_POLL_INTERVAL, create_watcher

            self._watcher = create_watcher(
                self._dirs,
                self._on_watch_event,
                poll_interval=DEFAULT_POLL_INTERVAL if poll_interval is None else poll_interval,
                use_inotify=use_inotify,
            )
        # Like NewCache: one refresh at creation, its errors recorded, not raised.
        with self._lock:
            self._refresh_locked()
        if self._watcher is not None:
            self._watcher.start()

    # ----------------------------------------------------------------- lifecycle

    @property
    def spec_dirs(self) -> list[str]:
        """The spec directories, cleaned, lowest priority first."""
        return list(self._dirs)

    @property
    def auto_refresh(self) -> bool:
        return self._watcher is not None

    def close(self) -> None:
        """Stop auto-refresh (the registry keeps working with explicit refreshes)."""
        with self._lock:
            watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.close()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add_listener(self, callback: Listener) -> None:
        """Call ``callback(registry)`` after every refresh that changed specs or errors."""
        with self._lock:
            self._listeners.append(callback)

    def remove_listener(self, callback: Listener) -> None:
        with self._lock:
            self._listeners.remove(callback)

    # ------------------------------------------------------------------- refresh

    def refresh(self) -> None:
        """Rescan the spec directories (incrementally).

        Raises :class:`RegistryError` listing every per-file error when any spec
        file failed to load or conflicted (the good ones are loaded anyway); a
        :class:`~cdikit.errors.ConflictError` (a RegistryError) when the only
        errors are devices defined twice at one priority (its ``names``).
        """
        with self._lock:
            if self._watcher is not None:
                self._watcher.pending()  # consumed: this refresh covers them
            changed = self._refresh_locked()
            state = self._state
        if changed:
            self._notify()
        if state.errors:
            messages = [m for path in sorted(state.errors) for m in state.errors[path]]
            if state.conflicts and all(m.startswith("conflicting device ") for m in messages):
                raise ConflictError("\n".join(messages), names=sorted(state.conflicts))
            raise RegistryError("\n".join(messages))

    def _refresh_locked(self) -> bool:
        old = self._state
        new = self._builder.build(self._dirs, old)
        if new is old:
            return False
        self._state = new
        # The signature compares spec contents, which decodes specs taken from the disk
        # cache: only worth it when someone listens.
        return bool(self._listeners) and old.signature() != new.signature()

    def _current(self) -> _Snapshot:
        """The state to answer a query from, after applying changes queued by the watcher."""
        watcher = self._watcher
        if watcher is not None:
            changed = False
            with self._lock:
                if self._watcher is not None and self._watcher.pending():
                    changed = self._refresh_locked()
            if changed:
                self._notify()
        return self._state

    def _on_watch_event(self) -> None:
        self._current()

    def _notify(self) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for callback in listeners:
            try:
                callback(self)
            except Exception:  # one broken listener must not starve the others
                import logging  # only now: logging costs milliseconds at every start-up

                logging.getLogger(__name__).exception("cdikit registry listener %r failed", callback)

    # ------------------------------------------------------------------- queries

    def get_device(self, qualified: str) -> ResolvedDevice | None:
        """The device with this fully qualified name (exact match), or None."""
        return self._current().devices.get(qualified)

    def list_devices(self) -> list[str]:
        return sorted(self._current().devices)

    def list_vendors(self) -> list[str]:
        """Vendors of every loaded spec (even one whose devices all lost conflicts)."""
        return sorted({s.vendor for s in self._current().specs})

    def list_classes(self) -> list[str]:
        return sorted({s.class_ for s in self._current().specs})

    def get_vendor_specs(self, vendor: str) -> list[SpecFile]:
        """The loaded specs of ``vendor``, in scan order."""
        return [s for s in self._current().specs if s.vendor == vendor]

    def specs(self) -> list[SpecFile]:
        """Every loaded spec, in scan order."""
        return list(self._current().specs)

    def devices(self) -> dict[str, ResolvedDevice]:
        """Qualified name -> resolved device (a copy)."""
        return dict(self._current().devices)

    def get_errors(self) -> dict[str, list[str]]:
        """Errors of the last refresh per spec file path, plus directory errors per directory."""
        state = self._current()
        found = {path: list(msgs) for path, msgs in state.errors.items()}
        for directory, message in self.get_spec_dir_errors().items():
            found.setdefault(directory, []).append(message)
        return found

    def get_spec_errors(self, path: str) -> list[str]:
        """Errors recorded for one spec file path (as scanned)."""
        return list(self._current().errors.get(path, ()))

    def get_spec_dir_errors(self) -> dict[str, str]:
        """Spec directories that cannot be monitored (always empty without auto-refresh)."""
        watcher = self._watcher
        return watcher.dir_errors() if watcher is not None else {}

    # ----------------------------------------------------------------- injection

    def collect_edits(self, names: Sequence[str]) -> list[ContainerEdits]:
        """The edits for ``names`` in the reference's order, or raise for unknown names.

        Each spec's own edits come once, the first time one of its devices is
        requested, followed by the device's edits; a repeated name repeats its
        device's edits. Raises :class:`UnresolvableDevicesError` naming every
        unknown name in request order.
        """
        devices = self._current().devices
        edits: list[ContainerEdits] = []
        seen: set[int] = set()
        unresolved: list[str] = []
        for name in names:
            found = devices.get(name)
            if found is None:
                unresolved.append(name)
                continue
            if id(found.spec) not in seen:
                seen.add(id(found.spec))
                edits.append(found.spec.edits)
            edits.append(found.device.edits)
        if unresolved:
            raise UnresolvableDevicesError(unresolved)
        return edits

    def inject_devices(self, oci: dict[str, Any] | None, names: Sequence[str]) -> None:
        """Apply the edits of the devices ``names`` to the OCI spec ``oci`` in place.

        Raises :class:`NilOCISpecError` without a spec, :class:`UnresolvableDevicesError`
        (``oci`` untouched) for unknown names, :class:`InjectionError` when
        applying fails (``oci`` unchanged: injection is transactional).
        """
        if oci is None:
            raise NilOCISpecError(names)
        edits = self.collect_edits(names)
        from cdikit.oci import inject_edits

        inject_edits(oci, edits)

    # ----------------------------------------------------------------- producers

    def write_spec(
        self, spec: Spec, name: str, *, version: VersionChoice = "minimum", mode: int | None = None
    ) -> str:
        """Write ``spec`` into the highest-priority directory as ``name``; return the path.

        ``.yaml`` is appended to ``name`` unless it ends in ``.json`` or ``.yaml``
        (the extension picks the encoding). ``version``: ``"minimum"`` (default)
        sets ``cdiVersion`` to the lowest version the content needs, so older
        consumers can load it; ``"keep"`` keeps the spec's own; any other string
        is used as the version. The spec is fully validated before the disk is
        touched; the file is replaced atomically with ``mode``, by default
        ``SPEC_FILE_MODE`` (0644): a spec holds no secret, and rootless engines and non-root users must
        read it (the reference writes 0600, which nvidia-ctk had to work
        around). Like the reference, this does not refresh the registry itself.
        """
        if not self._dirs:
            raise WriteError("no Spec directories to write to")
        from cdikit.registry.names import spec_file_path

        priority = len(self._dirs) - 1
        path = spec_file_path(self._dirs[priority], name)
        spec = _with_version(spec, version)
        _validate_for_write(spec, path, self._schema)
        fmt: Literal["json", "yaml"] = "json" if spec_format(path) == "json" else "yaml"
        from cdikit.spec.encode import SPEC_FILE_MODE, write_spec_file

        with self._lock:
            try:
                os.makedirs(os.path.dirname(path) or ".", mode=0o755, exist_ok=True)
                write_spec_file(spec, path, fmt=fmt, mode=SPEC_FILE_MODE if mode is None else mode)
            except OSError as err:
                raise WriteError(f"failed to write Spec file: {_os_text(err)}", path=path) from err
        return path

    def remove_spec(self, name: str) -> None:
        """Remove the spec written as ``name`` from the highest-priority directory.

        A missing file is not an error.
        """
        if not self._dirs:
            raise WriteError("no Spec directories to remove from")
        from cdikit.registry.names import spec_file_path

        path = spec_file_path(self._dirs[-1], name)
        with self._lock:
            _go_remove(path)


def _with_version(spec: Spec, version: VersionChoice) -> Spec:
    import msgspec

    if version == "keep":
        return spec
    if version == "minimum":
        from cdikit.spec.version import minimum_version

        target = minimum_version(spec)
    else:
        target = version
    if target == spec.cdi_version:
        return spec
    return msgspec.structs.replace(spec, cdi_version=target)


def _validate_for_write(spec: Spec, path: str, schema: SchemaValidator | None) -> None:
    """What ``newSpec`` checks before a write (errors worded ``invalid CDI Spec: ...``)."""
    from cdikit.validation.rules import validate_spec

    if schema is not None:
        import msgspec

        schema.validate(msgspec.to_builtins(spec), path=path)
    validate_spec(spec, path=path)


def _os_text(err: OSError) -> str:
    reason = go_errno_text(err)
    return f"{err.filename}: {reason}" if err.filename else reason


def _go_remove(path: str) -> None:
    """``os.Remove``: unlink, else rmdir; a missing path is fine."""
    try:
        os.unlink(path)
        return
    except FileNotFoundError:
        return
    except OSError as unlink_err:
        first = unlink_err
    try:
        os.rmdir(path)
        return
    except FileNotFoundError:
        return
    except OSError as rmdir_err:
        err = rmdir_err if rmdir_err.errno != errno.ENOTDIR else first
    reason = os.strerror(err.errno or 0).lower()
    raise WriteError(f"remove {path}: {reason}", path=path) from err
