"""The quantized weight file's layout (docs/quantized-weights.md): magic, version, a JSON header with the tensor
table and its SHA-256, 4096-aligned arrays, a trailer; building and checking those bytes, no file I/O."""
from __future__ import annotations

import hashlib
import json
import struct
from typing import Any, Dict, List, Tuple

MAGIC = b"GLMQUANT"
TRAILER_MAGIC = b"GLMQEND\0"
FORMAT_VERSION = 1
ALIGN = 4096  # every array starts on a page: mapped arrays are page-aligned, and madvise can work per tensor
PREFIX = struct.Struct("<8sII")  # magic, format version, header length
TRAILER = struct.Struct("<8sQ32s16x")  # magic, file size, the header's SHA-256, 16 zero bytes
DIGEST_BYTES = 32
CRC_PLACEHOLDER = "00000000"  # the table is written before the data; its checksums are filled in at the end
PRECISIONS = {"int8": 8, "int4": 4}
KINDS = {8: "q8", 4: "q4"}
MAX_HEADER_BYTES = 64 << 20


class FormatError(ValueError):
    """The bytes are not a complete quantized weight file of a version this code reads."""


def align(n: int, to: int = ALIGN) -> int:
    return (n + to - 1) // to * to


def array_spec(dtype: str, shape: List[int]) -> Dict[str, Any]:
    itemsize = {"int8": 1, "uint8": 1, "float16": 2, "float32": 4}[dtype]
    nbytes = itemsize
    for d in shape:
        nbytes *= int(d)
    return {"dtype": dtype, "shape": [int(d) for d in shape], "offset": 0, "nbytes": nbytes, "crc32": CRC_PLACEHOLDER}


def quantized_entry(name: str, shape: Tuple[int, int], bits: int, block: int) -> Dict[str, Any]:
    """A matrix [m, k] stored as qs (int8 [m, k] or uint8 [m, k/2]) and scales (float16 [m, k/block])."""
    m, k = shape
    qs = array_spec("int8", [m, k]) if bits == 8 else array_spec("uint8", [m, k // 2])
    return {"name": name, "kind": KINDS[bits], "shape": [m, k],
            "arrays": {"qs": qs, "scales": array_spec("float16", [m, k // block])}}


def float_entry(name: str, shape: Tuple[int, ...]) -> Dict[str, Any]:
    """A tensor kept as float16 values (LayerNorms, biases, a matrix whose rows do not split into 32-blocks)."""
    return {"name": name, "kind": "float", "shape": list(shape),
            "arrays": {"values": array_spec("float16", list(shape))}}


def arrays_in_order(entries: List[Dict[str, Any]]):
    """(entry, part, spec) in file order: qs before scales."""
    for entry in entries:
        for part in ("qs", "scales", "values"):
            if part in entry["arrays"]:
                yield entry, part, entry["arrays"][part]


def _encode(header: Dict[str, Any]) -> bytes:
    return json.dumps(header, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def lay_out(header: Dict[str, Any]) -> Dict[str, Any]:
    """Fills offsets, data_start, data_end and file_size; the header's length does not depend on them (fixed-width
    numbers are not needed: offsets are assigned twice until the length stops changing)."""
    for _ in range(4):
        data_start = align(PREFIX.size + len(_encode(header)) + DIGEST_BYTES)
        pos = data_start
        for _entry, _part, spec in arrays_in_order(header["tensors"]):
            spec["offset"] = pos
            pos = align(pos + spec["nbytes"])
        data_end = align(pos, 64) if header["tensors"] else data_start
        changed = (header.get("data_start"), header.get("data_end")) != (data_start, data_end)
        header.update({"data_start": data_start, "data_end": data_end, "file_size": data_end + TRAILER.size})
        if not changed:
            return header
    raise FormatError("the header's layout does not settle")


def header_bytes(header: Dict[str, Any]) -> Tuple[bytes, bytes]:
    """(prefix + JSON + SHA-256, that SHA-256)."""
    body = _encode(header)
    head = PREFIX.pack(MAGIC, FORMAT_VERSION, len(body)) + body
    digest = hashlib.sha256(head).digest()
    if len(head) + DIGEST_BYTES > header["data_start"]:
        raise FormatError("the header grew past data_start")
    return head + digest, digest


def trailer_bytes(header: Dict[str, Any], digest: bytes) -> bytes:
    return TRAILER.pack(TRAILER_MAGIC, header["file_size"], digest)


def parse_prefix(data: bytes) -> int:
    """The header length from the first 16 bytes."""
    if len(data) < PREFIX.size:
        raise FormatError("shorter than the %d-byte prefix" % PREFIX.size)
    magic, version, length = PREFIX.unpack(data[:PREFIX.size])
    if magic != MAGIC:
        raise FormatError("not a quantized weight file (magic %r)" % magic)
    if version != FORMAT_VERSION:
        raise FormatError("format version %d; this glm-chat reads version %d" % (version, FORMAT_VERSION))
    if length > MAX_HEADER_BYTES:
        raise FormatError("header length %d is not plausible" % length)
    return length


def parse_header(head: bytes, size: int) -> Tuple[Dict[str, Any], bytes]:
    """(header, its SHA-256) from prefix + JSON + digest; checks the digest and that the table fits the file."""
    length = parse_prefix(head)
    if len(head) < PREFIX.size + length + DIGEST_BYTES:
        raise FormatError("the header is cut short")
    body_end = PREFIX.size + length
    digest = hashlib.sha256(head[:body_end]).digest()
    if head[body_end:body_end + DIGEST_BYTES] != digest:
        raise FormatError("the header's SHA-256 does not match (a changed or damaged header)")
    try:
        header = json.loads(head[PREFIX.size:body_end].decode("ascii"))
    except ValueError as exc:
        raise FormatError("the header is not JSON (%s)" % exc)
    if header.get("file_size") != size:
        raise FormatError("%d bytes, the header says %s (a truncated or extended file)" % (size, header.get("file_size")))
    if header.get("precision") not in PRECISIONS:
        raise FormatError("unknown precision %r" % header.get("precision"))
    end = header["data_end"]
    for entry, part, spec in arrays_in_order(header["tensors"]):
        if spec["offset"] % ALIGN or spec["offset"] < header["data_start"] or spec["offset"] + spec["nbytes"] > end:
            raise FormatError("%s.%s lies outside the data section" % (entry["name"], part))
    return header, digest


def check_trailer(trailer: bytes, header: Dict[str, Any], digest: bytes) -> None:
    if len(trailer) != TRAILER.size:
        raise FormatError("the trailer is missing")
    magic, size, copy = TRAILER.unpack(trailer)
    if magic != TRAILER_MAGIC or size != header["file_size"] or copy != digest:
        raise FormatError("the trailer does not match the header (an unfinished or spliced file)")
