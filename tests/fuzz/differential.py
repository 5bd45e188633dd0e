"""Differential fuzzing of cdikit against the Go reference library (issue 13).

Seeded, edge-biased spec files (``validate``) and inject setups (``inject``) from
``tests/fuzz/_specgen.py`` are staged as golden cases (FORMAT.md layout), run through the
reference oracle (a local build over ``tags.cncf.io/container-device-interface`` v1.1.0,
batched: one process answers many cases) and through cdikit in-process by the conformance
runner's own handlers (``tests/conformance/handlers``), so a case is judged exactly as a
golden case is, deliberate differences (``handlers/_policy.py``) included. Every
disagreement is classified (crash, hang, verdict, value, error text), minimized by delta
debugging (whole files, devices, lines, bytes) and written as a golden case.

    python -m tests.fuzz.differential --specs 100000 --inject 20000 --seed 1 --out /tmp/diff

The oracle is found through ``--oracle``, ``$CDIKIT_ORACLE`` or
``/opt/cdi-oracle/bin/cdi-oracle``; it must answer ``ORACLE <command> args.json`` like
``shared/oracle/check.py`` expects and ``ORACLE batch`` with one JSON request per line
(``{"cwd", "command", "args"}``) and one JSON reply per line (``{"result": ...}`` or
``{"fatal": ...}``). See docs/fuzzing.md.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import importlib
import json
import os
import random
import re
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from tests.conformance._case import REGRESSIONS_ROOT, Case, apply_setup
from tests.fuzz._specgen import gen_inject, gen_name, gen_spec

DEFAULT_ORACLE = "/opt/cdi-oracle/bin/cdi-oracle"
GROUPS = {"validate": "validate-diff", "inject": "inject-diff", "parse": "parse-diff"}


def find_oracle(explicit: str | None = None) -> str | None:
    """The oracle binary to use, or None when there is none on this machine."""
    for candidate in (explicit, os.environ.get("CDIKIT_ORACLE"), DEFAULT_ORACLE):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


# --------------------------------------------------------------------------- cases


@dataclass
class FuzzCase:
    """A generated case before staging: args.json content and the files beside it."""

    command: str
    index: int
    args: dict[str, Any]
    files: dict[str, bytes]
    edges: list[str] = field(default_factory=list)

    def with_files(self, files: dict[str, bytes], **args: Any) -> FuzzCase:
        return FuzzCase(self.command, self.index, {**self.args, **args}, files, self.edges)


def make_case(command: str, seed: int, index: int) -> FuzzCase:
    """Case ``index`` of run ``seed``: the same pair always gives the same case."""
    rng = random.Random(f"{seed}:{command}:{index}")
    description = f"differential fuzz (tests/fuzz/differential.py), seed {seed}, {command} case {index}"
    if command == "validate":
        data, name, edges = gen_spec(rng)
        args = {
            "command": "validate",
            "description": description,
            "file": name,
            "priority": rng.choice([0, 0, 1, 7]),
        }
        return FuzzCase(command, index, args, {name: data}, edges)
    if command == "parse":
        text, edges = gen_name(rng)
        return FuzzCase(
            command, index, {"command": "parse", "description": description, "inputs": [text]}, {}, edges
        )
    iargs, files, edges = gen_inject(rng)
    return FuzzCase(command, index, {"command": "inject", "description": description, **iargs}, files, edges)


def stage(case: FuzzCase, where: Path) -> None:
    where.mkdir(parents=True)
    (where / "args.json").write_text(json.dumps(case.args, indent=1, ensure_ascii=False) + "\n")
    for rel, data in case.files.items():
        path = where / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    apply_setup(where, case.args.get("setup"))


# --------------------------------------------------------------------------- the oracle


class Oracle:
    """One long-lived ``ORACLE batch`` process; restarted after a hang or a crash."""

    def __init__(self, path: str, timeout: float = 20.0) -> None:
        self.path = path
        self.timeout = timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self.buf = b""
        self.restarts = 0

    def _start(self) -> subprocess.Popen[bytes]:
        if self.proc is None or self.proc.poll() is not None:
            self.proc = subprocess.Popen(
                [self.path, "batch"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
            )
            self.buf = b""
        return self.proc

    def close(self) -> None:
        if self.proc is not None:
            with contextlib.suppress(OSError):
                self.proc.kill()
            self.proc.wait()
            self.proc = None

    def run(self, cwd: Path, command: str) -> dict[str, Any] | None:
        """The oracle's result for the case staged in ``cwd``; None when it hung or died."""
        proc = self._start()
        assert proc.stdin is not None and proc.stdout is not None
        line = json.dumps({"cwd": str(cwd), "command": command, "args": "args.json"}) + "\n"
        try:
            proc.stdin.write(line.encode())
            proc.stdin.flush()
        except OSError:
            self.close()
            self.restarts += 1
            return None
        fd = proc.stdout.fileno()
        deadline = time.monotonic() + self.timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            ready = select.select([fd], [], [], max(left, 0))[0] if left > 0 else []
            chunk = os.read(fd, 1 << 20) if ready else b""
            if not chunk:
                self.close()
                self.restarts += 1
                return None
            self.buf += chunk
        reply, _, self.buf = self.buf.partition(b"\n")
        out: dict[str, Any] = json.loads(reply)
        return out


# --------------------------------------------------------------------------- cdikit side


class Hang(Exception):
    pass


@contextlib.contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    def _raise(signum: int, frame: FrameType | None) -> None:
        raise Hang(f"no result within {seconds} s")

    old = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@dataclass
class Verdict:
    """How cdikit fared on one case against the oracle's expected.json."""

    kind: str  # agree | crash | hang | verdict | value | error-text | skipped | oracle-failure
    detail: str = ""  # class detail (labels, exception type, direction)
    message: str = ""  # the full comparison failure or traceback

    @property
    def signature(self) -> tuple[str, str]:
        return (self.kind, self.detail)


_LABEL = re.compile(r"^(\S[^:\n]*):(.*)$")
_VERDICT_LABELS = {"parse.ok", "parse.null", "readSpec.ok", "readSpec", "refreshFailed"}
_ERROR_LABELS = {
    "parse.error",
    "readSpec.error",
    "parse.validateVersion",
    "parse.generateNameForSpec.error",
    "error",
}


def _problems(message: str) -> list[tuple[str, list[str]]]:
    """(label, detail lines) of each problem in a handler's AssertionError message."""
    out: list[tuple[str, list[str]]] = []
    for line in message.splitlines()[1:]:
        m = _LABEL.match(line)
        if m and not line.startswith(" "):
            out.append((m.group(1), [m.group(2).strip()] if m.group(2).strip() else []))
        elif out:
            out[-1][1].append(line.strip())
    return out


def _sides(lines: list[str]) -> tuple[Any, Any] | None:
    """The (expected, actual) values of one problem: error reprs or JSON documents."""
    vals: list[Any] = []
    for line in lines:
        for prefix, parse in (
            ("expected error", ast.literal_eval),
            ("actual error", ast.literal_eval),
            ("expected ", json.loads),
            ("actual ", json.loads),
        ):
            if line.startswith(prefix):
                with contextlib.suppress(ValueError, SyntaxError):
                    vals.append(parse(line[len(prefix) :].strip()))
                break
    return (vals[0], vals[1]) if len(vals) == 2 else None


def norm_error(text: str | None) -> str:
    """An error message with paths, quoted parts, positions and numbers blanked: its kind."""
    if text is None:
        return "no error"
    s = re.sub(r'^failed to (parse|read|load) CDI Spec ("[^"]*")?:? ?', "", text)
    s = re.sub(r'failed to (parse|read|load) CDI Spec "[^"]*"', r"failed to \1 CDI Spec P", s)
    s = re.sub(
        r"failed to unmarshal CDI Spec: (error converting YAML to JSON: |error unmarshaling JSON: )?", "", s
    )
    s = re.sub(r"line \d+(, column \d+)?", "line N", s)
    s = re.sub(r'"(?:[^"\\]|\\.)*"|`[^`]*`|\'[^\']*\'', "Q", s)
    s = re.sub(r"\d+", "N", s)
    return " ".join(s.split())[:90]


def _first_diff(a: Any, b: Any, path: str = "") -> tuple[str, Any, Any]:
    """Where two JSON documents first differ (list indices blanked) and the two values there."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if a.get(k, "<absent>") != b.get(k, "<absent>"):
                return _first_diff(a.get(k, "<absent>"), b.get(k, "<absent>"), f"{path}.{k}" if path else k)
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for x, y in zip(a, b, strict=True):
            if x != y:
                return _first_diff(x, y, path + "[]")
    return path, a, b


def shape(value: Any) -> str:
    """A value's shape for grouping: letters and digits blanked in strings, else its type."""
    if isinstance(value, str):
        if value == "<absent>":
            return "absent"
        return repr(re.sub(r"\d+", "N", re.sub(r"[A-Za-z]+", "a", value))[:24])
    if isinstance(value, (dict, list)):
        return f"{type(value).__name__}[{len(value)}]"
    return type(value).__name__ if value is not None else "null"


def _stage(err: str | None) -> str:
    if err is None:
        return "none"
    return "parse" if ("failed to parse" in err or "failed to unmarshal" in err) else "validate"


def classify(command: str, expected: dict[str, Any], message: str) -> Verdict:
    """Kind and detail of a handler's failure: verdict > value > error text."""
    problems = _problems(message)
    verdict: list[str] = []
    value: list[str] = []
    text: list[str] = []
    first_error: dict[str, tuple[str, bool]] = {}  # the first error label whose presence differs
    for label, lines in problems:
        base = label.split(" (")[0]
        sides = _sides(lines)
        if base in _VERDICT_LABELS or base.startswith("rule 1"):
            verdict.append(base)
        elif base in _ERROR_LABELS or base.endswith(".error"):
            if sides is not None and (sides[0] is None) != (sides[1] is None):
                go, ours = sides
                verdict.append(f"{base}: Go {norm_error(go)} / cdikit {norm_error(ours)}")
                first_error.setdefault("pair", (base, go is None))
            else:
                text.append(
                    f"{base}: Go {norm_error(sides[0] if sides else None)} / cdikit {norm_error(sides[1] if sides else None)}"
                )
        elif base == "cacheErrors" and sides is not None:
            if sorted(sides[0]) != sorted(sides[1]):
                verdict.append("cacheErrors: files differ")
            else:
                go_errs, our_errs = sides
                counts = [k for k in go_errs if len(go_errs[k]) != len(our_errs[k])]
                pairs = [
                    (x, y) for k in go_errs for x, y in zip(go_errs[k], our_errs[k], strict=False) if x != y
                ]
                staged = [(x, y) for x, y in pairs if _stage(x) != _stage(y)]
                if staged:  # one side fails parsing, the other validation
                    go, ours = staged[0]
                    verdict.append(
                        f"cacheErrors: Go {_stage(go)} error {norm_error(go)} / cdikit {_stage(ours)} error"
                    )
                elif counts:
                    value.append("cacheErrors: number of errors for one file")
                else:
                    go, ours = pairs[0] if pairs else (None, None)
                    text.append(f"cacheErrors: Go {norm_error(go)} / cdikit {norm_error(ours)}")
        elif sides is not None and base in ("parse.raw", "oci"):
            _, go_value, our_value = _first_diff(sides[0], sides[1])
            value.append(f"{base}: Go {shape(go_value)} / cdikit {shape(our_value)}")
        else:
            value.append(base)
    if verdict:
        if command == "validate":
            if "pair" in first_error:
                stage_, go_ok = first_error["pair"]
            else:
                stage_ = "parse" if any(v.startswith("parse.") for v in verdict) else "readSpec"
                go_ok = bool(expected.get(stage_, {}).get("ok"))
            direction = "Go accepts, cdikit rejects" if go_ok else "Go rejects, cdikit accepts"
            errors = [v.split(": ", 1)[1] for v in verdict if ": " in v]
            return Verdict("verdict", f"{direction} ({stage_}): {errors[0] if errors else ''}", message)
        return Verdict("verdict", "; ".join(sorted(set(verdict)))[:200], message)
    if value:
        return Verdict("value", "; ".join(sorted(set(value)))[:200], message)
    if text:
        return Verdict("error-text", sorted(set(text))[0][:200], message)
    return Verdict("value", "unlabelled", message)


#: Panics of the reference that the conformance policy covers (one-letter vendor/class names).
_NAME_PANIC = "slice bounds out of range"
#: Kinds that are not a disagreement.
PASSING = ("agree", "skipped", "reference-panic")


def reference_panic(command: str, expected: dict[str, Any]) -> str | None:
    """A panic of the reference outside the name validators (e.g. a nil pointer).

    The reference has no defined result there (a consumer process dies); cdikit must reject
    the input without crashing. The handlers judge these by their policy (rule 5, nil
    entries); where a handler cannot read such a result, ``_judge_panic`` decides.
    """
    if command == "validate":
        msg = expected["parse"].get("panic") or expected["readSpec"].get("panic")
    else:
        msg = expected.get("cachePanic") or expected.get("panic")
    return msg if msg and _NAME_PANIC not in msg else None


def _judge_panic(case: FuzzCase, panic: str, timeout: float) -> Verdict:
    """Where the reference panics: cdikit must report the input as an error, not accept it."""
    from cdikit.errors import CDIError, RegistryError
    from cdikit.registry import Registry
    from cdikit.specfile import read_spec

    with _deadline(timeout):
        if case.command == "validate":
            try:
                read_spec(case.args["file"], case.args.get("priority", 0))
            except CDIError:
                return Verdict("reference-panic", f"Go panics ({panic}); cdikit rejects")
            return Verdict("verdict", f"Go panics ({panic}); cdikit accepts")
        registry = Registry(case.args["specDirs"], auto_refresh=False)
        with contextlib.suppress(RegistryError):
            registry.refresh()
        if registry.get_errors():
            return Verdict("reference-panic", f"Go panics ({panic}); cdikit reports the file")
        return Verdict("verdict", f"Go panics ({panic}); cdikit reports no error")


def run_cdikit(case: FuzzCase, where: Path, expected: dict[str, Any], timeout: float) -> Verdict:
    """Judge cdikit on the staged case exactly as the conformance runner judges a golden case."""
    handler = importlib.import_module(f"tests.conformance.handlers.{case.command}")
    panic = reference_panic(case.command, expected)
    golden = Case(source=where, args=case.args, expected=expected, scratch=where)
    here = os.getcwd()
    os.chdir(where)
    try:
        with _deadline(timeout):
            handler.check(golden)
    except Hang as err:
        return Verdict("hang", "timeout", str(err))
    except AssertionError as err:
        text = str(err)
        if text.startswith(golden.name + ":"):
            return classify(case.command, expected, text)
        return Verdict("crash", "AssertionError", traceback.format_exc())
    except pytest.skip.Exception as err:
        return Verdict("skipped", str(err))
    except (Exception, RecursionError) as err:  # anything else is a crash of cdikit
        frames = [f for f in traceback.extract_tb(err.__traceback__) if "/cdikit/" in f.filename]
        if panic is not None and not frames:
            # the handler could not read a result the corpus never has (the reference panicked
            # where its policy does not expect it): judge by the panic rule alone
            return _judge_panic(case, panic, timeout)
        where_ = f" at {Path(frames[-1].filename).name}:{frames[-1].name}" if frames else ""
        return Verdict(
            "crash", f"{type(err).__name__}: {norm_error(str(err))[:60]}{where_}", traceback.format_exc()
        )
    finally:
        os.chdir(here)
    return Verdict("agree")


# --------------------------------------------------------------------------- one evaluation


class Judge:
    """Stages a case, asks the oracle, judges cdikit. Scratch space lives under ``tmp``."""

    def __init__(self, oracle: Oracle, tmp: Path, timeout: float) -> None:
        self.oracle = oracle
        self.tmp = tmp
        self.timeout = timeout
        self.n = 0

    def scratch(self) -> Path:
        self.n += 1
        return self.tmp / f"c{self.n}"

    def oracle_result(self, case: FuzzCase, where: Path) -> dict[str, Any] | None:
        reply = self.oracle.run(where, case.command)
        if reply is None or "result" not in reply:
            return None
        result: dict[str, Any] = reply["result"]
        return result

    def reference_is_stable(self, case: FuzzCase, expected: dict[str, Any], runs: int = 6) -> bool:
        """Whether the reference gives ``expected`` every time (Go map order can decide, e.g.
        which of the keys ``1`` and ``"1"`` wins): such cases cannot become golden cases."""
        for _ in range(runs):
            where = self.scratch()
            try:
                stage(case, where)
                if self.oracle_result(case, where) != expected:
                    return False
            finally:
                shutil.rmtree(where, ignore_errors=True)
        return True

    def judge(self, case: FuzzCase) -> tuple[Verdict, dict[str, Any] | None]:
        where = self.scratch()
        try:
            stage(case, where)
            expected = self.oracle_result(case, where)
            if expected is None:
                return Verdict("oracle-failure", "no result"), None
            # validate and inject only read the staged files: cdikit judges the same staging
            return run_cdikit(case, where, expected, self.timeout), expected
        finally:
            shutil.rmtree(where, ignore_errors=True)


# --------------------------------------------------------------------------- minimization


def ddmin(items: list[Any], test: Callable[[list[Any]], bool], budget: list[int]) -> list[Any]:
    """Zeller's delta debugging: a 1-minimal sublist of ``items`` for which ``test`` holds."""
    n = 2
    while len(items) >= 2 and budget[0] > 0:
        chunk = max(len(items) // n, 1)
        subsets = [items[i : i + chunk] for i in range(0, len(items), chunk)]
        reduced = False
        for i in range(len(subsets)):
            if budget[0] <= 0:
                break
            complement = [x for j, s in enumerate(subsets) if j != i for x in s]
            budget[0] -= 1
            if complement and test(complement):
                items, n, reduced = complement, max(n - 1, 2), True
                break
        if not reduced:
            if n >= len(items):
                break
            n = min(n * 2, len(items))
    if len(items) == 1 and budget[0] > 0:
        budget[0] -= 1
        if test([]):
            return []
    return items


def minimize(judge: Judge, case: FuzzCase, target: Verdict, budget_calls: int = 400) -> FuzzCase:
    """The smallest variant of ``case`` that still gives the same kind and detail of verdict."""
    budget = [budget_calls]

    def same(candidate: FuzzCase) -> bool:
        verdict, _ = judge.judge(candidate)
        return verdict.signature == target.signature

    best = case
    if case.command == "parse":
        chars = ddmin(
            list(case.args["inputs"][0]), lambda cs: same(best.with_files({}, inputs=["".join(cs)])), budget
        )
        return best.with_files({}, inputs=["".join(chars)])
    if case.command == "inject":
        spec_files = [p for p in best.files if p != "oci.json"]
        keep = ddmin(
            spec_files,
            lambda ks: same(
                best.with_files({p: d for p, d in best.files.items() if p not in spec_files or p in ks})
            ),
            budget,
        )
        best = best.with_files({p: d for p, d in best.files.items() if p not in spec_files or p in keep})
        devices = list(best.args["devices"])
        if devices:
            devices = ddmin(devices, lambda ds: same(best.with_files(best.files, devices=ds)), budget)
            best = best.with_files(best.files, devices=devices)
        targets = [p for p in best.files if p != "oci.json"]
    else:
        targets = [best.args["file"]]
    for path in targets:
        for split in ("lines", "bytes"):
            data = best.files[path]
            if split == "bytes" and len(data) > 3000:
                continue
            parts: list[bytes] = (
                data.splitlines(keepends=True) if split == "lines" else [bytes([b]) for b in data]
            )

            def rebuild(ps: list[bytes], path: str = path, base: FuzzCase = best) -> FuzzCase:
                return base.with_files({**base.files, path: b"".join(ps)})

            parts = ddmin(parts, lambda ps: same(rebuild(ps)), budget)
            best = rebuild(parts)
    if case.command == "inject" and "oci.json" in best.files:
        oci = json.loads(best.files["oci.json"])
        for key in list(oci):
            if budget[0] <= 0:
                break
            trial = {k: v for k, v in oci.items() if k != key}
            budget[0] -= 1
            cand = best.with_files({**best.files, "oci.json": json.dumps(trial, indent=1).encode()})
            if same(cand):
                oci, best = trial, cand
    return best


# --------------------------------------------------------------------------- features of a finding


_FEATURES: list[tuple[str, Callable[[bytes], bool]]] = [
    ("utf16/32", lambda d: d[:2] in (b"\xff\xfe", b"\xfe\xff") or (b"\x00" in d and len(d) > 4)),
    ("bom", lambda d: d.startswith(b"\xef\xbb\xbf")),
    ("stray-feff", lambda d: b"\xef\xbb\xbf" in d[3:]),
    ("directive", lambda d: re.search(rb"(^|\n)%", d) is not None),
    ("tag:binary", lambda d: b"!!binary" in d),
    ("tag:timestamp", lambda d: b"!!timestamp" in d),
    ("tag:null", lambda d: b"!!null" in d),
    ("tag", lambda d: re.search(rb"(^|[\s\[{,:])!", d) is not None),
    ("merge-key", lambda d: b"<<" in d),
    ("anchor-alias", lambda d: re.search(rb"(^|[\s\[{,:])[&*][^\s,\]}]", d) is not None),
    ("complex-key", lambda d: re.search(rb"(^|[\s\[{,])\?( |$)", d) is not None),
    ("huge-int", lambda d: re.search(rb"\d{300}", d) is not None),
    ("escape", lambda d: re.search(rb"\\[^n\"\\]", d) is not None),
    ("non-ascii", lambda d: not d.isascii()),
    (
        "float",
        lambda d: (
            re.search(
                rb"(?<![\w.])[-+]?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)(?![\w.])|(?<![\w.])-?\d+\.\d+(?![\w.])",
                d,
            )
            is not None
        ),
    ),
    ("int-edge", lambda d: re.search(rb"(?<![\w.])(0[xXoObB]|0\d|[-+]\d|\d{10,})", d) is not None),
    ("yaml11-scalar", lambda d: re.search(rb"(?i)(?<![\w.])(yes|no|on|off|y|n|~)(?![\w.])", d) is not None),
    ("duplicate-or-case-key", lambda d: _dup_keys(d)),
    ("tab/cr", lambda d: b"\t" in d or b"\r" in d),
]


def _dup_keys(data: bytes) -> bool:
    keys = [k.lower() for k in re.findall(rb"[\"']?([A-Za-z]\w*)[\"']?\s*:", data)]
    return len(keys) != len(set(keys))


def features(case: FuzzCase) -> list[str]:
    if case.command == "parse":
        text = case.args["inputs"][0]
        return [
            f
            for f, hit in (("non-ascii", not text.isascii()), ("one-letter", len(text.split("/")[0]) == 1))
            if hit
        ] or ["plain"]
    data = b"".join(d for p, d in case.files.items() if p != "oci.json")
    return [name for name, test in _FEATURES if test(data)] or ["plain"]


# --------------------------------------------------------------------------- recording


_HOST_TYPES = {
    stat.S_IFCHR: "c",
    stat.S_IFBLK: "b",
    stat.S_IFIFO: "p",
    stat.S_IFDIR: "dir",
    stat.S_IFLNK: "symlink",
}


def host_facts(case: FuzzCase) -> list[dict[str, Any]]:
    """FORMAT.md's ``hostDevices`` for every host path the case's spec files mention."""
    text = b"".join(d for p, d in case.files.items() if p != "oci.json").decode("utf-8", "replace")
    facts = []
    for path in sorted(set(re.findall(r"/dev/[\w.+-]+", text))):
        fact: dict[str, Any] = {"path": path}
        try:
            st = os.lstat(path)
        except OSError:
            fact["exists"] = False
            facts.append(fact)
            continue
        fact["exists"] = True
        fact["type"] = _HOST_TYPES.get(stat.S_IFMT(st.st_mode), "other")
        if fact["type"] in ("c", "b"):
            fact["major"], fact["minor"] = os.major(st.st_rdev), os.minor(st.st_rdev)
        fact["fileMode"] = stat.S_IMODE(st.st_mode)
        facts.append(fact)
    return facts


def write_golden(case: FuzzCase, expected: dict[str, Any], where: Path, note: str) -> None:
    """``where`` becomes a golden case: args.json, expected.json (from the oracle), the files."""
    if where.exists():
        shutil.rmtree(where)
    args = {**case.args, "description": f"{case.args['description']}; minimized; {note}"}
    if case.command == "inject":
        args["hostDevices"] = host_facts(case)
    stage(
        FuzzCase(case.command, case.index, {k: v for k, v in args.items() if k != "setup"}, case.files), where
    )
    if case.args.get("setup"):
        args["setup"] = case.args["setup"]
    (where / "args.json").write_text(json.dumps(args, indent=1, ensure_ascii=False) + "\n")
    (where / "expected.json").write_text(json.dumps(expected, indent=1, ensure_ascii=False) + "\n")


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40]


# --------------------------------------------------------------------------- the run


@dataclass
class Report:
    seed: int
    counts: Counter[str] = field(default_factory=Counter)
    classes: dict[str, dict[str, Any]] = field(default_factory=dict)
    started: float = field(default_factory=time.time)
    oracle_restarts: int = 0
    #: "command:index" -> "kind: detail" for every case that did not agree
    failing: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "counts": dict(self.counts),
            "seconds": round(time.time() - self.started, 1),
            "oracleRestarts": self.oracle_restarts,
            "classes": self.classes,
            "unjudged": {
                k: v for k, v in self.failing.items() if v.startswith(("oracle-failure", "hang", "crash"))
            },
        }


def run(
    oracle_path: str,
    *,
    specs: int,
    inject: int,
    names: int = 0,
    seed: int,
    out: Path | None,
    minimize_cases: bool = True,
    per_class: int = 2,
    max_recorded: int = 200,
    timeout: float = 20.0,
    progress: Callable[[str], None] | None = None,
    start: int = 0,
) -> Report:
    """Fuzz ``specs`` validate and ``inject`` inject cases; record minimized disagreements under ``out``."""
    report = Report(seed)
    oracle = Oracle(oracle_path, timeout)
    recorded = 0
    tmp = Path(tempfile.mkdtemp(prefix="cdikit-diff-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None))
    judge = Judge(oracle, tmp, timeout)
    # The registry's cross-process parse cache stays private to this run (as in the test suite).
    os.environ["CDIKIT_CACHE_DIR"] = str(tmp / "parse-cache")
    sizes = {"validate": specs, "inject": inject, "parse": names}
    plan = [(command, i) for command, n in sizes.items() for i in range(start, start + n)]
    # interleave the streams so a partial run covers them all
    plan.sort(key=lambda ci: (ci[1] - start) / max(sizes[ci[0]], 1))
    last = time.monotonic()
    try:
        for done, (command, index) in enumerate(plan, 1):
            case = make_case(command, seed, index)
            verdict, expected = judge.judge(case)
            report.counts[f"{command}:total"] += 1
            report.counts[f"{command}:{verdict.kind}"] += 1
            if expected is not None and (
                expected.get("readSpec", {}).get("ok")
                or (command == "inject" and expected.get("error") is None)
            ):
                report.counts[f"{command}:reference-accepts"] += 1
            if verdict.kind not in ("agree", "skipped"):
                if verdict.kind not in PASSING:
                    report.failing[f"{command}:{index}"] = f"{verdict.kind}: {verdict.detail}"
                key = f"{command} | {verdict.kind} | {verdict.detail}"
                entry = report.classes.setdefault(
                    key,
                    {
                        "command": command,
                        "kind": verdict.kind,
                        "detail": verdict.detail,
                        "count": 0,
                        "features": Counter(),
                        "examples": [],
                    },
                )
                entry["count"] += 1
                entry["features"].update(features(case))
                if len(entry["examples"]) < per_class and recorded < max_recorded and out is not None:
                    small = case
                    if minimize_cases and expected is not None and verdict.kind != "hang":
                        small = minimize(judge, case, verdict)
                    final, small_expected = judge.judge(small)
                    if small_expected is not None:
                        recorded += 1
                        feats = features(small)
                        name = f"s{seed}-{command[0]}{index:06d}-{verdict.kind}-{slug(feats[0])}"
                        stable = judge.reference_is_stable(small, small_expected)
                        where = out / (GROUPS[command] if stable else "reference-unstable") / name
                        write_golden(small, small_expected, where, f"{verdict.kind}: {verdict.detail}")
                        entry["examples"].append(
                            {
                                "case": str(where),
                                "features": feats,
                                "referenceStable": stable,
                                "edges": case.edges,
                                "verdictAfterMinimizing": [final.kind, final.detail],
                                "message": final.message[-3000:],
                                "files": {
                                    p: d.decode("utf-8", "backslashreplace")[:2000]
                                    for p, d in small.files.items()
                                    if p != "oci.json"
                                },
                            }
                        )
            if progress and (time.monotonic() - last > 30 or done == len(plan)):
                last = time.monotonic()
                progress(
                    f"{done}/{len(plan)} {dict(sorted(report.counts.items()))} classes={len(report.classes)}"
                )
                if out is not None:
                    report.oracle_restarts = oracle.restarts
                    _save(report, out)
    finally:
        oracle.close()
        shutil.rmtree(tmp, ignore_errors=True)
    report.oracle_restarts = oracle.restarts
    if out is not None:
        _save(report, out)
    return report


def _save(report: Report, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(report.as_json(), indent=1, ensure_ascii=False) + "\n")
    lines = [f"# Differential fuzzing, seed {report.seed}", "", "| count | key |", "|---|---|"]
    lines += [f"| {k}: {v} |  |" for k, v in sorted(report.counts.items())]
    lines += ["", "| command | kind | detail | cases | example (minimized) |", "|---|---|---|---|---|"]
    for entry in sorted(report.classes.values(), key=lambda e: -e["count"]):
        example = entry["examples"][0]["case"] if entry["examples"] else ""
        detail = entry["detail"].replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {entry['command']} | {entry['kind']} | {detail} | {entry['count']} | {example} |")
    lines += ["", "## One minimized example per class", ""]
    for entry in sorted(report.classes.values(), key=lambda e: -e["count"]):
        if not entry["examples"]:
            continue
        example = entry["examples"][0]
        lines += [f"### {entry['command']} / {entry['kind']}: {entry['detail']} ({entry['count']} cases)", ""]
        lines += [f"`{example['case']}` (features: {', '.join(example['features'])})", ""]
        for name, text in example["files"].items():
            shown = text if len(text) <= 600 else text[:600] + " ..."
            lines += [f"`{name}`:", "", "```", shown.replace("```", "` ` `"), "```", ""]
        message = example["message"].splitlines()[1:16]
        lines += ["```", *message, "```", ""]
    (out / "report.md").write_text("\n".join(lines) + "\n")


_KNOWN_HEADER = [
    "# Regression cases (group/case) cdikit still fails, with the fuzzer's class: strict xfails in the",
    "# conformance runner. Rewritten by: python -m tests.fuzz.differential --rejudge",
]


def judge_recorded(case_dir: Path) -> Verdict:
    """cdikit's verdict on one recorded golden case (staged in a scratch copy)."""
    args = json.loads((case_dir / "args.json").read_text())
    expected = json.loads((case_dir / "expected.json").read_text())
    files = {
        str(p.relative_to(case_dir)): p.read_bytes()
        for p in case_dir.rglob("*")
        if p.is_file() and str(p.relative_to(case_dir)) not in ("args.json", "expected.json")
    }
    case = FuzzCase(args["command"], 0, args, files)
    tmp = Path(tempfile.mkdtemp(prefix="cdikit-rejudge-"))
    try:
        stage(case, tmp / "case")
        return run_cdikit(case, tmp / "case", expected, 20.0)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def rejudge(into: Path = REGRESSIONS_ROOT) -> dict[str, str]:
    """Judge every recorded regression case again and rewrite ``known-failing.txt``."""
    failing: dict[str, str] = {}
    for args_path in sorted(into.glob("*/*/args.json")):
        verdict = judge_recorded(args_path.parent)
        if verdict.kind not in PASSING:
            name = f"{args_path.parent.parent.name}/{args_path.parent.name}"
            failing[name] = f"{verdict.kind}: {verdict.detail}".replace("\n", " ")
    lines = _KNOWN_HEADER + [f"{name} {why}" for name, why in failing.items()]
    (into / "known-failing.txt").write_text("\n".join(lines) + "\n")
    return failing


def promote(out: Path, into: Path = REGRESSIONS_ROOT, per_class: int = 1) -> list[str]:
    """Copy the first minimized example(s) of every class of a run into the committed regressions.

    Reference panics are left out (the conformance policy only covers the name panics), and
    so are results the reference does not reproduce. Then every recorded case is judged
    again and ``known-failing.txt`` rewritten. Returns the copied names.
    """
    summary = json.loads((out / "summary.json").read_text())
    copied: list[str] = []
    for entry in summary["classes"].values():
        if entry["kind"] in PASSING:
            continue
        for example in entry["examples"][:per_class]:
            src = Path(example["case"])
            if not example.get("referenceStable", True) or not (src / "expected.json").is_file():
                continue
            name = f"{src.parent.name}/{src.name}"
            dest = into / name
            if dest.exists():
                shutil.rmtree(dest)
            shutil.copytree(src, dest)
            args = json.loads((dest / "args.json").read_text())
            if args["command"] == "inject" and "hostDevices" not in args:
                files = {str(p.relative_to(dest)): p.read_bytes() for p in dest.rglob("*") if p.is_file()}
                args["hostDevices"] = host_facts(FuzzCase("inject", 0, args, files))
                (dest / "args.json").write_text(json.dumps(args, indent=1, ensure_ascii=False) + "\n")
            copied.append(name)
    gitattributes = into / ".gitattributes"
    if not gitattributes.exists():
        gitattributes.write_text(
            "# case files are test data: exact bytes (CRLF, BOMs, UTF-16, NULs)\n"
            + "".join(f"{group}/** -text -diff\n" for group in GROUPS.values())
        )
    rejudge(into)
    return copied


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m tests.fuzz.differential", description=__doc__.split("\n\n")[0]
    )
    ap.add_argument("--specs", type=int, default=1000, help="validate cases (spec files)")
    ap.add_argument("--inject", type=int, default=200, help="inject cases")
    ap.add_argument("--names", type=int, default=0, help="parse cases (one qualified-name string each)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--start", type=int, default=0, help="first case index (to split a run)")
    ap.add_argument(
        "--out",
        type=Path,
        default=Path("fuzz-out"),
        help="summary.json, report.md and minimized cases go here",
    )
    ap.add_argument("--oracle", help="reference binary (else $CDIKIT_ORACLE or " + DEFAULT_ORACLE + ")")
    ap.add_argument("--no-minimize", action="store_true")
    ap.add_argument("--per-class", type=int, default=2, help="minimized examples kept per class")
    ap.add_argument("--max-recorded", type=int, default=200)
    ap.add_argument("--timeout", type=float, default=20.0, help="seconds per case, each side")
    ap.add_argument("--replay", metavar="COMMAND:INDEX", help="print one generated case and its verdict")
    ap.add_argument(
        "--rejudge",
        action="store_true",
        help="judge tests/fuzz/regressions again and rewrite its known-failing.txt",
    )
    ap.add_argument(
        "--promote",
        action="store_true",
        help="copy the first example of every class found in --out into tests/fuzz/regressions",
    )
    ns = ap.parse_args(argv)
    if ns.rejudge:
        failing = rejudge()
        print(
            f"{len(failing)} recorded regression cases still fail; see {REGRESSIONS_ROOT}/known-failing.txt"
        )
        return 0
    if ns.promote:
        names = promote(ns.out)
        print(f"{len(names)} cases in {REGRESSIONS_ROOT}; failing ones listed in known-failing.txt")
        return 0
    oracle = find_oracle(ns.oracle)
    if oracle is None:
        print(
            "no reference oracle: pass --oracle, set CDIKIT_ORACLE or build " + DEFAULT_ORACLE,
            file=sys.stderr,
        )
        return 2
    if ns.replay:
        command, _, index = ns.replay.partition(":")
        case = make_case(command, ns.seed, int(index))
        tmp = Path(tempfile.mkdtemp(prefix="cdikit-diff-"))
        try:
            verdict, _ = Judge(Oracle(oracle, ns.timeout), tmp, ns.timeout).judge(case)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        print(json.dumps(case.args, indent=1))
        for p, d in case.files.items():
            print(f"--- {p}\n{d.decode('utf-8', 'backslashreplace')}")
        print(f"=== {verdict.kind}: {verdict.detail}\n{verdict.message}")
        return 0
    report = run(
        oracle,
        specs=ns.specs,
        inject=ns.inject,
        names=ns.names,
        seed=ns.seed,
        out=ns.out,
        minimize_cases=not ns.no_minimize,
        per_class=ns.per_class,
        max_recorded=ns.max_recorded,
        timeout=ns.timeout,
        start=ns.start,
        progress=lambda s: print(time.strftime("%H:%M:%S"), s, flush=True),
    )
    bad = len(report.failing)
    print(f"done: {bad} disagreements, crashes or hangs; see {ns.out}/report.md")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
