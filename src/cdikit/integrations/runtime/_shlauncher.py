"""The ``/bin/sh`` front of the ``cdi-runtime`` launcher: runc without Python when nothing needs editing.

A Python interpreter alone costs ~10 ms to start; runc's ``state``, ``kill``,
``delete``, ``start`` ... need nothing from cdikit, and neither does a
``create``/``run`` whose ``config.json`` cannot hold a CDI request. The
launcher is therefore a POSIX shell script (dash starts in well under a
millisecond) that:

1. finds the runtime's subcommand the way :func:`..._argv.parse_command_line`
   does (knowing which global flags of runc and crun take a value);
2. reads the shim's TOML config (``$CDIKIT_RUNTIME_CONFIG`` or
   ``/etc/cdikit/runtime.toml``) only when every line of it has the simple
   ``key = "string"`` / ``key = ["a", "b"]`` shape, and takes ``runtime`` from
   it; it never evaluates anything it reads;
3. for a passthrough subcommand, searches the runtime candidates like
   :func:`..._config.find_runtime` (never itself: ``-ef``) and ``exec``\\ s it
   with the command line unchanged;
4. for ``create``/``run``, looks at the bundle's ``config.json`` bytes with
   ``grep -F`` (an absolute path fixed at install time): when none of the
   request markers that :func:`..._shim.may_request` looks for is there
   (``cdi.k8s.io/``, ``CDI_DEVICES=``, ``NVIDIA_VISIBLE_DEVICES=``,
   ``AMD_VISIBLE_DEVICES=``, ``CUDA_VERSION=``, or a JSON escape ``\\u`` /
   ``\\/`` that could disguise one), runc gets the bundle directly.

Everything uncertain goes to Python (``-I -S``, the fixed import path): an odd
command line (``--``, a help flag, ``--debug``, a flag missing its value,
crun's bare ``--rootless``), a config file with any other shape or with keys
that change what a request looks like or what is logged (annotation
prefixes, env var names, debug level, unknown keys), a bundle path with
``..``, an unreadable ``config.json``, no runtime found, no ``grep``. Python
then does exactly what it always did (and reports errors), so the front only
ever takes a decision Python would take identically.

``config.json`` is written by the engine but its content comes from the
image and the user: the script only ever hands its path to ``grep`` as data.
The engine's environment is the host's (``PATH`` for the runtime search, as
in Python); the shell's own ``IFS`` and globbing are fixed first.
"""

from __future__ import annotations

import os

__all__ = ["REQUEST_MARKERS", "find_grep", "python_code", "sh_launcher_script"]

# What may_request() (with the default config) looks for in config.json, plus JSON escapes.
REQUEST_MARKERS = (
    "\\u",
    "\\/",
    "cdi.k8s.io/",
    "CDI_DEVICES=",
    "NVIDIA_VISIBLE_DEVICES=",
    "AMD_VISIBLE_DEVICES=",
    "CUDA_VERSION=",
)

_GREP_CANDIDATES = ("/usr/bin/grep", "/bin/grep")


def find_grep() -> str | None:
    """An absolute ``grep`` for the launcher's ``create`` check (None: every create goes to Python)."""
    for path in _GREP_CANDIDATES:
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def python_code(path_entries: list[str]) -> str:
    """What the launcher runs with ``python -I -S -c`` (argv: the launcher's own path, then the args)."""
    return (
        "import sys\n"
        "del sys.argv[0]\n"  # '-c': the launcher's path becomes argv[0], as for a script
        f"sys.path.extend({path_entries!r})\n"
        "from cdikit.integrations.runtime import main\n"
        "sys.exit(main())\n"
    )


def _sq(text: str) -> str:
    """``text`` as one single-quoted shell word."""
    return "'" + text.replace("'", "'\\''") + "'"


# The script body; @PYTHON@, @CODE@ and @GREP@ are single-quoted words.
_BODY = r"""
# Everything here runs for every runtime call of the engine: no subprocess on the passthrough path.
# IFS is a plain space except where a loop splits on something else; no globbing.
IFS=' '
set -f
_py=@PYTHON@
_code=@CODE@
_grep=@GREP@

_cdikit_python() {
    exec "$_py" -I -S -c "$_code" "$0" "$@"
}

# Trim spaces around $1 into _t.
_cdikit_trim() {
    _t=$1
    _t=${_t#"${_t%%[! ]*}"}
    _t=${_t%"${_t##*[! ]}"}
}

# One simple TOML string ("..." without quotes, backslashes, '#') into _s; else fail.
_cdikit_string() {
    case $1 in
        \"*\") ;;
        *) return 1 ;;
    esac
    _s=${1#\"}
    _s=${_s%\"}
    case $_s in
        *\"*) return 1 ;;
    esac
}

# A one-line array of simple strings into _list (items ended by '"'), _n items; else fail.
# The shapes _parse_simple accepts: [], ["a"], ["a", "b",] (one trailing comma).
_cdikit_array() {
    case $1 in
        \[*\]) ;;
        *) return 1 ;;
    esac
    _list= _n=0
    _cdikit_trim "${1#\[}"
    _cdikit_trim "${_t%\]}"
    _a=$_t
    [ -n "$_a" ] || return 0
    case $_a in
        *,)
            _cdikit_trim "${_a%,}"
            _a=$_t
            case $_a in
                '' | *,) return 1 ;;
            esac
            ;;
    esac
    IFS=,
    for _i in $_a; do
        IFS=' '
        _cdikit_trim "$_i"
        [ -n "$_t" ] || return 1
        _cdikit_string "$_t" || return 1
        _list=$_list$_s\"
        _n=$((_n + 1))
    done
    IFS=' '
}

# Read the shim's config. Sets _rts (runtime candidates, each ended by '"') and _plain
# (1: nothing in it changes what the create check looks for). Fails: let Python read it.
_cdikit_config() {
    _rts='runc"crun"' _plain=1
    _conf=${CDIKIT_RUNTIME_CONFIG:-/etc/cdikit/runtime.toml}
    if [ ! -e "$_conf" ] && [ ! -L "$_conf" ]; then
        [ -z "$CDIKIT_RUNTIME_CONFIG" ] || return 1
        return 0
    fi
    [ -f "$_conf" ] && [ -r "$_conf" ] || return 1
    _keys=' '
    while IFS= read -r _l || [ -n "$_l" ]; do
        case $_l in
            *[!\ -~]*) return 1 ;;
        esac
        _cdikit_trim "$_l"
        case $_t in
            '' | '#'*) continue ;;
            *=*) ;;
            *) return 1 ;;
        esac
        _cdikit_trim "${_t%%=*}"
        _k=$_t
        _cdikit_trim "${_l#*=}"
        _v=$_t
        case $_k in
            '' | *[!A-Za-z0-9_-]*) return 1 ;;
        esac
        case $_keys in
            *" $_k "*) return 1 ;;
        esac
        _keys="$_keys$_k "
        case $_v in
            *'#'* | *\\* | *\'*) return 1 ;;
        esac
        if _cdikit_string "$_v"; then
            _kind=string
        elif _cdikit_array "$_v"; then
            _kind=array
        else
            return 1
        fi
        case $_k:$_kind in
            runtime:string) _rts=$_s\" ;;
            runtime:array)
                _rts=$_list
                [ "$_n" -gt 0 ] || { _rts='runc"crun"' _plain=; }
                ;;
            spec-dirs:array | default-kind:string | log-file:string) ;;
            log-level:string)
                case $_s in
                    info | warning | error) ;;
                    *) _plain= ;;
                esac
                ;;
            *) _plain= ;;
        esac
    done < "$_conf"
}

# Is $1 the runtime to run (an executable file that is not this launcher)?
_cdikit_try() {
    [ -f "$1" ] && [ -x "$1" ] && ! [ "$1" -ef "$0" ] && _rt=$1
}

# The first runtime candidate found, into _rt; else fail.
_cdikit_runtime() {
    _rt=
    IFS=\"
    for _c in $_rts; do
        case $_c in
            */*)
                IFS=' '
                _cdikit_try "$_c" && return 0
                ;;
            *)
                IFS=:
                for _d in ${PATH:-/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin}; do
                    [ -n "$_d" ] || continue
                    IFS=' '
                    _cdikit_try "${_d%/}/$_c" && return 0
                    IFS=:
                done
                ;;
        esac
        IFS=\"
    done
    IFS=' '
    return 1
}

# The subcommand (_sub), and for create/run the config.json to check (_file).
# Fails on anything Python should see.
_cdikit_command() {
    _sub= _want= _bundle= _config=
    for _arg do
        if [ -n "$_want" ]; then
            case $_want in
                bundle) _bundle=$_arg ;;
                config) _config=$_arg ;;
            esac
            _want=
            continue
        fi
        if [ -z "$_sub" ]; then
            case $_arg in
                -- | --install-launcher*) return 1 ;;
                -?*) ;;
                *)
                    _sub=$_arg
                    case $_sub in
                        create | run) continue ;;
                        *) return 0 ;;
                    esac
                    ;;
            esac
            _f=${_arg#-}
            _f=${_f#-}
            case $_f in
                debug | debug=* | h | help | '?' | usage | h=* | help=* | '?='* | usage=*) return 1 ;;
                rootless) return 1 ;;
                log | log-format | log-level | root | criu | cgroup-manager) _want=skip ;;
            esac
            continue
        fi
        case $_arg in
            --) break ;;
            -?*) ;;
            *) continue ;;
        esac
        _f=${_arg#-}
        _f=${_f#-}
        case $_f in
            h | help | '?' | usage | h=* | help=* | '?='* | usage=*) return 1 ;;
            bundle | b) _want=bundle ;;
            config | f) _want=config ;;
            console-socket | pid-file | preserve-fds) _want=skip ;;
            bundle=* | b=*) _bundle=${_f#*=} ;;
            config=* | f=*) _config=${_f#*=} ;;
        esac
    done
    [ -z "$_want" ] || return 1
    [ -n "$_sub" ] || return 0
    _config=${_config:-config.json}
    case $_config in
        /*) _file=$_config ;;
        *) _file=${_bundle:-.}/$_config ;;
    esac
    case $_file in
        *..*) return 1 ;;
    esac
}

_cdikit_command "$@" || _cdikit_python "$@"
_cdikit_config || _cdikit_python "$@"
case $_sub in
    create | run)
        [ -n "$_plain" ] && [ -n "$_grep" ] && [ -f "$_file" ] && [ -r "$_file" ] || _cdikit_python "$@"
        LC_ALL=C "$_grep" -qaF @MARKERS@ -- "$_file"
        [ $? -eq 1 ] || _cdikit_python "$@"
        ;;
esac
_cdikit_runtime || _cdikit_python "$@"
exec "$_rt" "$@"
"""


def sh_launcher_script(python: str, path_entries: list[str], grep: str | None) -> str:
    """The text of the ``/bin/sh`` launcher (see the module docstring)."""
    markers = " ".join(f"-e {_sq(m)}" for m in REQUEST_MARKERS)
    body = (
        _BODY.replace("@PYTHON@", _sq(python))
        .replace("@CODE@", _sq(python_code(path_entries)))
        .replace("@GREP@", _sq(grep or ""))
        .replace("@MARKERS@", markers)
    )
    return (
        "#!/bin/sh\n"
        "# cdi-runtime launcher, written by `cdi-runtime --install-launcher` (cdikit).\n"
        "# Passthrough commands and requests-free creates exec the runtime directly; the rest runs\n"
        "# the shim with python -I -S (no site, no PYTHON* variables: the import path is fixed here).\n"
        "# Re-install it after moving or upgrading the Python environment."
        f"{body}"
    )
