"""The result of validate-audio and convert, and its renderings: table/JSON (via output.render), JUnit XML and
GitHub Actions annotations (printed directly, so those formats never import rich)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from callplay.audio.probe import Probe
from callplay.audio.rules import Finding
from callplay.errors import AudioInvalid, CallplayError, ExitCode

if TYPE_CHECKING:
    from callplay.audio.stats import SampleStats
    from callplay.output import TableSpec, TextBlock

Verdict = Literal["fail", "warn", "ok"]
_ORDER = {"fail": 0, "warn": 1, "ok": 2}
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

    def for_target(self, target: str) -> list[Finding]:
        return [f for f in self.findings if f.target in (None, target)]

    def verdict(self, target: str, strict: bool = False) -> Verdict:
        if not self.findings:
            return "ok"
        if self._sev is None:  # reports ask many times (sorting, counts, rows): work it out once
            self._sev = {}
            for f in self.findings:
                self._sev.setdefault(f.target or "", set()).add(f.severity)
        sevs = self._sev.get(target, set()) | self._sev.get("", set())
        if "error" in sevs or (strict and "warning" in sevs):
            return "fail"
        return "warn" if "warning" in sevs else "ok"

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
        """Findings with the same rule and message across targets, merged: [(finding, [targets])]."""
        groups: dict[tuple[str, str, str, str], tuple[Finding, list[str]]] = {}
        for f in self.findings:
            key = (f.rule, f.severity, f.message, f.fix.replace(f"--target {f.target}", "--target T"))
            if key in groups:
                groups[key][1].append(f.target or "")
            else:
                groups[key] = (f, [f.target or ""])
        return sorted(groups.values(), key=lambda g: (g[0].severity != "error", g[0].rule))

    def to_dict(self, targets: list[str], strict: bool) -> dict[str, Any]:
        return {
            "source": self.source,
            "kind": self.kind,
            "verdict": {t: self.verdict(t, strict) for t in targets},
            "probe": _clean(self.probe.to_dict()),
            "stats": self.stats.to_dict() if self.stats else None,
            "findings": [f.to_dict() for f in self.findings],
        }


def _clean(d: dict[str, Any]) -> dict[str, Any]:
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in d.items()}


@dataclass
class FixResult:
    """One file written by convert or --fix, and how the copy fares."""

    source: str
    output: str | None
    target: str
    actions: list[str]
    result: FileResult | None  # the check of the written copy
    error: str | None = None

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
        what = "warnings count as failures (--strict)" if self.strict else "errors"
        return AudioInvalid(
            f"{n} of {len(self.results)} file(s) fail validation for {', '.join(self.targets)} ({what})",
            hint=f"fix with: callplay convert FILE --target {self.targets[0]} --out DIR "
            "(or validate-audio --fix --out DIR)",
        )

    def summary_line(self) -> str:
        c = self.counts()
        mode = "header check (--quick)" if self.quick else "full check"
        return (
            f"{c['files']} file(s): {c['failed']} failed, {c['warned']} with warnings, {c['passed']} passed"
            f" · targets {', '.join(self.targets)} · {mode} · {self.elapsed_s:.2f} s"
        )

    # -------------------------------------------------------------------------------------------- render

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "targets": self.targets,
            "mode": "quick" if self.quick else "full",
            "strict": self.strict,
            "summary": {**self.counts(), "elapsed_s": round(self.elapsed_s, 3)},
            "files": [r.to_dict(self.targets, self.strict) for r in self.results],
        }
        if self.fixes is not None:
            out["fixes"] = [f.to_dict() for f in self.fixes]
        return out

    def to_tables(self) -> list[TableSpec | TextBlock]:
        from callplay.output import TableSpec, TextBlock

        shown = [r for r in self.results if not (self.quiet and self.worst(r) == "ok")]
        # rich needs about a millisecond per multi-line row: past a few hundred files, one line per file.
        detailed = len(shown) <= DETAILED_ROWS
        cell = _findings_cell if detailed else _rule_ids_cell
        rows = []
        for r in shown:
            verdicts = [_MARK[r.verdict(t, self.strict)] for t in self.targets]
            rows.append([_MARK[self.worst(r)], r.source, r.probe.describe(), *verdicts, cell(r, self.targets)])
        columns = ["", "file", "format", *self.targets, "findings"]
        caption = self.summary_line()
        if len(shown) > DETAILED_ROWS:
            caption += "\nrule IDs only: messages and fixes with -o json or --format github"
        tables: list[TableSpec | TextBlock] = [TableSpec("validate-audio", columns, rows, caption, ids=("file",))]
        commands = fix_commands(shown, self.targets) if detailed and self.fixes is None else []
        if commands:  # whole lines to copy, not folded into the findings column
            tables.append(TextBlock("\n".join(["fix with:", *(f"  {c}" for c in commands)])))
        if self.fixes:
            tables.append(fixes_table(self.fixes))
        return tables

    def junit(self) -> str:
        return junit_xml(self)

    def github(self) -> str:
        return github_annotations(self)


def _findings_cell(r: FileResult, targets: list[str]) -> str:
    """Each finding and what to do about it; the convert command itself goes under the table (fix_commands)."""
    lines = []
    for f, fts in r.merged():
        scope = "" if set(fts) >= set(targets) and len(targets) > 1 else f"{', '.join(fts)}, "
        what = _CONVERT.sub("", f.fix).strip()
        what = "convert it (see below)" if f.fix and not what else what
        lines.append(f"{f.rule} ({scope}{f.severity}): {f.message}" + (f"\n  -> {what}" if what else ""))
    return "\n".join(lines)


# A finding's fix ends with the convert command (rules._Ctx.convert): "what to do: callplay convert FILE
# --target T [--trim ...] --out DIR".
_CONVERT = re.compile(r":?\s*callplay convert (?P<file>.+?) --target (?P<target>\S+)(?P<flags>(?: --\S+)*?) --out DIR")


def fix_commands(results: list[FileResult], targets: list[str]) -> list[str]:
    """One convert command per file and target that fixes every finding it can (their flags merged)."""
    flags: dict[tuple[str, str], list[str]] = {}
    for r in results:
        for f in r.findings:
            if (m := _CONVERT.search(f.fix)) is None or (f.target is not None and f.target not in targets):
                continue
            merged = flags.setdefault((m["file"], m["target"]), [])
            merged += [flag for flag in m["flags"].split() if flag not in merged]
    return [
        " ".join(["callplay convert", file, "--target", target, *extra, "--out DIR"])
        for (file, target), extra in flags.items()
    ]


def _rule_ids_cell(r: FileResult, targets: list[str]) -> str:
    parts = []
    for f, fts in r.merged():
        scope = "" if set(fts) >= set(targets) and len(targets) > 1 else f" ({', '.join(fts)})"
        parts.append(f.rule + scope)
    return ", ".join(parts)


def fixes_table(fixes: list[FixResult]) -> TableSpec:
    from callplay.output import TableSpec

    rows = []
    for fx in sorted(fixes, key=lambda f: (_ORDER[f.verdict], f.source)):
        notes = fx.error or "; ".join(str(f) for f in (fx.result.findings if fx.result else []))
        rows.append([_MARK[fx.verdict], fx.source, fx.output or "", fx.target, ", ".join(fx.actions), notes])
    failed = sum(f.verdict == "fail" for f in fixes)
    caption = f"{len(fixes)} file(s) written, {failed} still failing"
    columns = ["", "source", "output", "target", "actions", "check of the copy"]
    return TableSpec("convert", columns, rows, caption, ids=("source", "output"))


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
            f"{len(bad)} of {len(self.fixes)} converted file(s) still fail validation",
            hint="see the table: silence, unreadable input or clipping cannot be converted away",
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
            f"[{f.rule}] {f.severity}: {r.source}: {f.message}" + (f" -> {f.fix}" if f.fix else "") for f in failing
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
            fix = f.fix.replace(f"--target {f.target}", "--target T") if len(fts) > 1 else f.fix
            msg = f"{prefix}{', '.join(fts)}: {f.message}" + (f" -> {fix}" if fix else "")
            lines.append(f"::{level} {where}title={title}::{_gh_data(msg)}")
    lines.append(rep.summary_line())
    return "\n".join(lines) + "\n"
