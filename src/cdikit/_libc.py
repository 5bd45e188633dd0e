"""A few libc calls with their ``errno``, cheap to load: the system calls of the hooks' start path.

The ``cdi-hook`` hooks need a handful of calls Python's :mod:`os` does not
offer (``openat2``, ``mount``, ``umount2``, ``unshare``, ``pivot_root``,
``prctl``, ``chroot``), all taking integers, byte strings and ``NULL``.
:mod:`ctypes` reaches them, but its package (its type zoo, :mod:`struct`,
endianness helpers) costs more to import than a whole ``create-symlinks``
does; the hooks run on every container start. So the calls are bound here
on :mod:`_ctypes`, the C module :mod:`ctypes` is built on, exactly as
``ctypes.CDLL(None, use_errno=True)`` binds them (cdecl, errno saved after
the call), with an ``int`` or ``long`` result as the C prototype says. Where
that module lacks what is used (another Python implementation), :mod:`ctypes`
itself is used instead: same calls, same results.

Arguments: :class:`int` (passed as a C ``int``), :class:`bytes` (a pointer to
its buffer, NUL-terminated), ``None`` (``NULL``) and :func:`c_long` (a C
``long``: wrap every argument of the variadic ``syscall``, and ``unsigned
long`` flags).
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # not typing's: the hooks import this module at container start
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ["c_long", "call", "char_buffer", "check", "get_errno", "library_functions", "syscall"]


class _Library:
    """What ``CFuncPtr((name, library))`` reads: a ``dlopen`` handle."""

    def __init__(self, handle: int) -> None:
        self._handle = handle


class _Binding:
    """The loaded functions (by name) and the two result types."""

    def __init__(self, use_ctypes: bool = False) -> None:
        if use_ctypes:
            self._load_ctypes()
            return
        try:
            import _ctypes

            class c_int(_ctypes._SimpleCData):  # type: ignore[type-arg]
                _type_ = "i"

            class c_long(_ctypes._SimpleCData):  # type: ignore[type-arg]
                _type_ = "l"

            flags = _ctypes.FUNCFLAG_CDECL | _ctypes.FUNCFLAG_USE_ERRNO

            class IntFunction(_ctypes.CFuncPtr):
                _flags_ = flags
                _restype_ = c_int

            class LongFunction(_ctypes.CFuncPtr):
                _flags_ = flags
                _restype_ = c_long

            class c_char(_ctypes._SimpleCData):  # type: ignore[type-arg]
                _type_ = "c"

            def char_array(size: int) -> object:
                array = type("char_array", (_ctypes.Array,), {"_type_": c_char, "_length_": size})
                return array()

            self.library: object = _Library(_ctypes.dlopen(None, os.RTLD_NOW))  # type: ignore[arg-type]  # NULL: the program
            self.open: Callable[[str], object] = lambda path: _Library(
                _ctypes.dlopen(path, os.RTLD_NOW | os.RTLD_LOCAL)
            )
            self.chars: Callable[[int], object] = char_array
            self.long: Callable[[int], object] = c_long
            self.get_errno: Callable[[], int] = _ctypes.get_errno
            self.functions: tuple[type, type] = (IntFunction, LongFunction)
        except (ImportError, AttributeError, TypeError, OSError):
            self._load_ctypes()
        self.cache: dict[tuple[str, bool], Callable[..., int]] = {}

    def _load_ctypes(self) -> None:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)

        class IntFunction(ctypes._CFuncPtr):  # type: ignore[misc,name-defined]
            _flags_ = ctypes._FUNCFLAG_CDECL | ctypes._FUNCFLAG_USE_ERRNO  # type: ignore[attr-defined]
            _restype_ = ctypes.c_int

        class LongFunction(ctypes._CFuncPtr):  # type: ignore[misc,name-defined]
            _flags_ = ctypes._FUNCFLAG_CDECL | ctypes._FUNCFLAG_USE_ERRNO  # type: ignore[attr-defined]
            _restype_ = ctypes.c_long

        self.library = _Library(libc._handle)
        self.open = lambda path: ctypes.CDLL(path, mode=ctypes.RTLD_LOCAL)
        self.chars = ctypes.create_string_buffer
        self.long = ctypes.c_long
        self.get_errno = ctypes.get_errno
        self.functions = (IntFunction, LongFunction)
        self.cache = {}

    def function(self, name: str, returns_long: bool) -> Callable[..., int]:
        fn = self.cache.get((name, returns_long))
        if fn is None:
            fn = self.functions[returns_long]((name, self.library))
            self.cache[(name, returns_long)] = fn
        return fn


_binding: _Binding | None = None


def _loaded() -> _Binding:
    global _binding
    if _binding is None:
        _binding = _Binding()
    return _binding


def c_long(value: int) -> object:
    """``value`` as a C ``long`` argument."""
    return _loaded().long(value)


def get_errno() -> int:
    """The ``errno`` the last call through this module left."""
    return _loaded().get_errno()


def call(name: str, *args: object) -> int:
    """The ``int`` result of libc function ``name`` (``errno`` through :func:`get_errno`)."""
    return _loaded().function(name, False)(*args)


def library_functions(path: str, *names: str) -> tuple[Callable[..., int], ...]:
    """The ``int`` C functions ``names`` of the shared object at ``path``, called as :func:`call`.

    The library is loaded ``RTLD_LOCAL``, as ``ctypes.CDLL(path)`` loads it. ``OSError`` when
    it does not load, ``AttributeError`` when it lacks one of the functions.
    """
    b = _loaded()
    library = b.open(path)
    return tuple(b.functions[0]((name, library)) for name in names)


def char_buffer(size: int) -> Any:
    """A writable ``char[size]``, passed as a pointer; its ``value`` is the bytes before the NUL."""
    return _loaded().chars(size)


def syscall(number: int, *args: object) -> int:
    """The ``long`` result of ``syscall(number, *args)``; wrap each argument with :func:`c_long`."""
    b = _loaded()
    return b.function("syscall", True)(b.long(number), *args)


def check(result: int, what: str) -> int:
    """``result``, or OSError (errno, ``what``) when it is negative (a failed call)."""
    if result < 0:
        err = get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return result
