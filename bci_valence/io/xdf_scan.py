"""A cheap structural scan of an XDF file: its streams, their footers and sample counts.

Reading an XDF file with pyxdf allocates from what the headers declare; a damaged or
hostile header (a billion channels in a 300 KB file) would exhaust memory before any
error. The scan walks the chunk structure only (lengths, tags, the stream headers' and
footers' XML), checks every declared size against the file's own size, and says what
the file holds: the reader uses it before pyxdf, the recorder to verify a recording.
"""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

__all__ = ["XdfScanError", "XdfStream", "scan_xdf"]

_MAGIC = b"XDF:"
_TAG_STREAM_HEADER, _TAG_SAMPLES, _TAG_FOOTER = 2, 3, 6
#: Largest XML header read (bytes): LSL stream descriptions are a few kB.
_MAX_XML = 16 * 1024 * 1024
_VALUE_BYTES = {"float32": 4, "double64": 8, "int8": 1, "int16": 2, "int32": 4, "int64": 8, "string": 1}


class XdfScanError(ValueError):
    """The file is not a well-formed XDF file; the message says where and why."""


@dataclass
class XdfStream:
    """One stream of an XDF file, as its chunks describe it.

    Attributes
    ----------
    stream_id : int
    name, stype, source_id : str
    channel_count : int
    nominal_srate : float
    channel_format : str
    sample_chunks : int
        Samples chunks found.
    samples_in_chunks : int
        Samples those chunks say they hold (what a reader will find).
    footer_sample_count : int | None
        The sample count its footer states; None when it has no footer (a recording that
        was not closed).
    """

    stream_id: int
    name: str = ""
    stype: str = ""
    source_id: str = ""
    channel_count: int = 0
    nominal_srate: float = 0.0
    channel_format: str = ""
    sample_chunks: int = 0
    samples_in_chunks: int = 0
    footer_sample_count: int | None = None

    @property
    def has_footer(self) -> bool:
        """Whether the stream was closed (LabRecorder writes the footer at the end)."""
        return self.footer_sample_count is not None


def _xml(raw: bytes, path: Path, what: str) -> ET.Element:
    try:
        return ET.fromstring(raw.decode("utf-8", errors="replace"))
    except ET.ParseError as err:
        raise XdfScanError(f"XDF file {str(path)!r}: {what} is not valid XML ({err})") from None


def _text(node: ET.Element, tag: str) -> str:
    found = node.find(tag)
    return (found.text or "").strip() if found is not None else ""


def scan_xdf(path: str | Path, *, allow_truncated: bool = False) -> dict[int, XdfStream]:
    """Walk the chunks of an XDF file without reading the samples.

    Parameters
    ----------
    path : str | Path
    allow_truncated : bool
        Accept a last chunk cut off by the end of the file (a recording that was not
        closed); the streams found so far are returned.

    Returns
    -------
    dict of int to XdfStream
        The streams by stream id, in the order their headers appear.

    Raises
    ------
    XdfScanError
        Not an XDF file, a chunk longer than what is left of the file, a header that
        declares more channels than the file could hold, malformed XML.
    """
    path = Path(path)
    size = path.stat().st_size
    streams: dict[int, XdfStream] = {}
    with path.open("rb") as fh:
        if fh.read(4) != _MAGIC:
            raise XdfScanError(f"{str(path)!r} is not an XDF file (it does not start with 'XDF:')")
        while True:
            at = fh.tell()
            first = fh.read(1)
            if not first:
                break
            n_len = first[0]
            if n_len not in (1, 4, 8):
                raise XdfScanError(f"XDF file {str(path)!r}: corrupt chunk at byte {at} (length field of {n_len} bytes)")
            raw_len = fh.read(n_len)
            if len(raw_len) < n_len:
                if allow_truncated:
                    break
                raise XdfScanError(f"XDF file {str(path)!r} is truncated at byte {at}")
            length = int.from_bytes(raw_len, "little")
            left = size - fh.tell()
            if length < 2 or length > left:
                if allow_truncated and length > left:
                    break
                raise XdfScanError(
                    f"XDF file {str(path)!r}: the chunk at byte {at} declares {length} bytes, "
                    f"{left} are left in the file (truncated or corrupt)"
                )
            (tag,) = struct.unpack("<H", fh.read(2))
            body = length - 2
            if tag in (_TAG_STREAM_HEADER, _TAG_FOOTER, _TAG_SAMPLES) and body >= 4:
                (sid,) = struct.unpack("<I", fh.read(4))
                body -= 4
                if tag == _TAG_SAMPLES:
                    stream = streams.get(sid)
                    n_count = fh.read(1)[0] if body else 0
                    count = int.from_bytes(fh.read(n_count), "little") if n_count in (1, 4, 8) else 0
                    if stream is not None:
                        stream.sample_chunks += 1
                        stream.samples_in_chunks += count
                    fh.seek(body - 1 - (n_count if n_count in (1, 4, 8) else 0), 1)
                    continue
                if body > _MAX_XML:
                    raise XdfScanError(f"XDF file {str(path)!r}: a {body}-byte header at byte {at} (at most {_MAX_XML})")
                node = _xml(fh.read(body), path, f"the header of stream {sid}")
                if tag == _TAG_STREAM_HEADER:
                    streams[sid] = _stream_header(sid, node, path, size)
                else:
                    stream = streams.setdefault(sid, XdfStream(sid))
                    count = _text(node, "sample_count")
                    stream.footer_sample_count = int(count) if count.isdigit() else 0
                continue
            fh.seek(body, 1)
    return streams


def _stream_header(sid: int, node: ET.Element, path: Path, size: int) -> XdfStream:
    count = _text(node, "channel_count")
    fmt = _text(node, "channel_format")
    try:
        channels = int(count)
        srate = float(_text(node, "nominal_srate") or 0)
    except ValueError:
        raise XdfScanError(
            f"XDF file {str(path)!r}: stream {sid} declares channel_count {count!r}, not a number"
        ) from None
    per_value = _VALUE_BYTES.get(fmt, 1)
    if channels < 1 or channels * per_value > size:
        raise XdfScanError(
            f"XDF file {str(path)!r}: stream {sid} declares {channels} channels of {fmt or 'unknown format'}, "
            f"more than the whole file ({size} bytes) could hold: the header is corrupt"
        )
    return XdfStream(
        stream_id=sid, name=_text(node, "name"), stype=_text(node, "type"), source_id=_text(node, "source_id"),
        channel_count=channels, nominal_srate=srate, channel_format=fmt,
    )  # fmt: skip
