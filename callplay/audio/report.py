"""The result of validate-audio and convert, and its renderings: table/JSON (via output.render), JUnit XML and
GitHub Actions annotations (printed directly, so those formats never import rich)."""

from __future__ import annotations

import math
import os
import shlex
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from callplay.audio.probe import Probe
from callplay.audio.rules import Finding
from callplay.errors import AudioInvalid, CallplayError, ExitCode

if TYPE_CHECKING:
    from callplay.audio.stats import SampleStats
    from callplay.output import TableSpec, TextBlock

Verdict = Literal["fail", "warn", "ok"]
# What --fix did with a file for a target: converted it, copied it as it is (it passes), or wrote nothing
# because no conversion fixes it.
FixAction = Literal["converted", "copied", "not fixable"]
_ORDER = {"fail": 0, "warn": 1, "ok": 2}
_NONE: frozenset[str] = frozenset()
_MARK = {"fail": "FAIL", "warn": "warn", "ok": "ok"}
DETAILED_ROWS = 200


@dataclass(slots=True)
class FileResult:
    source: str
    kind: str  # file | url | s3
    probe: Probe
    stats: SampleStats | None
    findings: list[Finding] = field(default_factory=list)
    rel: str = ""
    base: str = ""
    _sev: dict[str, set[str]] | None = field(default=None, init=False, repr=False, compare=False)
    # (target, strict) -> (the findings no conversion fixes, the convert command): a report asks per finding
    _fixes: dict[tuple[str, bool], tuple[list[Finding], str | None]] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def for_target(self, target: str) -> list[Finding]:
        return [f for f in self.findings if f.target in (None, target)]

    def verdict(self, target: str, strict: bool = False) -> Verdict:
        if not self.findings:
            return "ok"
        if self._sev is None:  # reports ask many times (sorting, counts, rows): work it out once
            self._sev = {}
            for f in self.findings:
                self._sev.setdefault(f.target or "", set()).add(f.severity)
        mine, every = self._sev.get(target, _NONE), self._sev.get("", _NONE)
        warned = "warning" in mine or "warning" in every
        if "error" in mine or "error" in every or (strict and warned):
            return "fail"
        return "warn" if warned else "ok"

    def worst(self, targets: list[str], strict: bool = False) -> Verdict:
        """The worst verdict over the targets, in one pass over the findings (a report asks for every file)."""
        worst: Verdict = "ok"
        for f in self.findings:
            if f.target is not None and f.target not in targets:
                continue
            if f.severity == "error" or strict:
                return "fail"
            worst = "warn"
        return worst

    def merged(self) -> list[tuple[Finding, list[str]]]:
        """Findings with the same rule, message and fix across targets, merged: [(finding, [targets])]."""
        groups: dict[tuple[str, str, str, str, str | None], tuple[Finding, list[str]]] = {}
        for f in self.findings:
            key = (f.rule, f.severity, f.message, f.fix, f.convert)
            if key in groups:
                groups[key][1].append(f.target or "")
            else:
                groups[key] = (f, [f.target or ""])
        return sorted(groups.values(), key=lambda g: (g[0].severity != "error", g[0].rule))

    # ------------------------------------------------------------------------------------------ fixes

    def blocking(self, target: str, strict: bool = False) -> list[Finding]:
        """The findings that fail this file for the target and that no conversion fixes (all-silent, empty)."""
        return self._fix_info(target, strict)[0]

    def command(self, target: str, strict: bool = False) -> str | None:
        """The one convert command that fixes what conversion can for this file and target (the findings' flags
        merged), ready to paste; None when conversion fixes nothing here, or cannot make the file pass."""
        return self._fix_info(target, strict)[1]

    def _fix_info(self, target: str, strict: bool) -> tuple[list[Finding], str | None]:
        if self._fixes is None:
            self._fixes = {}
        hit = self._fixes.get((target, strict))
        if hit is None:  # one pass: github and JUnit ask for every finding of every file
            blocking: list[Finding] = []
            flags: list[str] | None = None
            for f in self.findings:
                if f.target is not None and f.target != target:
                    continue
                if f.convert is None:
                    if f.severity == "error" or strict:
                        blocking.append(f)
                elif flags is None:
                    flags = f.convert.split()
                elif f.convert:
                    flags += [flag for flag in f.convert.split() if flag not in flags]
            command = convert_command(self, target, flags) if flags is not None and not blocking else None
            hit = self._fixes[(target, strict)] = (blocking, command)
        return hit

    def fix_text(self, f: Finding, targets: list[str], strict: bool = False) -> str:
        """A finding's fix as it is printed: its words, then the command for each target, ready to paste; a
        failure that no conversion fixes says so."""
        if f.convert is None:
            fails = f.severity == "error" or strict
            return f"no conversion fixes this: {f.fix}" if fails and f.fix else f.fix
        commands = [c for t in targets if (c := self.command(t, strict))]
        if not commands:
            blockers = dict.fromkeys(b.rule for t in targets for b in self.blocking(t, strict))
            return f"{f.fix}, once {', '.join(blockers)} is fixed" if blockers else f.fix
        return f"{f.fix}: {'; '.join(commands)}" if f.fix else "; ".join(commands)

    def to_dict(self, targets: list[str], strict: bool) -> dict[str, Any]:
        return {
            "source": self.source,
            "kind": self.kind,
            "verdict": {t: self.verdict(t, strict) for t in targets},
            "probe": _clean(self.probe.to_dict()),
            "stats": self.stats.to_dict() if self.stats else None,
            "findings": [self._finding_dict(f, strict) for f in self.findings],
        }

    def _finding_dict(self, f: Finding, strict: bool) -> dict[str, Any]:
        command = self.command(f.target, strict) if f.convert is not None and f.target else None
        fix = self.fix_text(f, [f.target], strict) if f.target else f.fix
        return {
            "rule": f.rule,
            "severity": f.severity,
            "message": f.message,
            "fix": fix,
            "target": f.target,
            "command": command,
        }


# ------------------------------------------------------------------------------------ where copies go


def convert_command(r: FileResult, target: str, flags: list[str]) -> str:
    """`callplay convert FILE --target T --out FOLDER` with this file, target and folder, quoted for a POSIX
    shell. A URL or S3 object is downloaded first (convert reads local files)."""
    q = shlex.quote
    if r.kind == "file":
        return " ".join(
            ["callplay convert", q(r.source), "--target", target, *flags, "--out", q(out_folder(r, target))]
        )
    local = os.path.basename(r.rel.rstrip("/")) or "prompt"
    fetch = f"curl -fLo {q(local)} {q(r.source)}" if r.kind == "url" else f"aws s3 cp {q(r.source)} {q(local)}"
    convert = " ".join(["callplay convert", q(local), "--target", target, *flags, "--out", q(target + "/")])
    return f"{fetch} && {convert}"


def out_folder(r: FileResult, target: str) -> str:
    """Where a file's copy for the target goes: beside the folder it was found in, named after the target,
    keeping its relative path (prompts/menu/a.wav -> prompts-acs/menu/), never inside the folder checked."""
    if r.base:  # found in a directory: rel is a "/"-joined path under it
        root, sub = r.base, r.rel.rpartition("/")[0]
    else:
        root, sub = os.path.dirname(r.source), ""
    return f"{sibling(root, target)}/{sub}/" if sub else f"{sibling(root, target)}/"


_siblings: dict[tuple[str, str], str] = {}


def sibling(root: str, suffix: str) -> str:
    """A folder beside `root` named ROOT-SUFFIX (prompts -> prompts-acs; . -> ../CWD-acs)."""
    if not root or root == ".":  # depends on the current directory: not remembered
        return _sibling(root, suffix)
    hit = _siblings.get((root, suffix))
    if hit is None:
        hit = _siblings[(root, suffix)] = _sibling(root, suffix)
    return hit


def _sibling(root: str, suffix: str) -> str:
    norm = os.path.normpath(root or ".")
    if norm == ".":
        name = os.path.basename(os.getcwd())
        return os.path.join("..", f"{name}-{suffix}") if name else suffix
    if os.path.basename(norm) in ("", ".."):  # / or ../..: no name to extend
        norm = os.path.abspath(norm)
        return os.path.join(norm, suffix) if norm == os.path.dirname(norm) else f"{norm}-{suffix}"
    return f"{norm}-{suffix}"


def _clean(d: dict[str, Any]) -> dict[str, Any]:
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in d.items()}


@dataclass
class FixResult:
    """One file written by convert or --fix (or not: `error`), and how the copy fares."""

    source: str
    output: str | None
    target: str
    actions: list[str]
    result: FileResult | None  # the check of the written copy
    error: str | None = None
    action: FixAction = "converted"

    @property
    def verdict(self) -> Verdict:
        if self.error or self.result is None:
            return "fail"
        return self.result.verdict(self.target)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "output": self.output,
            "target": self.target,
            "action": self.action,
            "actions": self.actions,
            "verdict": self.verdict,
            "error": self.error,
            "findings": [f.to_dict() for f in self.result.findings] if self.result else [],
        }


@dataclass
class ValidationReport:
    targets: list[str]
    results: list[FileResult]
    quick: bool = False
    strict: bool = False
    elapsed_s: float = 0.0
    fixes: list[FixResult] | None = None
    quiet: bool = False  # table: leave out rows that pass
    skipped: list[str] = field(default_factory=list)  # listed on stdin but no longer there (--missing skip)
    _worst: dict[int, Verdict] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._worst = {id(r): r.worst(self.targets, self.strict) for r in self.results}
        self.results.sort(key=lambda r: (_ORDER[self._worst[id(r)]], r.source))

    def worst(self, r: FileResult) -> Verdict:
        return self._worst.get(id(r)) or r.worst(self.targets, self.strict)

    # ------------------------------------------------------------------------------------------ verdicts

    def counts(self) -> dict[str, int]:
        worst = [self.worst(r) for r in self.results]
        return {
            "files": len(self.results),
            "failed": worst.count("fail"),
            "warned": worst.count("warn"),
            "passed": worst.count("ok"),
            "errors": sum(f.severity == "error" for r in self.results for f in r.findings),
            "warnings": sum(f.severity == "warning" for r in self.results for f in r.findings),
        }

    def _still_failing(self) -> int:
        """Files that fail; with --fix, a file counts as fixed when every copy written for it passes."""
        if self.fixes is None:
            return self.counts()["failed"]
        verdicts: dict[str, list[Verdict]] = {}
        for fx in self.fixes:
            verdicts.setdefault(fx.source, []).append(fx.verdict)
        fixed = {s for s, v in verdicts.items() if "fail" not in v}
        return sum(self.worst(r) == "fail" and r.source not in fixed for r in self.results)

    @property
    def exit_code(self) -> int:
        return int(ExitCode.AUDIO_INVALID) if self._still_failing() else 0

    @property
    def failure(self) -> CallplayError | None:
        n = self._still_failing()
        if not n:
            return None
        if self.fixes is not None:
            return self._fix_failure(n)
        what = "warnings count as failures (--strict)" if self.strict else "errors"
        failing = self._failing()
        per_target = dict.fromkeys(self.targets, 0)
        for _, t in failing:
            per_target[t] += 1
        where = ", ".join(f"{t} {k}" for t, k in per_target.items() if k)
        message = f"{n} of {len(self.results)} file(s) fail validation ({where}; {what})"
        return AudioInvalid(message, self._hint(failing))

    def _failing(self) -> list[tuple[FileResult, str]]:
        return [(r, t) for r in self.results for t in self.targets if r.verdict(t, self.strict) == "fail"]

    def _hint(self, failing: list[tuple[FileResult, str]]) -> str:
        """What fixes the failures: convert for those it can fix, plainly something else for the others."""
        fixable = [r for r, t in failing if r.command(t, self.strict)]
        stuck = _not_fixable(failing, self.strict)
        parts = []
        if fixable:
            local = [r for r in fixable if r.kind == "file"]
            whole = f", or add --fix --out {shlex.quote(fix_folder(local[0]))} for a complete set" if local else ""
            n = len(dict.fromkeys(r.source for r in fixable))
            parts.append(f"convert fixes {n} file(s): run the command shown for each{whole}")
        if stuck:
            parts.append(f"not fixable by conversion: {stuck}")
        return "; ".join(parts)

    def _fix_failure(self, n: int) -> CallplayError:
        stuck = [fx for fx in self.fixes or [] if fx.verdict == "fail"]
        names = _names(list(dict.fromkeys(fx.source for fx in stuck)))
        why = [f"{shlex.quote(src)} ({', '.join(ts)}): {error}" for (src, error), ts in _by_source(stuck).items()]
        hint = "; ".join(why[:3]) + (f"; and {len(why) - 3} more" if len(why) > 3 else "")
        hint += "; every other file of the set is written"
        return AudioInvalid(f"{n} of {len(self.results)} file(s) still fail after --fix: {names}", hint)

    def summary_line(self) -> str:
        c = self.counts()
        mode = "header check (--quick)" if self.quick else "full check"
        skipped = f" · {len(self.skipped)} listed path(s) skipped (no longer exist)" if self.skipped else ""
        return (
            f"{c['files']} file(s): {c['failed']} failed, {c['warned']} with warnings, {c['passed']} passed"
            f" · targets {', '.join(self.targets)} · {mode}{skipped} · {self.elapsed_s:.2f} s"
        )

    # -------------------------------------------------------------------------------------------- render

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "targets": self.targets,
            "mode": "quick" if self.quick else "full",
            "strict": self.strict,
            "summary": {**self.counts(), "elapsed_s": round(self.elapsed_s, 3)},
            "files": [r.to_dict(self.targets, self.strict) for r in self.results],
            "skipped": self.skipped,
        }
        if self.fixes is not None:
            out["fixes"] = [f.to_dict() for f in self.fixes]
        return out

    def to_tables(self) -> list[TableSpec | TextBlock]:
        from callplay.output import TableSpec, TextBlock

        shown = [r for r in self.results if not (self.quiet and self.worst(r) == "ok")]
        # rich needs about a millisecond per multi-line row: past a few hundred files, one line per file.
        detailed = len(shown) <= DETAILED_ROWS
        rows = []
        for r in shown:
            verdicts = [_MARK[r.verdict(t, self.strict)] for t in self.targets]
            cell = _findings_cell(r, self.targets, self.strict) if detailed else _rule_ids_cell(r, self.targets)
            rows.append([_MARK[self.worst(r)], r.source, r.probe.describe(), *verdicts, cell])
        columns = ["", "file", "format", *self.targets, "findings"]
        caption = self.summary_line()
        if len(shown) > DETAILED_ROWS:
            caption += "\nrule IDs only: messages and fixes with -o json or --format github"
        tables: list[TableSpec | TextBlock] = [TableSpec("validate-audio", columns, rows, caption, ids=("file",))]
        if detailed and self.fixes is None:  # whole lines to copy, not folded into the findings column
            commands, stuck = fix_commands(shown, self.targets, self.strict)
            lines = ["fix with:", *(f"  {c}" for c in commands)] if commands else []
            lines += ["not fixable by conversion:", *(f"  {s}" for s in stuck)] if stuck else []
            if lines:
                tables.append(TextBlock("\n".join(lines)))
        if self.fixes:
            tables.append(fixes_table(self.fixes))
        return tables

    def junit(self) -> str:
        return junit_xml(self)

    def github(self) -> str:
        return github_annotations(self)


def _findings_cell(r: FileResult, targets: list[str], strict: bool) -> str:
    """Each finding and what to do about it; the convert command itself goes under the table (fix_commands)."""
    lines = []
    for f, fts in r.merged():
        scope = "" if set(fts) >= set(targets) and len(targets) > 1 else f"{', '.join(fts)}, "
        what = f.fix
        if f.convert is not None and not any(r.command(t, strict) for t in fts):
            blockers = dict.fromkeys(b.rule for t in fts for b in r.blocking(t, strict))
            what = f"{what}, once {', '.join(blockers)} is fixed" if blockers else what
        lines.append(f"{f.rule} ({scope}{f.severity}): {f.message}" + (f"\n  -> {what}" if what else ""))
    return "\n".join(lines)


def fix_commands(results: list[FileResult], targets: list[str], strict: bool = False) -> tuple[list[str], list[str]]:
    """One convert command per file and target that fixes every finding it can (their flags merged), and a
    line per file that fails where no conversion helps, saying what does."""
    commands = [c for r in results for t in targets if (c := r.command(t, strict))]
    failing = [(r, t) for r in results for t in targets if r.verdict(t, strict) == "fail"]
    stuck = _stuck(failing, strict)
    lines = [f"{shlex.quote(src)} ({', '.join(ts)}): {f.rule}: {f.fix}" for src, (ts, f) in stuck.items()]
    return commands, lines


def _stuck(failing: list[tuple[FileResult, str]], strict: bool) -> dict[str, tuple[list[str], Finding]]:
    """The failing files no conversion fixes: source -> (targets, the first finding that blocks it)."""
    stuck: dict[str, tuple[list[str], Finding]] = {}
    for r, t in failing:
        if blockers := r.blocking(t, strict):
            stuck.setdefault(r.source, ([], blockers[0]))[0].append(t)
    return stuck


def _not_fixable(failing: list[tuple[FileResult, str]], strict: bool) -> str:
    """'a.wav, b.wav (all-silent): what to do' for the failing files no conversion fixes; '' when none."""
    stuck = _stuck(failing, strict)
    if not stuck:
        return ""
    rules = list(dict.fromkeys(f.rule for _, f in stuck.values()))
    fix = next(iter(stuck.values()))[1].fix if len(rules) == 1 else "see each file's findings"
    return f"{_names(list(stuck))} ({', '.join(rules)}): {fix}"


def _by_source(fixes: list[FixResult]) -> dict[tuple[str, str], list[str]]:
    """(source, error) -> targets: one line per file and reason, not one per target."""
    out: dict[tuple[str, str], list[str]] = {}
    for fx in fixes:
        out.setdefault((fx.source, fx.error or "the copy still fails (see the table)"), []).append(fx.target)
    return out


def _names(paths: list[str], most: int = 3) -> str:
    shown = ", ".join(shlex.quote(p) for p in paths[:most])
    return shown + (f" and {len(paths) - most} more" if len(paths) > most else "")


def fix_folder(r: FileResult) -> str:
    """The --out to suggest for `validate-audio --fix`: beside the folder checked (prompts -> prompts-fixed/)."""
    root = r.base or os.path.dirname(r.source)
    return os.path.join(sibling(root, "fixed"), "")


def _rule_ids_cell(r: FileResult, targets: list[str]) -> str:
    parts = []
    for f, fts in r.merged():
        scope = "" if set(fts) >= set(targets) and len(targets) > 1 else f" ({', '.join(fts)})"
        parts.append(f.rule + scope)
    return ", ".join(parts)


def fixes_table(fixes: list[FixResult]) -> TableSpec:
    """A row per file converted or not written; files copied as they are only when their copy fails (the
    caption counts them: a complete set of a large tree would otherwise bury the conversions)."""
    from callplay.output import TableSpec

    rows = []
    for fx in sorted(fixes, key=lambda f: (_ORDER[f.verdict], f.source)):
        if fx.action == "copied" and fx.verdict != "fail":
            continue
        notes = fx.error or "; ".join(str(f) for f in (fx.result.findings if fx.result else []))
        rows.append([_MARK[fx.verdict], fx.source, fx.output or "", fx.target, ", ".join(fx.actions), notes])
    columns = ["", "source", "output", "target", "actions", "check of the copy"]
    return TableSpec("convert", columns, rows, fix_counts(fixes), ids=("source", "output"))


def fix_counts(fixes: list[FixResult]) -> str:
    """What was written, honestly: converted, copied, not fixable (named), could not convert, still failing."""
    written = [f for f in fixes if f.output is not None]
    converted = sum(f.action == "converted" for f in written)
    parts = [f"{converted} written (converted)"]
    copied = sum(f.action == "copied" for f in written)
    if copied:
        parts.append(f"{copied} copied as they are (they pass)")
    for label, action in (("not fixable by conversion", "not fixable"), ("could not be converted", "converted")):
        missing = [f for f in fixes if f.output is None and f.action == action]
        if missing:
            groups = {src: ts for (src, _), ts in _by_source(missing).items()}
            named = ", ".join(f"{shlex.quote(src)} ({', '.join(ts)})" for src, ts in list(groups.items())[:3])
            more = f" and {len(groups) - 3} more" if len(groups) > 3 else ""
            parts.append(f"{len(missing)} {label}, not written: {named}{more}")
    still = sum(f.verdict == "fail" for f in written)
    if still:
        parts.append(f"{still} written but still failing")
    return ", ".join(parts)


@dataclass
class ConvertReport:
    fixes: list[FixResult]
    elapsed_s: float = 0.0

    @property
    def exit_code(self) -> int:
        return int(ExitCode.AUDIO_INVALID) if any(f.verdict == "fail" for f in self.fixes) else 0

    @property
    def failure(self) -> CallplayError | None:
        bad = [f for f in self.fixes if f.verdict == "fail"]
        if not bad:
            return None
        return AudioInvalid(
            f"{len(bad)} of {len(self.fixes)} file(s) still fail validation after conversion",
            hint=f"{fix_counts(self.fixes)}; silence and unreadable input cannot be converted away",
        )

    def to_dict(self) -> dict[str, Any]:
        return {"files": [f.to_dict() for f in self.fixes], "elapsed_s": round(self.elapsed_s, 3)}

    def to_tables(self) -> list[TableSpec]:
        return [fixes_table(self.fixes)]


# ---------------------------------------------------------------------------------------------- JUnit


def escape(text: str) -> str:
    """XML character data (xml.sax.saxutils would pull in urllib.request: 30 ms of imports)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def quoteattr(text: str) -> str:
    return '"' + escape(text).replace('"', "&quot;").replace("\n", "&#10;") + '"'


def junit_xml(rep: ValidationReport) -> str:
    """One testcase per file x target; a <failure> names the file and the rule IDs (warnings too with
    --strict); warnings otherwise go to the testcase's <system-out>."""
    cases, failures = [], 0
    for r in sorted(rep.results, key=lambda r: r.source):
        for t in rep.targets:
            xml, failed = _junit_case(r, t, rep.strict)
            cases.append(xml)
            failures += failed
    head = (
        f'<testsuite name="callplay validate-audio" tests="{len(cases)}" failures="{failures}" errors="0" '
        f'skipped="0" time="{rep.elapsed_s:.3f}">'
    )
    body = "\n".join(cases)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<testsuites>\n{head}\n{body}\n</testsuite>\n</testsuites>\n'


def _junit_case(r: FileResult, target: str, strict: bool) -> tuple[str, int]:
    found = r.for_target(target)
    failing = [f for f in found if f.severity == "error" or strict]
    other = [f for f in found if f not in failing]
    attrs = f"classname={quoteattr('validate-audio.' + target)} name={quoteattr(r.source)} file={quoteattr(r.source)}"
    inner = []
    if failing:
        rules = ", ".join(dict.fromkeys(f.rule for f in failing))
        message = f"{r.source}: {rules}"
        text = "\n".join(
            f"[{f.rule}] {f.severity}: {r.source}: {f.message}"
            + (f" -> {fix}" if (fix := r.fix_text(f, [target], strict)) else "")
            for f in failing
        )
        kind, msg = quoteattr(failing[0].rule), quoteattr(message)
        inner.append(f"<failure type={kind} message={msg}>{escape(text)}</failure>")
    if other:
        text = "\n".join(f"[{f.rule}] {f.severity}: {f.message}" for f in other)
        inner.append(f"<system-out>{escape(text)}</system-out>")
    if not inner:
        return f"<testcase {attrs} />", 0
    return f"<testcase {attrs}>\n" + "\n".join(inner) + "\n</testcase>", int(bool(failing))


# --------------------------------------------------------------------------------------------- GitHub


def _gh_data(text: str) -> str:
    if "%" not in text and "\r" not in text and "\n" not in text:
        return text
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_prop(text: str) -> str:
    return _gh_data(text).replace(":", "%3A").replace(",", "%2C")


def github_annotations(rep: ValidationReport) -> str:
    """`::error file=PATH,title=RULE::message` per finding (merged across targets); warnings as ::warning
    (as ::error with --strict). URLs and S3 objects have no file= (they are not in the repository)."""
    lines = []
    titles: dict[str, str] = {}
    for r in rep.results:
        if not r.findings:
            continue
        where = f"file={_gh_prop(r.source)}," if r.kind == "file" else ""
        prefix = "" if r.kind == "file" else f"{r.source}: "
        for f, fts in r.merged():
            level = "error" if f.severity == "error" or rep.strict else "warning"
            title = titles.get(f.rule) or titles.setdefault(f.rule, _gh_prop(f.rule))
            fix = r.fix_text(f, fts, rep.strict) if f.target else f.fix
            msg = f"{prefix}{', '.join(fts)}: {f.message}" + (f" -> {fix}" if fix else "")
            lines.append(f"::{level} {where}title={title}::{_gh_data(msg)}")
    lines.append(rep.summary_line())
    return "\n".join(lines) + "\n"
