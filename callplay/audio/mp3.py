"""MPEG audio (MP3) and ID3 parsing in pure Python, for --quick and for header rules.

We walk every frame header instead of trusting one: that gives the exact length of VBR files without a Xing
header (libsndfile only estimates those) and finds a file cut mid-frame (libsndfile reports its full length).
A frame header is 4 bytes and a 3 s prompt has about 100 frames, so the walk costs tens of microseconds.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

_BITRATES = {
    # (mpeg1?, layer) -> kbit/s by index 0..14
    (True, 1): (0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (True, 2): (0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (True, 3): (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (False, 1): (0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (False, 2): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    (False, 3): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}  # by version bits
_LAYER = {3: 1, 2: 2, 1: 3}  # layer bits -> layer number
SUBTYPE_OF_LAYER = {1: "MPEG_LAYER_I", 2: "MPEG_LAYER_II", 3: "MPEG_LAYER_III"}
SYNC_SEARCH = 64 * 1024  # how far past the tags we look for the first frame


@dataclass(frozen=True, slots=True)
class FrameHeader:
    version: int  # version bits: 3 = MPEG-1, 2 = MPEG-2, 0 = MPEG-2.5
    layer: int
    bitrate_kbps: int
    sample_rate: int
    channels: int
    length: int  # bytes, header included
    samples: int  # per channel, per frame

    @property
    def mpeg1(self) -> bool:
        return self.version == 3


def parse_frame_header(b: bytes, pos: int) -> FrameHeader | None:
    """The frame header at b[pos:pos+4], or None when those bytes are not a valid one."""
    if pos + 4 > len(b) or b[pos] != 0xFF or (b[pos + 1] & 0xE0) != 0xE0:
        return None
    b1, b2, b3 = b[pos + 1], b[pos + 2], b[pos + 3]
    version, layer_bits = (b1 >> 3) & 3, (b1 >> 1) & 3
    br_index, sr_index = b2 >> 4, (b2 >> 2) & 3
    if version == 1 or layer_bits == 0 or br_index in (0, 15) or sr_index == 3:
        return None  # reserved values; free-format (index 0) is not used by any encoder we meet
    layer = _LAYER[layer_bits]
    mpeg1 = version == 3
    kbps = _BITRATES[(mpeg1, layer)][br_index]
    rate = _RATES[version][sr_index]
    pad = (b2 >> 1) & 1
    if layer == 1:
        length, samples = (12 * kbps * 1000 // rate + pad) * 4, 384
    elif layer == 2 or mpeg1:
        length, samples = 144 * kbps * 1000 // rate + pad, 1152
    else:
        length, samples = 72 * kbps * 1000 // rate + pad, 576
    channels = 1 if (b3 >> 6) == 3 else 2
    return FrameHeader(version, layer, kbps, rate, channels, length, samples)


def id3v2_length(b: bytes, pos: int = 0) -> int:
    """Bytes taken by the ID3v2 tag at pos (header, body, footer), 0 when there is none."""
    if len(b) < pos + 10 or b[pos : pos + 3] != b"ID3":
        return 0
    size_bytes = b[pos + 6 : pos + 10]
    if any(c & 0x80 for c in size_bytes):
        return 0  # not syncsafe: not a real tag
    size = (size_bytes[0] << 21) | (size_bytes[1] << 14) | (size_bytes[2] << 7) | size_bytes[3]
    footer = 10 if b[pos + 5] & 0x10 else 0
    return 10 + size + footer


@dataclass(slots=True)
class MpegInfo:
    has_id3v2: bool = False
    id3v2_bytes: int = 0
    first: FrameHeader | None = None
    frames: int = 0  # audio frames counted (the Xing/Info frame excluded)
    samples: int = 0  # per channel, encoder delay and padding removed when the LAME tag gives them
    gap: int = 0  # encoder delay + padding from the LAME tag
    declared_frames: int | None = None  # from a Xing/Info or VBRI header
    declared_bytes: int | None = None
    vbr: bool = False
    truncated: bool = False
    broken_at: int | None = None  # offset of the first lost sync inside the stream
    error: str | None = None
    mixed: bool = False  # sample rate or channels change between frames


def _first_frame(data: bytes, start: int, limit: int = SYNC_SEARCH) -> int | None:
    """Offset of the first frame header whose successor (if any) is also a valid frame header.

    Two headers in a row rule out a stray 0xFF byte that happens to look like a header.
    """
    end = min(len(data) - 4, start + limit)
    pos = start
    while pos < end:
        pos = data.find(b"\xff", pos, end)
        if pos < 0:
            return None
        head = parse_frame_header(data, pos)
        if head is not None:
            nxt = pos + head.length
            # A lone header counts only as a single frame that ends exactly at the end of the data: random
            # bytes hold a plausible header every few kilobytes, and most of them point past the end.
            if nxt == len(data) or parse_frame_header(data, nxt) is not None:
                return pos
        pos += 1
    return None


def _vbr_header(b: bytes, pos: int, head: FrameHeader, info: MpegInfo) -> bool:
    """Read a Xing/Info or VBRI header in the frame at pos; True when the frame carries no audio."""
    mono = head.channels == 1
    side = (17 if mono else 32) if head.mpeg1 else (9 if mono else 17)  # side info precedes the tag
    x = pos + 4 + side
    tag = b[x : x + 4]
    if tag in (b"Xing", b"Info") and x + 8 <= len(b):
        info.vbr = tag == b"Xing"
        flags = struct.unpack_from(">I", b, x + 4)[0]
        off = x + 8
        if flags & 1 and off + 4 <= len(b):
            info.declared_frames = struct.unpack_from(">I", b, off)[0]
            off += 4
        if flags & 2 and off + 4 <= len(b):
            info.declared_bytes = struct.unpack_from(">I", b, off)[0]
            off += 4
        off += (100 if flags & 4 else 0) + (4 if flags & 8 else 0)
        _lame_gap(b, off, info)
        return True
    v = pos + 4 + 32
    if b[v : v + 4] == b"VBRI" and v + 18 <= len(b):
        info.vbr = True
        info.declared_bytes, info.declared_frames = struct.unpack_from(">II", b, v + 10)
        return True
    return False


def _lame_gap(b: bytes, off: int, info: MpegInfo) -> None:
    """Encoder delay and padding from the LAME tag, which gapless decoders (mpg123) remove."""
    if b[off : off + 4] in (b"LAME", b"Lavf", b"Lavc") and off + 24 <= len(b):
        d = b[off + 21 : off + 24]
        info.gap = (d[0] << 4 | d[1] >> 4) + ((d[1] & 0x0F) << 8 | d[2])


def _audio_end(b: bytes) -> int:
    """Where the MPEG stream ends: before an ID3v1 tag or an APE tag."""
    end = len(b)
    if end >= 128 and b[end - 128 : end - 125] == b"TAG":
        end -= 128
    if end >= 32 and b[end - 32 : end - 24] == b"APETAGEX":
        size = struct.unpack_from("<I", b, end - 20)[0]
        end -= size + (32 if b[end - 9] & 0x80 else 0)
    return max(end, 0)


def parse_mpeg(data: bytes) -> MpegInfo:
    """Walk an MP3 (or MP2/MP1) stream held in memory."""
    info = MpegInfo()
    pos = 0
    while (n := id3v2_length(data, pos)) > 0:  # some taggers write several tags in a row
        info.has_id3v2 = True
        info.id3v2_bytes += n
        pos += n
    start = _first_frame(data, pos)
    if start is None:
        info.error = "no MPEG audio frame found" if pos < len(data) else "an ID3 tag but no audio after it"
        return info
    head = parse_frame_header(data, start)
    assert head is not None
    info.first = head
    if not _trust_vbr_header(data, start, head, info):
        _walk(data, start, head, info)
    info.samples = max(info.frames * head.samples - info.gap, 0)
    if info.declared_bytes is not None and info.declared_bytes > len(data) - start:
        info.truncated = True
    if info.declared_frames is not None and info.frames < info.declared_frames:
        info.truncated = True
    return info


def _trust_vbr_header(b: bytes, start: int, head: FrameHeader, info: MpegInfo) -> bool:
    """When the Xing/Info/VBRI header's byte count matches the stream exactly, its frame count is the truth
    (LAME and most encoders write one) and the walk can be skipped; anything else is walked frame by frame."""
    probe = MpegInfo()
    if not _vbr_header(b, start, head, probe) or not probe.declared_frames or probe.declared_bytes is None:
        return False
    if probe.declared_bytes != _audio_end(b) - start:
        return False
    info.vbr, info.gap = probe.vbr, probe.gap
    info.declared_frames, info.declared_bytes = probe.declared_frames, probe.declared_bytes
    info.frames = probe.declared_frames
    return True


def _walk(b: bytes, start: int, head: FrameHeader, info: MpegInfo) -> None:
    end = _audio_end(b)
    pos = start
    # Frame headers repeat (only bitrate and padding vary), so parse each distinct one once: a dict lookup
    # per frame keeps a 3 s prompt at a few microseconds.
    seen: dict[bytes, FrameHeader | None] = {}
    first = True
    while pos < end:
        key = b[pos : pos + 4]
        h = seen.get(key, _MISSING)
        if h is _MISSING:
            h = seen[key] = parse_frame_header(b, pos)
        if h is None:
            if end - pos < 4 or b.count(0, pos, end) == end - pos:
                return  # zero padding at the end is harmless
            if info.broken_at is None:
                info.broken_at = pos
            nxt = _first_frame(b, pos + 1, limit=len(b))  # resync: junk or a tag inside the stream
            if nxt is None:
                return
            pos = nxt
            continue
        assert isinstance(h, FrameHeader)
        if h.sample_rate != head.sample_rate or h.channels != head.channels:
            info.mixed = True
        if pos + h.length > end:
            info.truncated = True  # the last frame is cut: decoders drop or garble it
            return
        if first:
            first = False
            if _vbr_header(b, pos, h, info):
                pos += h.length
                continue
        info.frames += 1
        pos += h.length


_MISSING: Any = object()
