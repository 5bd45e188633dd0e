"""The shim's configuration: a small TOML file, every key optional.

```toml
# /etc/cdikit/runtime.toml  (or the file named by $CDIKIT_RUNTIME_CONFIG)
runtime = ["runc", "crun"]          # a path, a name searched in PATH, or a list tried in order
spec-dirs = ["/etc/cdi", "/var/run/cdi"]
default-kind = "nvidia.com/gpu"      # kind given to bare NVIDIA_VISIBLE_DEVICES ids
annotation-prefixes = ["cdi.k8s.io/"]
env-var = "CDI_DEVICES"              # "" switches the source off
nvidia-env-var = "NVIDIA_VISIBLE_DEVICES"   # "" switches the source off
amd-env-var = "AMD_VISIBLE_DEVICES"         # ROCm's variable (amd.com/gpu); "" switches it off
log-file = "/var/log/cdi-runtime.log"       # "" (default): no log file
log-level = "info"                   # debug | info | warning | error

# Request policy (docs/security.md, "Request policy"). Annotations are set by whoever
# creates the container (the engine, the kubelet), never by the image: always honoured.
accept-env-requests-when-unprivileged = false  # CDI_DEVICES, NVIDIA_VISIBLE_DEVICES, CUDA_VERSION
accept-volume-mount-requests = false           # /dev/null bound at /var/run/nvidia-container-devices/ID
allowed-kinds = []                   # e.g. ["nvidia.com/gpu", "example.com/*"]; [] = every kind
```

The env of a container is the image's: a request found there is honoured
only for a privileged container (``CAP_SYS_ADMIN`` in the bounding set, the
NVIDIA runtime's rule) unless ``accept-env-requests-when-unprivileged`` says
otherwise. ``allowed-kinds`` applies to every request, whatever its source.

Passthrough subcommands (``state``, ``start``, ``kill``, ...) only need the
real runtime's path, and importing :mod:`tomllib` costs more than the rest of
the shim together, so :func:`read_runtime_setting` reads that one key with a
tiny line reader and falls back to :mod:`tomllib` whenever the file is not
in the simple shape it understands.
"""

from __future__ import annotations

import os

from cdikit._paths import DEFAULT_SPEC_DIRS, RUNTIME_CONFIG_ENV, RUNTIME_CONFIG_PATH
from cdikit.errors import CDIError
from cdikit.integrations.runtime._errors import ConfigError, ShimError

__all__ = [
    "CONFIG_ENV",
    "DEFAULT_CONFIG_PATH",
    "RuntimeConfig",
    "config_path",
    "find_runtime",
    "load_config",
    "read_runtime_setting",
    "validate_kind_pattern",
]

CONFIG_ENV = RUNTIME_CONFIG_ENV
DEFAULT_CONFIG_PATH = RUNTIME_CONFIG_PATH
_DEFAULT_RUNTIMES = ("runc", "crun")
_LEVELS = ("debug", "info", "warning", "error")


def config_path() -> tuple[str, bool]:
    """The config file to read, and whether it was named explicitly (then it must exist)."""
    explicit = os.environ.get(CONFIG_ENV)
    if explicit:
        return explicit, True
    return DEFAULT_CONFIG_PATH, False


class RuntimeConfig:
    """The settings of one shim invocation (defaults when no file exists)."""

    __slots__ = (
        "accept_env_unprivileged",
        "accept_volume_mounts",
        "allowed_kinds",
        "amd_env_var",
        "annotation_prefixes",
        "default_kind",
        "env_var",
        "log_file",
        "log_level",
        "nvidia_env_var",
        "runtimes",
        "source",
        "spec_dirs",
    )

    def __init__(self) -> None:
        self.runtimes: list[str] = list(_DEFAULT_RUNTIMES)
        self.spec_dirs: list[str] = list(DEFAULT_SPEC_DIRS)
        self.default_kind = "nvidia.com/gpu"
        self.annotation_prefixes: list[str] = ["cdi.k8s.io/"]
        self.env_var = "CDI_DEVICES"
        self.nvidia_env_var = "NVIDIA_VISIBLE_DEVICES"
        self.amd_env_var = "AMD_VISIBLE_DEVICES"
        self.log_file = ""
        self.log_level = "info"
        self.source: str | None = None
        # The request policy: secure defaults (the NVIDIA runtime accepts env requests
        # from unprivileged containers by default; cdikit does not).
        self.accept_env_unprivileged = False
        self.accept_volume_mounts = False
        self.allowed_kinds: list[str] = []


def _str_list(path: str, key: str, value: object, *, allow_str: bool) -> list[str]:
    if allow_str and isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    kind = "a string or a list of strings" if allow_str else "a list of strings"
    raise ConfigError(f"{path}: {key!r} must be {kind}", path=path, field=key)


def _str(path: str, key: str, value: object) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{path}: {key!r} must be a string", path=path, field=key)
    return value


def _bool(path: str, key: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{path}: {key!r} must be true or false", path=path, field=key)
    return value


def validate_kind_pattern(pattern: str) -> str | None:
    """Why ``pattern`` is not an ``allowed-kinds`` entry (``vendor/class`` or ``vendor/*``), or None."""
    from cdikit.names import parse_qualifier, validate_class_name, validate_vendor_name

    vendor, cls = parse_qualifier(pattern)
    if not vendor or not cls or "=" in pattern:
        return "want vendor.com/class or vendor.com/*"
    try:
        validate_vendor_name(vendor)
        if cls != "*":
            validate_class_name(cls)
    except CDIError as e:
        return str(e)
    return None


def load_config(path: str | None = None) -> RuntimeConfig:
    """Load the full configuration (``path`` defaults to :func:`config_path`).

    A missing default file means defaults; a missing explicit file, bad TOML,
    an unknown key or a wrongly typed value raise :class:`ConfigError`.
    """
    explicit = path is not None
    if path is None:
        path, explicit = config_path()
    cfg = RuntimeConfig()
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        if explicit:
            raise ConfigError(f"config file {path} does not exist", path=path) from None
        return cfg
    except OSError as e:
        raise ConfigError(f"cannot read config file {path}: {e.strerror}", path=path) from e
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"config file {path} is not valid UTF-8: {e}", path=path) from e
    # tomllib costs more to import than the rest of the shim: only for files that need it.
    simple = _parse_simple(text)
    doc: dict[str, object]
    if simple is not None:
        doc = dict(simple)
    else:
        import tomllib

        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"config file {path} is not valid TOML: {e}", path=path) from e
    cfg.source = path
    for key, value in doc.items():
        if key == "runtime":
            cfg.runtimes = _str_list(path, key, value, allow_str=True)
            if not cfg.runtimes:
                raise ConfigError(f"{path}: 'runtime' must name at least one runtime", path=path, field=key)
        elif key == "spec-dirs":
            cfg.spec_dirs = _str_list(path, key, value, allow_str=False)
        elif key == "annotation-prefixes":
            cfg.annotation_prefixes = _str_list(path, key, value, allow_str=False)
        elif key == "default-kind":
            cfg.default_kind = _str(path, key, value)
        elif key == "env-var":
            cfg.env_var = _str(path, key, value)
        elif key == "nvidia-env-var":
            cfg.nvidia_env_var = _str(path, key, value)
        elif key == "amd-env-var":
            cfg.amd_env_var = _str(path, key, value)
        elif key == "accept-env-requests-when-unprivileged":
            cfg.accept_env_unprivileged = _bool(path, key, value)
        elif key == "accept-volume-mount-requests":
            cfg.accept_volume_mounts = _bool(path, key, value)
        elif key == "allowed-kinds":
            cfg.allowed_kinds = _str_list(path, key, value, allow_str=False)
            for pattern in cfg.allowed_kinds:
                why = validate_kind_pattern(pattern)
                if why is not None:
                    raise ConfigError(
                        f"{path}: 'allowed-kinds' entry {pattern!r} is not a kind: {why}",
                        path=path,
                        field=key,
                    )
        elif key == "log-file":
            cfg.log_file = _str(path, key, value)
        elif key == "log-level":
            level = _str(path, key, value).lower()
            if level not in _LEVELS:
                raise ConfigError(
                    f"{path}: 'log-level' must be one of {', '.join(_LEVELS)}, not {value!r}",
                    path=path,
                    field=key,
                )
            cfg.log_level = level
        else:
            # A typo'd key silently ignored would leave devices uninjected: refuse it.
            raise ConfigError(f"{path}: unknown key {key!r}", path=path, field=key)
    return cfg


def _simple_string(text: str) -> str | None:
    """The value of a one-line TOML string without escapes, else None."""
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'" and text[0] not in text[1:-1]:
        if text[0] == '"' and "\\" in text:
            return None
        return text[1:-1]
    return None


def _parse_simple(raw: str) -> dict[str, str | list[str] | bool] | None:
    """The keys of a config file made only of ``key = "string"``, ``true``/``false`` and one-line string arrays.

    Returns None for anything else (tables, multi-line values, escapes,
    numbers, ...): :mod:`tomllib` then reads the file and gives the precise
    error where there is one.
    """
    found: dict[str, str | list[str] | bool] = {}
    for line in raw.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("[") or '"""' in stripped or "'''" in stripped:
            return None
        key, sep, rest = stripped.partition("=")
        key = key.strip()
        if not sep or not key or key[0] in "\"'" or not key.replace("-", "").replace("_", "").isalnum():
            return None
        if key in found:
            return None  # a duplicate key is a TOML error: let tomllib report it
        value = rest.strip()
        if "#" in value:
            value, _, _ = value.partition("#")
            value = value.strip()
            if value.count('"') % 2 or value.count("'") % 2:
                return None  # the '#' was inside a string
        if value.startswith("["):
            if not value.endswith("]"):
                return None
            items = [item.strip() for item in value[1:-1].split(",")]
            if items and not items[-1]:
                items.pop()  # a trailing comma
            parsed = [_simple_string(item) for item in items]
            strings = [p for p in parsed if p is not None]
            if len(strings) != len(parsed):
                return None
            found[key] = strings
        elif value in ("true", "false"):
            found[key] = value == "true"
        else:
            single = _simple_string(value)
            if single is None:
                return None
            found[key] = single
    return found


def _parse_simple_runtime(raw: str) -> list[str] | None:
    """``runtime`` of a simple file (``[]`` when absent); None = use tomllib."""
    simple = _parse_simple(raw)
    if simple is None:
        return None
    value = simple.get("runtime", [])
    if isinstance(value, bool):
        return None  # a wrong type: load_config reports it
    return [value] if isinstance(value, str) else value


def read_runtime_setting() -> list[str]:
    """The configured runtime candidates, read as cheaply as possible."""
    path, explicit = config_path()
    try:
        with open(path, encoding="utf-8") as f:
            raw = f.read()
    except FileNotFoundError:
        if explicit:
            raise ConfigError(f"config file {path} does not exist", path=path) from None
        return list(_DEFAULT_RUNTIMES)
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read config file {path}: {e}", path=path) from e
    simple = _parse_simple_runtime(raw)
    if simple is None:
        return load_config(path).runtimes
    return simple or list(_DEFAULT_RUNTIMES)


def _is_executable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def find_runtime(candidates: list[str], *, self_path: str | None = None) -> str:
    """The first candidate that is an executable file (bare names searched in PATH).

    ``self_path`` (the shim's own executable) is never chosen: configuring the
    shim as its own runtime would exec it forever.
    """
    own = os.path.realpath(self_path) if self_path else None
    search = os.environ.get("PATH") or "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    for name in candidates:
        options = [name] if "/" in name else [os.path.join(d, name) for d in search.split(os.pathsep) if d]
        for option in options:
            if _is_executable(option) and (own is None or os.path.realpath(option) != own):
                return option
    raise ShimError(f"no OCI runtime found: tried {', '.join(candidates)}")
