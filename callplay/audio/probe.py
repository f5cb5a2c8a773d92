"""What an audio file is, from its header alone, in pure Python (no numpy, no soundfile).

This is the whole of `validate-audio --quick` and the first half of the full check, so both passes see the
same container, codec, rate, channels, size and truncation and so agree on every header rule. A damaged,
empty or non-audio file gives a Probe with `error` set; nothing here raises on bad input.

Detection is by content, never by extension (an MP3 named .wav is an MP3), except raw GSM, which has no header.
"""

from __future__ import annotations

import io
import os
import struct
from dataclasses import asdict, dataclass, field
from typing import IO, Any

from callplay.audio import mp3

EMPTY_FILE = "empty file (0 bytes)"
HEAD_BYTES = 4096  # one read covers the header of nearly every WAV/AIFF/AU file
MP3_WALK_LIMIT = 32 * 1024 * 1024  # larger MP3s are estimated from their Xing header or bitrate

WAV_TAGS = {
    0x0001: "PCM",
    0x0002: "MS_ADPCM",
    0x0003: "FLOAT",
    0x0006: "ALAW",
    0x0007: "ULAW",
    0x0011: "IMA_ADPCM",
    0x0031: "GSM610",
    0x0040: "G721_32",
    0x0050: "MPEG_LAYER_II",
    0x0055: "MPEG_LAYER_III",
}
AU_ENCODINGS = {
    1: ("ULAW", 8),
    2: ("PCM_S8", 8),
    3: ("PCM_16", 16),
    4: ("PCM_24", 24),
    5: ("PCM_32", 32),
    6: ("FLOAT", 32),
    7: ("DOUBLE", 64),
    23: ("G721_32", 4),
    27: ("ALAW", 8),
}
AIFC_CODECS = {
    b"NONE": "PCM",
    b"twos": "PCM",
    b"sowt": "PCM",
    b"in24": "PCM",
    b"in32": "PCM",
    b"raw ": "PCM_U8",
    b"fl32": "FLOAT",
    b"FL32": "FLOAT",
    b"fl64": "DOUBLE",
    b"FL64": "DOUBLE",
    b"ulaw": "ULAW",
    b"ULAW": "ULAW",
    b"alaw": "ALAW",
    b"ALAW": "ALAW",
    b"ima4": "IMA_ADPCM",
    b"GSM ": "GSM610",
}
# Containers libsndfile can decode, so the full pass can measure their samples.
DECODABLE = frozenset({"WAV", "RF64", "AIFF", "AU", "MP3", "FLAC", "OGG", "CAF", "W64"})


@dataclass(slots=True)
class Probe:
    """The header facts of one file. `frames` counts the frames actually present (not the declared ones)."""

    name: str = ""
    container: str = "unknown"  # WAV RF64 AIFF AU MP3 FLAC OGG CAF W64 MP4 AMR GSM unknown
    subtype: str = ""  # libsndfile's names: PCM_16 PCM_24 FLOAT ULAW ALAW MPEG_LAYER_III GSM610 ...
    sample_rate: int = 0
    channels: int = 0
    bits: int | None = None  # bits per sample for PCM, float and G.711; None for compressed codecs
    frames: int = 0
    duration_s: float = 0.0
    size_bytes: int = 0
    has_id3v2: bool = False
    error: str | None = None  # set when the file cannot be read as audio at all
    truncated: bool = False
    declared_frames: int | None = None  # what the header promised, when it differs from what is there
    length_known: bool = True  # False when the header does not give the length (some OGG, CAF, W64)
    extensible: bool = False  # WAVE_FORMAT_EXTENSIBLE header
    bitrate_kbps: int | None = None
    vbr: bool = False
    content_type: str | None = None  # for URLs and S3 objects: what the server says the file is
    notes: list[str] = field(default_factory=list)  # oddities that do not stop reading
    data_offset: int | None = None  # where PCM/G.711/float samples start, for direct reads
    big_endian: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def decodable(self) -> bool:
        return self.error is None and self.container in DECODABLE

    @property
    def is_pcm(self) -> bool:
        return self.subtype.startswith("PCM_")

    def describe(self) -> str:
        """One short line for tables: 'WAV PCM_16 16 kHz mono 3.00 s'."""
        if self.error:
            return self.container if self.container != "unknown" else "?"
        parts = [self.container, self.subtype.replace("MPEG_LAYER_III", "L3")]
        if self.sample_rate:
            parts.append(f"{self.sample_rate / 1000:g} kHz")
        if self.channels:
            parts.append({1: "mono", 2: "stereo"}.get(self.channels, f"{self.channels} ch"))
        if self.length_known:
            parts.append(f"{self.duration_s:.2f} s")
        return " ".join(p for p in parts if p)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Reader:
    """Random access over a file object that keeps the first read as a cache (most headers fit in it)."""

    def __init__(self, f: IO[bytes], size: int) -> None:
        self.f = f
        self.size = size
        f.seek(0)
        self.head = f.read(HEAD_BYTES)

    def at(self, pos: int, n: int) -> bytes:
        if pos + n <= len(self.head):
            return self.head[pos : pos + n]
        self.f.seek(pos)
        return self.f.read(n)

    def all(self) -> bytes:
        self.f.seek(0)
        return self.f.read()


def probe_path(path: str | os.PathLike[str]) -> Probe:
    """Probe a local file. A missing or unreadable file is a Probe with `error`, not an exception."""
    name = os.fspath(path)
    try:
        with open(path, "rb", buffering=0) as f:  # raw: one read syscall, no buffer to fill
            return probe_file(f, os.fstat(f.fileno()).st_size, name)
    except OSError as exc:
        return Probe(name=name, error=f"cannot read: {exc.strerror or exc}")


def probe_bytes(data: bytes, name: str = "") -> Probe:
    return probe_file(io.BytesIO(data), len(data), name)


def probe_file(f: IO[bytes], size: int, name: str = "") -> Probe:
    probe = Probe(name=name, size_bytes=size)
    if size == 0:
        probe.error = EMPTY_FILE
        return probe
    try:
        r = _Reader(f, size)
        _dispatch(r, probe)
    except (struct.error, IndexError, ValueError, ZeroDivisionError) as exc:
        probe.error = f"malformed header ({exc.__class__.__name__}: {exc})"
    except OSError as exc:
        probe.error = f"cannot read: {exc}"
    if probe.error is None and probe.sample_rate and probe.length_known:
        probe.duration_s = probe.frames / probe.sample_rate
    return probe


def _dispatch(r: _Reader, p: Probe) -> None:
    h = r.head
    magic, form = h[:4], h[8:12]
    if magic in (b"RIFF", b"RIFX") and form == b"WAVE":
        _parse_wav(r, p, big=magic == b"RIFX")
    elif magic in (b"RF64", b"BW64") and form == b"WAVE":
        p.container = "RF64"
        _parse_wav(r, p, big=False)
    elif magic == b"FORM" and form in (b"AIFF", b"AIFC"):
        _parse_aiff(r, p, aifc=form == b"AIFC")
    elif magic == b".snd":
        _parse_au(r, p)
    elif magic == b"fLaC":
        _parse_flac(r, p)
    elif magic == b"OggS":
        _parse_ogg(r, p)
    elif h[:3] == b"ID3" or mp3.parse_frame_header(h, 0) is not None:
        _parse_mp3(r, p)
    else:
        _other(r, p)


def _other(r: _Reader, p: Probe) -> None:
    h = r.head
    known = {b"caff": "CAF", b"riff": "W64", b"#!AM": "AMR"}
    if h[:4] in known:
        p.container, p.length_known = known[h[:4]], False
    elif h[4:8] == b"ftyp":
        p.container, p.length_known = "MP4", False  # AAC/M4A: libsndfile cannot read it
    elif p.name.lower().endswith(".gsm") and r.size % 33 == 0 and h[0] >> 4 == 0xD:
        # Raw GSM 06.10: 33-byte frames of 160 samples at 8 kHz, each starting with the 0xD magic nibble.
        p.container, p.subtype, p.sample_rate, p.channels = "GSM", "GSM610", 8000, 1
        p.frames = r.size // 33 * 160
    elif h[:4] == b"RIFF":
        p.error = f"RIFF file of type {h[8:12]!r}, not WAVE"
    elif mp3._first_frame(h, 0) is not None:
        _parse_mp3(r, p)
        p.notes.append("junk before the first MPEG frame")
    else:
        p.error = _not_audio(h)


def _not_audio(h: bytes) -> str:
    text = h[:512].lstrip().lower()
    if text.startswith((b"<!doctype html", b"<html", b"<?xml", b"<")):
        return "not audio: the content is HTML/XML (an error page?)"
    if text.startswith((b"{", b"[")):
        return "not audio: the content is JSON"
    return "format not recognised (not WAV, MP3, AIFF, AU, FLAC or OGG)"


# ------------------------------------------------------------------------------------------------- WAV


@dataclass(slots=True)
class _Fmt:
    tag: int
    channels: int
    rate: int
    byte_rate: int
    block_align: int
    bits: int
    extensible: bool


def _parse_fmt(body: bytes, e: str) -> _Fmt:
    tag, channels, rate, byte_rate, block_align, bits = struct.unpack(e + "HHIIHH", body[:16])
    extensible = tag == 0xFFFE
    if extensible and len(body) >= 40:
        tag = struct.unpack(e + "H", body[24:26])[0]  # first two bytes of the SubFormat GUID
    return _Fmt(tag, channels, rate, byte_rate, block_align, bits, extensible)


def _wav_chunks(r: _Reader, p: Probe, e: str) -> tuple[_Fmt | None, int | None, int | None, int | None]:
    """Walk the chunks up to 'data': (fmt, data offset, data size, fact samples)."""
    fmt, fact, ds64_data = None, None, None
    pos = 12
    while pos + 8 <= r.size:
        cid, csize = r.at(pos, 4), struct.unpack(e + "I", r.at(pos + 4, 4))[0]
        if cid == b"ds64":
            ds64_data = struct.unpack("<Q", r.at(pos + 16, 8))[0]
        elif cid == b"fmt ":
            body = r.at(pos + 8, min(csize, 64))
            if csize < 16 or len(body) < 16:
                p.error = "malformed 'fmt ' chunk (cut short)"
                return None, None, None, None
            fmt = _parse_fmt(body, e)
        elif cid == b"fact" and csize >= 4:
            fact = struct.unpack(e + "I", r.at(pos + 8, 4))[0]
        elif cid == b"data":
            if ds64_data is not None and csize == 0xFFFFFFFF:
                csize = ds64_data
            return fmt, pos + 8, csize, fact
        pos += 8 + csize + (csize & 1)  # chunks are word-aligned
    return fmt, None, None, fact


def _parse_wav(r: _Reader, p: Probe, big: bool) -> None:
    if p.container == "unknown":
        p.container = "WAV"
    e = ">" if big else "<"
    fmt, off, size, fact = _wav_chunks(r, p, e)
    if p.error:
        return
    if fmt is None:
        p.error = "no 'fmt ' chunk before the data"
        return
    if off is None or size is None:
        p.error = "no 'data' chunk (header only, or cut before the audio)"
        return
    p.sample_rate, p.channels, p.extensible = fmt.rate, fmt.channels, fmt.extensible
    p.subtype, p.bits = _wav_subtype(fmt)
    p.data_offset, p.big_endian = off, big
    if fmt.channels == 0 or fmt.rate == 0 or fmt.block_align == 0:
        p.error = f"invalid 'fmt ' chunk ({fmt.channels} channels, {fmt.rate} Hz, block {fmt.block_align})"
        return
    _wav_length(r, p, fmt, off, size, fact)


def _wav_subtype(fmt: _Fmt) -> tuple[str, int | None]:
    name = WAV_TAGS.get(fmt.tag, f"UNKNOWN_0x{fmt.tag:04X}")
    if name == "PCM":
        return ("PCM_U8" if fmt.bits <= 8 else f"PCM_{fmt.bits}"), fmt.bits
    if name == "FLOAT":
        return ("DOUBLE" if fmt.bits == 64 else "FLOAT"), fmt.bits
    if name in ("ULAW", "ALAW"):
        return name, 8
    return name, None


def _wav_length(r: _Reader, p: Probe, fmt: _Fmt, off: int, size: int, fact: int | None) -> None:
    present = max(r.size - off, 0)
    if size == 0xFFFFFFFF:
        p.notes.append("data size 0xFFFFFFFF (streamed header): length taken from the file size")
        size = present
    elif size == 0 and present > 0:
        p.notes.append(f"data chunk declares 0 bytes but {present} bytes follow: readers play nothing")
    available = min(size, present)
    pcm_like = p.bits is not None
    if size > present:
        p.truncated = True
        p.declared_frames = _wav_frames(size, fmt, fact, pcm_like)
    p.frames = _wav_frames(available, fmt, None if p.truncated else fact, pcm_like)
    if p.bits is None and fmt.byte_rate:
        p.bitrate_kbps = fmt.byte_rate * 8 // 1000


def _wav_frames(nbytes: int, fmt: _Fmt, fact: int | None, pcm_like: bool) -> int:
    if pcm_like:
        return nbytes // fmt.block_align
    if fmt.tag == 0x0031 and fmt.block_align == 65:
        return nbytes // 65 * 320  # GSM 6.10 in WAV: libsndfile counts whole 320-sample blocks
    if fact is not None:
        return fact  # compressed: the fact chunk holds the sample count
    return int(nbytes / fmt.byte_rate * fmt.rate) if fmt.byte_rate else 0


# ------------------------------------------------------------------------------------------ AIFF and AU


def _extended(b: bytes) -> float:
    """An IEEE 754 80-bit extended float (AIFF's sample rate)."""
    exp = ((b[0] & 0x7F) << 8) | b[1]
    mant = int.from_bytes(b[2:10], "big")
    if exp == 0 and mant == 0:
        return 0.0
    value = mant * 2.0 ** (exp - 16383 - 63)
    return -value if b[0] & 0x80 else value


def _parse_aiff(r: _Reader, p: Probe, aifc: bool) -> None:
    p.container = "AIFF"
    comm, ssnd = None, None
    pos = 12
    while pos + 8 <= r.size and (comm is None or ssnd is None):
        cid, csize = r.at(pos, 4), struct.unpack(">I", r.at(pos + 4, 4))[0]
        if cid == b"COMM":
            comm = r.at(pos + 8, min(csize, 64))
        elif cid == b"SSND":
            ssnd = (pos + 16 + struct.unpack(">I", r.at(pos + 8, 4))[0], csize - 8)
        pos += 8 + csize + (csize & 1)
    if comm is None or len(comm) < 18:
        p.error = "no or malformed 'COMM' chunk"
        return
    if ssnd is None:
        p.error = "no 'SSND' chunk (no audio data)"
        return
    channels, frames, bits = struct.unpack(">hIh", comm[:8])
    p.channels, p.sample_rate = channels, round(_extended(comm[8:18]))
    codec = AIFC_CODECS.get(comm[18:22], "UNKNOWN") if aifc and len(comm) >= 22 else "PCM"
    p.subtype, p.bits = _aiff_subtype(codec, bits)
    p.data_offset, p.big_endian = ssnd[0], not (aifc and comm[18:22] == b"sowt")
    _aiff_length(r, p, frames, bits, ssnd)


def _aiff_subtype(codec: str, bits: int) -> tuple[str, int | None]:
    if codec == "PCM":
        return ("PCM_S8" if bits <= 8 else f"PCM_{bits}"), bits
    if codec in ("ULAW", "ALAW", "PCM_U8"):
        return codec, 8
    if codec in ("FLOAT", "DOUBLE"):
        return codec, 32 if codec == "FLOAT" else 64
    return codec, None


def _aiff_length(r: _Reader, p: Probe, frames: int, bits: int, ssnd: tuple[int, int]) -> None:
    if p.channels <= 0 or p.sample_rate <= 0:
        p.error = f"invalid 'COMM' chunk ({p.channels} channels, {p.sample_rate} Hz)"
        return
    p.frames = frames
    if p.bits is None:
        return
    frame_bytes = p.channels * ((p.bits + 7) // 8)
    present = max(r.size - ssnd[0], 0) // frame_bytes
    if present < frames:
        p.truncated, p.declared_frames, p.frames = True, frames, present


def _parse_au(r: _Reader, p: Probe) -> None:
    p.container = "AU"
    off, size, enc, rate, channels = struct.unpack(">IIIII", r.at(4, 20))
    p.sample_rate, p.channels = rate, channels
    p.subtype, p.bits = AU_ENCODINGS.get(enc, (f"UNKNOWN_{enc}", None))
    p.data_offset, p.big_endian = off, True
    if channels == 0 or rate == 0:
        p.error = f"invalid AU header ({channels} channels, {rate} Hz)"
        return
    present = max(r.size - off, 0)
    if size != 0xFFFFFFFF and size > present:
        p.truncated = True
    bits = p.bits or 8
    frame_bytes = channels * bits / 8
    p.frames = int(min(size, present) / frame_bytes)
    if p.truncated:
        p.declared_frames = int(size / frame_bytes)


# ------------------------------------------------------------------------------------- FLAC, OGG, MP3


def _parse_flac(r: _Reader, p: Probe) -> None:
    p.container, p.subtype = "FLAC", "FLAC"
    info = r.at(8, 18)
    if len(info) < 18:
        p.error = "FLAC stream info cut short"
        return
    bits64 = int.from_bytes(info[10:18], "big")
    p.sample_rate = bits64 >> 44
    p.channels = ((bits64 >> 41) & 0x7) + 1
    p.bits = ((bits64 >> 36) & 0x1F) + 1
    p.frames = bits64 & 0xFFFFFFFFF
    p.length_known = p.frames > 0


def _parse_ogg(r: _Reader, p: Probe) -> None:
    p.container = "OGG"
    nseg = r.head[26] if len(r.head) > 26 else 0
    packet = r.at(27 + nseg, 20)
    preskip = 0
    if packet[:7] == b"\x01vorbis":
        p.subtype, p.channels, p.sample_rate = "VORBIS", packet[11], struct.unpack("<I", packet[12:16])[0]
    elif packet[:8] == b"OpusHead":
        # Granules count 48 kHz samples; libsndfile decodes at the input rate the header records.
        p.subtype, p.channels = "OPUS", packet[9]
        preskip, rate = struct.unpack("<HI", packet[10:16])
        p.sample_rate = rate or 48000
    else:
        p.subtype = "UNKNOWN"
    tail_from = max(r.size - 65536, 0)
    tail = r.at(tail_from, r.size - tail_from)
    last = tail.rfind(b"OggS")
    if last >= 0 and last + 14 <= len(tail) and p.sample_rate:
        granule = struct.unpack("<q", tail[last + 6 : last + 14])[0]
        scale = p.sample_rate / 48000 if p.subtype == "OPUS" else 1.0
        p.frames = max(int((granule - preskip) * scale), 0)
    else:
        p.length_known = False


def _parse_mp3(r: _Reader, p: Probe) -> None:
    p.container = "MP3"
    info = mp3.parse_mpeg(r.all()) if r.size <= MP3_WALK_LIMIT else _estimate_big_mp3(r)
    p.has_id3v2 = info.has_id3v2
    if info.error or info.first is None:
        p.error = info.error or "no MPEG audio frame found"
        return
    head = info.first
    p.subtype, p.sample_rate, p.channels = mp3.SUBTYPE_OF_LAYER[head.layer], head.sample_rate, head.channels
    p.frames, p.vbr, p.truncated = info.samples, info.vbr, info.truncated
    p.bitrate_kbps = head.bitrate_kbps if not info.vbr else None
    if info.truncated and info.declared_frames:
        p.declared_frames = info.declared_frames * head.samples
    if info.broken_at is not None:
        p.notes.append(f"MPEG stream damaged at byte {info.broken_at} (lost frame sync)")
    if info.mixed:
        p.notes.append("sample rate or channel count changes inside the stream")


def _estimate_big_mp3(r: _Reader) -> mp3.MpegInfo:
    """A large MP3: trust its Xing/VBRI header, else assume constant bitrate."""
    head = r.at(0, 1024 * 1024)
    info = mp3.parse_mpeg(head)
    if info.first is None:
        return info
    info.truncated = bool(info.declared_bytes and info.declared_bytes > r.size)
    frames = info.declared_frames or r.size // max(info.first.length, 1)
    info.frames = frames
    info.samples = max(frames * info.first.samples - info.gap, 0)
    return info
