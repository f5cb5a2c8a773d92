"""What each provider accepts, as rules with an ID, a severity and a message that says what to do.

What each provider plays (containers, codecs, rates, size limit) is not written here: it comes from the
provider's facts module (`callplay.providers.facts.<name>`), the same one its backend checks before it plays,
so `validate-audio --target T` and `play` give the same verdict. This module turns those facts into findings.

Header rules need only the Probe (they are all of `--quick`); sample rules need SampleStats (full pass).
Pure Python: importing this module must not load numpy.
"""

from __future__ import annotations

import math
import shlex
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from callplay.audio import TARGETS
from callplay.audio.probe import EMPTY_FILE, Probe, probe_path
from callplay.errors import ConfigError, UsageError
from callplay.providers import provider_facts
from callplay.providers.facts import AudioFacts

if TYPE_CHECKING:  # made by the full check only; --quick never imports it
    from callplay.audio.stats import SampleStats

Severity = Literal["error", "warning"]
SourceKind = Literal["file", "url", "s3"]
WAV_TYPES = ("audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave")
_MIME = {
    "WAV": WAV_TYPES,
    "MP3": ("audio/mpeg", "audio/mp3", "audio/mpeg3", "audio/x-mpeg-3", "audio/x-mp3"),
    "AIFF": ("audio/aiff", "audio/x-aiff"),
    "AU": ("audio/basic", "audio/au", "audio/x-au"),
    "GSM": ("audio/gsm", "audio/x-gsm"),
}


@dataclass(slots=True)
class Finding:
    rule: str
    severity: Severity
    message: str  # what is wrong, with the numbers
    fix: str = ""  # what to do about it, in words ("resample to 16 kHz mono")
    target: str | None = None  # None: the same for every target
    # `callplay convert` fixes it: the extra flags it needs ("", " --trim"); None: no conversion fixes it. The
    # command itself is written by the report, which knows where the file came from and so where its copy goes.
    convert: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        return f"{self.rule}: {self.message}" + (f" ({self.fix})" if self.fix else "")


@dataclass(frozen=True)
class Rule:
    """One row of the rule table (docs/validate-audio.md is generated from this list)."""

    id: str
    severity: str  # shown in the docs; "error (chime: warning)" when it differs by target
    targets: str
    kind: Literal["header", "sample", "source"]
    meaning: str
    fix: str


def _targets_where(test: Callable[[AudioFacts], bool]) -> list[str]:
    return [t for t in TARGETS if test(provider_facts(t).audio)]


# The rule table's provider columns, from the facts (the docs table is generated from RULES).
_LAYOUT = ", ".join(_targets_where(lambda a: a.wav_codecs is None))  # held to 16-bit PCM, a rate and mono
_ADVICE = ", ".join(_targets_where(lambda a: a.layout_is_advice))
_LAYOUT_SEVERITY = f"error ({_ADVICE}: warning)" if _ADVICE else "error"
_SIZED = ", ".join(
    f"{t} ({(provider_facts(t).audio.max_bytes or 0) // 1_000_000} MB)"
    for t in _targets_where(lambda a: bool(a.max_bytes))
)
_ID3 = ", ".join(_targets_where(lambda a: a.mp3_needs_id3v2))

RULES: tuple[Rule, ...] = (
    Rule("empty", "error", "all", "header", "the file has 0 bytes", "re-export or re-upload the prompt"),
    Rule(
        "unreadable",
        "error",
        "all",
        "header",
        "not audio, or a header too damaged to read (HTML error page, random bytes, cut inside 'fmt ')",
        "re-export the prompt",
    ),
    Rule(
        "truncated",
        "error",
        "all",
        "header",
        "the file ends before the length its header declares (cut upload, interrupted copy)",
        "re-upload; `callplay convert` writes a consistent copy of what is there",
    ),
    Rule("no-audio", "error", "all", "header", "the header is valid but there are no samples", "re-export the prompt"),
    Rule(
        "format",
        "error",
        "all",
        "header",
        "container the provider does not play (FLAC, OGG, M4A, AIFF on ACS, MP3 on Chime, ...)",
        "`callplay convert FILE --target T --out DIR`",
    ),
    Rule(
        "codec",
        "error",
        "all",
        "header",
        "encoding inside WAV/AIFF/AU the provider does not play: float, ADPCM, mu-law/A-law on ACS, Vonage and "
        "Chime; anything but 8/16-bit PCM, mu-law, A-law or GSM on SignalWire",
        "`callplay convert FILE --target T --out DIR`",
    ),
    Rule(
        "bit-depth",
        _LAYOUT_SEVERITY,
        _LAYOUT,
        "header",
        "PCM that is not 16-bit (8, 24 or 32-bit)",
        "`callplay convert FILE --target T --out DIR`",
    ),
    Rule(
        "sample-rate",
        _LAYOUT_SEVERITY,
        _LAYOUT,
        "header",
        "WAV rate: ACS needs 16 kHz, Vonage 8 or 16 kHz, Chime recommends 8 kHz (MP3 rates are not checked)",
        "`callplay convert FILE --target T --out DIR`",
    ),
    Rule(
        "channels",
        _LAYOUT_SEVERITY,
        _LAYOUT,
        "header",
        "WAV that is not mono",
        "`callplay convert FILE --target T --out DIR` (downmixes)",
    ),
    Rule(
        "id3v2-missing",
        "error",
        _ID3,
        "header",
        "MP3 without an ID3v2 tag, which ACS requires",
        "`callplay convert FILE --target acs --out DIR` (writes WAV), or add an ID3v2 tag",
    ),
    Rule(
        "wav-extensible",
        "warning",
        _LAYOUT,
        "header",
        "WAVE_FORMAT_EXTENSIBLE header: strict players expect the plain PCM header",
        "`callplay convert FILE --target T --out DIR` (writes a plain header)",
    ),
    Rule(
        "file-size",
        "error",
        f"{_SIZED}; others when max_size_mb is set",
        "header",
        "the file is larger than the provider (or your config) allows",
        "shorten it, or lower rate/channels",
    ),
    Rule(
        "duration-max",
        "warning",
        "all",
        "header",
        "longer than max_duration_s (default 2400 s: SignalWire advises splitting beyond 40 min)",
        "split the prompt",
    ),
    Rule("duration-min", "warning", "all", "header", "shorter than min_duration_s (default 0.2 s)", "check the export"),
    Rule(
        "header-oddity",
        "warning",
        "all",
        "header",
        "the file reads, but its header is odd (0xFFFFFFFF data size, lost MP3 frame sync, junk before audio)",
        "`callplay convert FILE --target T --out DIR`",
    ),
    Rule(
        "fetch",
        "error",
        "all",
        "source",
        "a URL or S3 object could not be fetched (HTTP status, timeout, too large, access denied)",
        "fix the URL, its permissions or the server",
    ),
    Rule(
        "content-type",
        "error or warning",
        "all",
        "source",
        "the server's Content-Type is not audio (error: text/html...) or does not match the file (warning); "
        "on Chime the S3 object must be audio/wav (error)",
        "set the Content-Type when uploading (aws s3 cp --content-type audio/wav)",
    ),
    Rule("decode-error", "error", "all", "sample", "libsndfile cannot decode the samples", "re-export the prompt"),
    Rule(
        "non-finite",
        "error",
        "all",
        "sample",
        "NaN or infinite samples in a float file",
        "`callplay convert FILE --target T --out DIR` (zeroes them)",
    ),
    Rule(
        "all-silent",
        "error",
        "all",
        "sample",
        "peak below silent_peak_dbfs (default -60 dBFS)",
        "no conversion fixes it: re-record the prompt or replace it",
    ),
    Rule(
        "clipping",
        "error",
        "all",
        "sample",
        "clip_min_samples (default 3) or more samples at the codec's full scale (mu-law -0.17, A-law -0.14 dBFS)",
        "`callplay convert FILE --target T --out DIR` gives the copy headroom so it passes, but keeps the "
        "distortion: re-record lower for quality",
    ),
    Rule(
        "peak",
        "warning",
        "all",
        "sample",
        "peak above max_peak_dbfs (default -1 dBFS): no headroom for resampling and codec overshoot",
        "`callplay convert FILE --target T --out DIR`",
    ),
    Rule(
        "loudness-low",
        "warning",
        "all",
        "sample",
        "active-speech RMS below min_rms_dbfs (default -28 dBFS; RFC 7874: -22 +-6)",
        "`callplay convert FILE --target T --normalize --out DIR`",
    ),
    Rule(
        "loudness-high",
        "warning",
        "all",
        "sample",
        "active-speech RMS above max_rms_dbfs (default -16 dBFS)",
        "re-master at about -22 dBFS RMS",
    ),
    Rule(
        "silence-leading",
        "warning",
        "all",
        "sample",
        "more than max_leading_silence_s (default 1.0 s) before the first sound",
        "`callplay convert FILE --target T --trim --out DIR`",
    ),
    Rule(
        "silence-trailing",
        "warning",
        "all",
        "sample",
        "more than max_trailing_silence_s (default 2.0 s) after the last sound",
        "`callplay convert FILE --target T --trim --out DIR`",
    ),
    Rule(
        "dc-offset",
        "warning",
        "all",
        "sample",
        "a channel's mean above max_dc_offset (default 0.01 of full scale)",
        "`callplay convert FILE --target T --out DIR` (removes DC)",
    ),
)


def targets_table() -> str:
    """The "Targets" table of docs/validate-audio.md, from the providers' facts (a test keeps them equal)."""
    lines = ["| target | accepted | `convert` writes |", "|---|---|---|"]
    for target in TARGETS:
        audio = provider_facts(target).audio
        accepted = audio.accepts
        if audio.max_bytes:
            accepted += f", at most {audio.max_bytes // 1_000_000} MB ({audio.max_bytes:,} bytes)"
        if audio.layout_is_advice and audio.wav_rates:
            accepted += f"; {audio.wav_rates[0] // 1000} kHz mono recommended (otherwise a warning)"
        writes = f"{audio.convert_rate // 1000} kHz mono PCM16 WAV"
        if "ulaw" in audio.convert_encodings:
            writes += " (`--encoding ulaw` for mu-law)"
        lines.append(f"| `{target}` | {accepted} | {writes} |")
    return "\n".join(lines) + "\n"


RULE_IDS = frozenset(r.id for r in RULES)
HEADER_RULES = frozenset(r.id for r in RULES if r.kind == "header")


# ---------------------------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class Thresholds:
    """Limits one target is checked against; `[audio]` sets them for all targets, `[audio.<target>]` for one."""

    max_peak_dbfs: float = -1.0
    clip_min_samples: int = 3
    min_rms_dbfs: float = -28.0
    max_rms_dbfs: float = -16.0
    max_leading_silence_s: float = 1.0
    max_trailing_silence_s: float = 2.0
    max_dc_offset: float = 0.01
    silent_peak_dbfs: float = -60.0
    min_duration_s: float = 0.2
    max_duration_s: float = 2400.0
    max_size_mb: float | None = None  # decimal MB; a provider with a platform limit (Chime) is held to it or less


_DEFAULT_THRESHOLDS = Thresholds()


@dataclass(frozen=True)
class AudioSettings:
    """Everything validate-audio reads from the `[audio]` table of the config."""

    per_target: Mapping[str, Thresholds] = field(default_factory=lambda: {t: Thresholds() for t in TARGETS})
    silence_threshold_db: float = -35.0  # a 10 ms block is silence below (loudest block + this)
    ignore: frozenset[str] = frozenset()
    severity: Mapping[str, Severity] = field(default_factory=dict)
    fetch_timeout_s: float = 20.0
    max_fetch_mb: float = 100.0

    def for_target(self, target: str) -> Thresholds:
        return self.per_target.get(target) or _DEFAULT_THRESHOLDS


_THRESHOLD_KEYS = {f.name: f for f in fields(Thresholds)}
_GLOBAL_KEYS = {"silence_threshold_db", "ignore", "severity", "fetch_timeout_s", "max_fetch_mb"}


def settings_from_config(raw: Mapping[str, Any]) -> AudioSettings:
    """Build AudioSettings from the `[audio]` table; a wrong key or type is a ConfigError naming it."""
    base = _thresholds(Thresholds(), raw, "audio")
    per_target = {}
    for target in TARGETS:
        sub = raw.get(target, {})
        if not isinstance(sub, Mapping):
            raise ConfigError(f"[audio.{target}] must be a table", "e.g. [audio.acs] max_duration_s = 600")
        per_target[target] = _thresholds(base, sub, f"audio.{target}")
    unknown = set(raw) - set(_THRESHOLD_KEYS) - _GLOBAL_KEYS - set(TARGETS)
    if unknown:
        valid = ", ".join(sorted(set(_THRESHOLD_KEYS) | _GLOBAL_KEYS))
        raise ConfigError(f"unknown key(s) in [audio]: {', '.join(sorted(unknown))}", f"valid keys: {valid}")
    return AudioSettings(
        per_target=per_target,
        silence_threshold_db=_number(raw, "silence_threshold_db", -35.0, "audio"),
        ignore=frozenset(_rule_list(raw.get("ignore", []))),
        severity=_severities(raw.get("severity", {})),
        fetch_timeout_s=_number(raw, "fetch_timeout_s", 20.0, "audio"),
        max_fetch_mb=_number(raw, "max_fetch_mb", 100.0, "audio"),
    )


def _number(raw: Mapping[str, Any], key: str, default: float, table: str) -> float:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"[{table}] {key} must be a number, not {value!r}", f"e.g. {key} = {default}")
    return float(value)


def _thresholds(base: Thresholds, raw: Mapping[str, Any], table: str) -> Thresholds:
    if table != "audio":
        extra = set(raw) - set(_THRESHOLD_KEYS)
        if extra:
            raise ConfigError(
                f"unknown key(s) in [{table}]: {', '.join(sorted(extra))}",
                f"per-target keys: {', '.join(_THRESHOLD_KEYS)}; the others go in [audio]",
            )
    changes: dict[str, Any] = {}
    for key in raw:
        if key in _THRESHOLD_KEYS:
            number = _number(raw, key, getattr(Thresholds(), key) or 0, table)
            changes[key] = int(number) if key == "clip_min_samples" else number
    return replace(base, **changes)


def _rule_list(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError("[audio] ignore must be a list of rule IDs", 'e.g. ignore = ["dc-offset"]')
    bad = [v for v in value if v not in RULE_IDS]
    if bad:
        raise ConfigError(
            f"unknown rule ID(s) in [audio] ignore: {', '.join(bad)}", f"rule IDs: {', '.join(sorted(RULE_IDS))}"
        )
    return value


def _severities(value: Any) -> dict[str, Severity]:
    if not isinstance(value, Mapping):
        raise ConfigError("[audio] severity must be a table", 'e.g. severity = { "loudness-low" = "error" }')
    out: dict[str, Severity] = {}
    for rule, sev in value.items():
        if rule not in RULE_IDS or sev not in ("error", "warning"):
            raise ConfigError(f"[audio] severity: {rule} = {sev!r} is not a rule ID = error|warning")
        out[rule] = sev
    return out


def parse_targets(specs: Iterable[str]) -> list[str]:
    """'acs,chime' / 'all' (repeatable) -> ordered unique targets; a bad name is a UsageError."""
    out: list[str] = []
    for spec in specs:
        for name in (s.strip().lower() for s in spec.split(",")):
            if not name:
                continue
            names = list(TARGETS) if name == "all" else [name]
            for t in names:
                if t not in TARGETS:
                    raise UsageError(f"unknown target {name!r}", f"use one or more of: {', '.join(TARGETS)}, all")
                if t not in out:
                    out.append(t)
    return out


# ---------------------------------------------------------------------------------------------- checking


class _Convert(NamedTuple):
    """A fix that `callplay convert` makes: what it does, and the extra flags it needs."""

    what: str
    flags: str = ""


class _Ctx:
    """Builds findings for one file and one target."""

    def __init__(self, probe: Probe, target: str) -> None:
        self.probe, self.target = probe, target
        self.findings: list[Finding] = []
        self.facts = provider_facts(target)
        self.audio = self.facts.audio
        self.pname = self.facts.short_name

    def add(self, rule: str, severity: Severity, message: str, fix: str | _Convert = "") -> None:
        if isinstance(fix, _Convert):
            self.findings.append(Finding(rule, severity, message, fix.what, self.target, fix.flags))
        else:
            self.findings.append(Finding(rule, severity, message, fix, self.target))

    def convert(self, what: str, extra: str = "") -> _Convert:
        return _Convert(what, extra)


def check(
    probe: Probe,
    stats: SampleStats | None,
    targets: Iterable[str],
    settings: AudioSettings | None = None,
    *,
    source_kind: SourceKind = "file",
) -> list[Finding]:
    """All findings for one file against the given targets (sample rules only when stats is given)."""
    settings = settings or _DEFAULTS
    out: list[Finding] = []
    header = _header_key(probe)
    for target in targets:
        th = settings.for_target(target)
        ctx = _Ctx(probe, target)
        if _file_level(ctx):
            accepted, found = _format_rules(probe, header, target)
            ctx.findings += found
            if accepted:
                _size_and_length(ctx, th)
        if source_kind != "file":
            _source_rules(ctx, source_kind)
        if stats is not None and probe.ok:
            _sample_rules(ctx, stats, th)
        out.extend(ctx.findings)
    return apply_overrides(out, settings)


_DEFAULTS = AudioSettings()
SILENT_FIX = "re-record the prompt, or replace it with the right take"
_FormatRules = tuple[bool, tuple[tuple[str, Severity, str, str, str | None], ...]]
_format_memo: dict[tuple[Any, ...], _FormatRules] = {}


def _header_key(p: Probe) -> tuple[Any, ...]:
    """Everything _container and _pcm_rules read."""
    return (p.container, p.subtype, p.has_id3v2, p.bits, p.sample_rate, p.channels, p.extensible)


def _format_rules(p: Probe, header: tuple[Any, ...], target: str) -> tuple[bool, list[Finding]]:
    """Container and codec findings, and whether the container is accepted. They depend only on a few header
    fields that most files of a tree share, so they are worked out once per distinct header (a third of the
    time of `--quick` otherwise)."""
    key = (target, header)
    hit = _format_memo.get(key)
    if hit is None:
        c = _Ctx(p, target)
        accepted = _container(c)
        if accepted:
            _pcm_rules(c)
        hit = (accepted, tuple((f.rule, f.severity, f.message, f.fix, f.convert) for f in c.findings))
        if len(_format_memo) > 4096:  # only a pathological tree has this many kinds of header
            _format_memo.clear()
        _format_memo[key] = hit
    accepted, rows = hit
    return accepted, [Finding(r, s, m, fix, target, conv) for r, s, m, fix, conv in rows]


def apply_overrides(findings: list[Finding], settings: AudioSettings) -> list[Finding]:
    if not settings.ignore and not settings.severity:
        return findings
    out = []
    for f in findings:
        if f.rule in settings.ignore:
            continue
        sev = settings.severity.get(f.rule)
        out.append(replace(f, severity=sev) if sev else f)
    return out


def _file_level(c: _Ctx) -> bool:
    """Rules that make every other check meaningless; False stops the header checks."""
    p = c.probe
    if p.size_bytes == 0 and p.error == EMPTY_FILE:
        c.add("empty", "error", "empty file (0 bytes)", "re-export or re-upload the prompt")
        return False
    if p.error:
        c.add("unreadable", "error", p.error, "re-export the prompt as 16-bit PCM WAV")
        return False
    if p.truncated:
        c.add(
            "truncated", "error", _truncated_message(p), c.convert("re-upload the complete file, or keep what is there")
        )
    if p.length_known and p.frames == 0 and not p.truncated:
        c.add(
            "no-audio",
            "error",
            "no audio samples: " + ("; ".join(p.notes) or "the data is empty"),
            "re-export the prompt",
        )
        return False
    for note in p.notes:
        if not note.startswith("data chunk declares 0 bytes"):
            c.add("header-oddity", "warning", note, c.convert("write a clean copy"))
    return True


def _truncated_message(p: Probe) -> str:
    have = f"{p.duration_s:.2f} s"
    if p.declared_frames and p.sample_rate:
        return f"truncated: the header declares {p.declared_frames / p.sample_rate:.2f} s, the file holds {have}"
    return f"truncated: the last frame is cut short ({have} readable)"


def _container(c: _Ctx) -> bool:
    """Container rules; False when the container itself is refused (codec details would be noise)."""
    p, audio = c.probe, c.audio
    if p.container in audio.containers and not (p.container == "MP3" and p.subtype != "MPEG_LAYER_III"):
        if audio.mp3_needs_id3v2 and p.container == "MP3" and not p.has_id3v2:
            c.add(
                "id3v2-missing",
                "error",
                f"MP3 without an ID3v2 tag: {c.pname} plays only MP3s that have one",
                c.convert("add an ID3v2 tag, or write a 16 kHz mono WAV"),
            )
        return True
    layer = {"MPEG_LAYER_I": "MP1", "MPEG_LAYER_II": "MP2"}
    what = layer.get(p.subtype, p.container) if p.container == "MP3" else p.container
    c.add(
        "format",
        "error",
        f"{what} is not played by {c.pname}, which takes {audio.accepts}",
        c.convert(f"write the {audio.convert_rate // 1000} kHz mono WAV it plays"),
    )
    return False


def _pcm_rules(c: _Ctx) -> None:
    p, audio = c.probe, c.audio
    if p.container == "MP3":
        return
    if audio.wav_codecs is not None:  # a list of codecs, in any layout (SignalWire)
        if p.subtype not in audio.wav_codecs:
            c.add(
                "codec",
                "error",
                f"{p.subtype} is not in {c.pname}'s list ({audio.accepts})",
                c.convert("write 16-bit PCM"),
            )
        return
    advice = audio.layout_is_advice
    if not p.is_pcm:
        kind = "uncompressed PCM" if advice else "16-bit PCM"
        c.add(
            "codec",
            "error",
            f"{p.container} {p.subtype}: {c.pname} plays only {kind} WAV",
            c.convert("write 16-bit PCM"),
        )
    elif p.bits != 16:
        c.add(
            "bit-depth",
            "warning" if advice else "error",
            f"{p.bits}-bit PCM: {c.pname} {'recommends' if advice else 'needs'} 16-bit",
            c.convert("write 16-bit"),
        )
    _rate_and_channels(c)
    if p.extensible:
        c.add(
            "wav-extensible",
            "warning",
            "WAVE_FORMAT_EXTENSIBLE header; strict players expect plain PCM",
            c.convert("write a plain PCM header"),
        )


def _rate_and_channels(c: _Ctx) -> None:
    p, audio = c.probe, c.audio
    rates = audio.wav_rates
    if (not rates or p.sample_rate in rates) and p.channels == 1:
        return
    sev: Severity = "warning" if audio.layout_is_advice else "error"
    verb = "recommends" if audio.layout_is_advice else "needs"
    if rates and p.sample_rate not in rates:
        need = " or ".join(f"{r // 1000} kHz" for r in rates)
        c.add(
            "sample-rate",
            sev,
            f"{p.sample_rate / 1000:g} kHz: {c.pname} {verb} {need}",
            c.convert(f"resample to {rates[-1] // 1000} kHz mono"),
        )
    if p.channels != 1:
        c.add("channels", sev, f"{p.channels} channels: {c.pname} {verb} mono", c.convert("downmix to mono"))


def _size_and_length(c: _Ctx, th: Thresholds) -> None:
    p = c.probe
    limit = _size_limit(th, c.audio.max_bytes)
    if limit is not None and p.size_bytes > limit:
        c.add(
            "file-size",
            "error",
            f"{_mb(p.size_bytes)}: {c.pname} takes at most {_mb(limit)}",
            c.convert("shorten it, or write 8 kHz mono 16-bit"),
        )
    if not p.length_known or p.truncated:
        return
    if p.duration_s > th.max_duration_s:
        c.add(
            "duration-max", "warning", f"{p.duration_s:.0f} s long (limit {th.max_duration_s:g} s)", "split the prompt"
        )
    if 0 < p.duration_s < th.min_duration_s:
        c.add(
            "duration-min",
            "warning",
            f"only {p.duration_s * 1000:.0f} ms long (minimum {th.min_duration_s:g} s)",
            "check the export",
        )


def _size_limit(th: Thresholds, platform: int | None) -> int | None:
    """Bytes: the config's max_size_mb, never above the provider's own limit. MB are decimal (1,000,000
    bytes) here as in the providers' documentation, so "50 MB" means the same in a config and on Chime."""
    mine = int(th.max_size_mb * 1_000_000) if th.max_size_mb is not None else None
    if platform is None:
        return mine
    return platform if mine is None else min(mine, platform)


def _mb(size: int) -> str:
    """Decimal megabytes, as providers state their limits ("50 MB" is 50,000,000 bytes on Chime)."""
    return f"{size / 1e6:.1f} MB" if size % 1_000_000 else f"{size // 1_000_000} MB"


def _source_rules(c: _Ctx, kind: SourceKind) -> None:
    """Content-Type rules for URLs and S3 objects (local files have none)."""
    p, ctype = c.probe, (c.probe.content_type or "").split(";")[0].strip().lower()
    wanted = c.audio.s3_content_types
    if kind == "s3" and wanted:
        if ctype not in wanted:
            c.add(
                "content-type",
                "error",
                f"S3 ContentType is {ctype or 'missing'}: {c.pname} needs {' or '.join(wanted)}",
                _set_content_type(p.name, wanted[0]),
            )
        return
    if not ctype:
        c.add("content-type", "warning", "the server sends no Content-Type", "serve it as audio/wav or audio/mpeg")
    elif ctype.startswith(("text/", "application/json", "application/xml", "application/xhtml")):
        c.add(
            "content-type",
            "error",
            f"Content-Type {ctype}: the provider will not take it for audio",
            "serve the file with an audio/* Content-Type",
        )
    elif ctype in ("application/octet-stream", "binary/octet-stream"):
        c.add("content-type", "warning", f"generic Content-Type {ctype}", "serve it as audio/wav or audio/mpeg")
    elif p.ok and p.container in _MIME and ctype not in _MIME[p.container]:
        c.add(
            "content-type",
            "warning",
            f"Content-Type {ctype} but the file is {p.container}",
            f"serve it as {_MIME[p.container][0]}",
        )


def _set_content_type(uri: str, ctype: str) -> str:
    """The command that sets an S3 object's Content-Type in place (a copy onto itself with new metadata)."""
    q = shlex.quote(uri)
    return f"set it in place: aws s3 cp {q} {q} --content-type {ctype} --metadata-directive REPLACE"


def _sample_rules(c: _Ctx, st: SampleStats, th: Thresholds) -> None:
    if st.decode_error:
        c.add("decode-error", "error", f"cannot decode the samples: {st.decode_error}", "re-export the prompt")
        return
    if st.frames == 0:
        return
    if st.non_finite:
        c.add("non-finite", "error", f"{st.non_finite} NaN/inf samples", c.convert("zero them"))
    peak_dbfs = st.peak_dbfs
    if peak_dbfs < th.silent_peak_dbfs:
        c.add(
            "all-silent",
            "error",
            f"silent: peak {_db(peak_dbfs)} (below {th.silent_peak_dbfs:g} dBFS)",
            SILENT_FIX,
        )
        return
    _level_rules(c, st, th, peak_dbfs)
    _silence_rules(c, st, th)


def _level_rules(c: _Ctx, st: SampleStats, th: Thresholds, peak_dbfs: float) -> None:
    if st.clipped >= th.clip_min_samples:
        full = _db(20 * math.log10(st.clip_level))
        c.add(
            "clipping",
            "error",
            f"clipped: {st.clipped} samples at full scale ({full})",
            c.convert("the copy gets headroom and passes, but keeps the distortion: re-record lower for quality"),
        )
    elif peak_dbfs > th.max_peak_dbfs:
        c.add(
            "peak", "warning", f"peak {_db(peak_dbfs)} is above {th.max_peak_dbfs:g} dBFS", c.convert("leave headroom")
        )
    if st.active_rms_dbfs < th.min_rms_dbfs:
        c.add(
            "loudness-low",
            "warning",
            f"quiet: speech RMS {_db(st.active_rms_dbfs)} (minimum {th.min_rms_dbfs:g})",
            c.convert("raise the level", " --normalize"),
        )
    elif st.active_rms_dbfs > th.max_rms_dbfs:
        c.add(
            "loudness-high",
            "warning",
            f"loud: speech RMS {_db(st.active_rms_dbfs)} (maximum {th.max_rms_dbfs:g})",
            "re-master at about -22 dBFS RMS",
        )
    if st.dc_offset > th.max_dc_offset:
        c.add(
            "dc-offset",
            "warning",
            f"DC offset {st.dc_offset:.3f} of full scale (max {th.max_dc_offset:g})",
            c.convert("remove it"),
        )


def _silence_rules(c: _Ctx, st: SampleStats, th: Thresholds) -> None:
    if st.leading_silence_s > th.max_leading_silence_s:
        c.add(
            "silence-leading",
            "warning",
            f"{st.leading_silence_s:.2f} s of silence before the first sound (max {th.max_leading_silence_s:g} s)",
            c.convert("trim it", " --trim"),
        )
    if st.trailing_silence_s > th.max_trailing_silence_s:
        c.add(
            "silence-trailing",
            "warning",
            f"{st.trailing_silence_s:.2f} s of silence after the last sound (max {th.max_trailing_silence_s:g} s)",
            c.convert("trim it", " --trim"),
        )


def _db(value: float) -> str:
    return "-inf dBFS" if value == -math.inf else f"{value:.1f} dBFS"


# -------------------------------------------------------------------------------------- provider helper


def refusals(src: str | Path | bytes | Probe, target: str) -> list[str]:
    """Why `target` would refuse this file, from the header alone (its errors); [] when it plays.

    For a backend to call before it sends a file (Chime, before uploading), so that `play` refuses exactly
    what `validate-audio --target T --quick` calls an error. Warnings (off-recommendation rate or channels on
    Chime) are not refusals and are left out.
    """
    from callplay.audio.probe import probe_bytes

    if isinstance(src, Probe):
        probe = src
    elif isinstance(src, bytes):
        probe = probe_bytes(src)
    else:
        probe = probe_path(src)
    return [f.message for f in check(probe, None, [target]) if f.severity == "error"]
