"""Reads a MindSpore .ckpt (glm_6b.ckpt) straight from a memory map: no MindSpore, no second copy of the file."""
from __future__ import annotations

import mmap
import os
from typing import Dict, Iterator, List, Tuple

from ..base import EngineError

# TensorProto.tensor_type strings as mindspore/train/serialization.py writes them.
_DTYPES = {
    "Float16": "float16", "Float32": "float32", "Float64": "float64", "Int8": "int8", "UInt8": "uint8",
    "Int16": "int16", "UInt16": "uint16", "Int32": "int32", "UInt32": "uint32", "Int64": "int64",
    "UInt64": "uint64", "Bool": "bool", "BFloat16": "bfloat16",
}
_CRC_MARK = b"crc_num"  # trailer of files saved with crc_check=True: b"crc_num" + 10-byte crc


def _varint(buf, pos: int) -> Tuple[int, int]:
    value = 0
    shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _fields(buf, start: int, end: int) -> Iterator[Tuple[int, int, object]]:
    """(field number, wire type, value) of one protobuf message; length-delimited values are (start, end)."""
    pos = start
    while pos < end:
        key, pos = _varint(buf, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
            yield field, wire, value
        elif wire == 2:
            length, pos = _varint(buf, pos)
            yield field, wire, (pos, pos + length)
            pos += length
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        else:
            raise ValueError("unsupported protobuf wire type %d at byte %d" % (wire, pos))
    if pos != end:
        raise ValueError("a protobuf field runs past its message end")


def _tensor(buf, start: int, end: int) -> Tuple[List[int], str, Tuple[int, int]]:
    dims = []  # type: List[int]
    dtype = ""
    content = (0, 0)
    for field, wire, value in _fields(buf, start, end):
        if field == 1 and wire == 0:
            dims.append(value)
        elif field == 1 and wire == 2:  # packed dims, as other writers may produce
            pos, stop = value
            while pos < stop:
                dim, pos = _varint(buf, pos)
                dims.append(dim)
        elif field == 2:
            dtype = bytes(buf[value[0]:value[1]]).decode("ascii")
        elif field == 3:
            content = value
    return dims, dtype, content


def _to_array(buf, dims: List[int], dtype: str, spans: List[Tuple[int, int]]):
    import numpy as np

    if dtype not in _DTYPES:
        raise ValueError("tensor type %r is not supported" % dtype)
    raw_type = "uint16" if dtype == "BFloat16" else _DTYPES[dtype]
    parts = [np.frombuffer(buf, dtype=raw_type, count=(stop - start) // np.dtype(raw_type).itemsize, offset=start)
             for start, stop in spans]
    flat = parts[0] if len(parts) == 1 else np.concatenate(parts)
    if dtype == "BFloat16":
        flat = (flat.astype(np.uint32) << 16).view(np.float32)
    shape = [] if dims == [0] else dims  # scalars are written with dims [0]
    return flat.reshape(shape)


class CheckpointFile(object):
    """name -> numpy array views into the mapped file (valid while this object is open)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.size = os.path.getsize(path)
        self._file = open(path, "rb")
        # Copy-on-write: the arrays are writable views MindSpore can wrap without a copy; nothing writes to them,
        # so no page is ever copied and the file is never changed.
        self._map = mmap.mmap(self._file.fileno(), 0, access=mmap.ACCESS_COPY) if self.size else None
        self.tensors = self._index()

    def _index(self) -> Dict[str, object]:
        if self._map is None:
            raise EngineError("CheckpointInvalid", "%s is empty" % self.path)
        buf = memoryview(self._map)
        end = self.size
        if end >= 17 and bytes(buf[end - 17:end - 10]) == _CRC_MARK:
            end -= 17
        entries = []  # type: List[Tuple[str, List[int], str, Tuple[int, int]]]
        try:
            for field, wire, value in _fields(buf, 0, end):
                if field != 1 or wire != 2:
                    continue
                name, tensor = "", None
                for vfield, _vwire, vvalue in _fields(buf, value[0], value[1]):
                    if vfield == 1:
                        name = bytes(buf[vvalue[0]:vvalue[1]]).decode("utf-8")
                    elif vfield == 2:
                        tensor = _tensor(buf, vvalue[0], vvalue[1])
                if tensor is not None:
                    entries.append((name, tensor[0], tensor[1], tensor[2]))
            # A tensor over 512 MiB is written as consecutive values with the same name: join their bytes.
            grouped = []  # type: List[Tuple[str, List[int], str, List[Tuple[int, int]]]]
            for name, dims, dtype, span in entries:
                if grouped and grouped[-1][0] == name:
                    grouped[-1][3].append(span)
                else:
                    grouped.append((name, dims, dtype, [span]))
            return dict((name, _to_array(self._map, dims, dtype, spans)) for name, dims, dtype, spans in grouped)
        except (ValueError, IndexError, UnicodeDecodeError) as exc:
            raise EngineError("CheckpointInvalid", "%s is not a readable MindSpore checkpoint (%s); it may be "
                              "truncated or corrupt: run glm-chat pull again" % (self.path, exc))
        finally:
            buf.release()

    def close(self) -> None:
        self.tensors = {}
        if self._map is not None:
            try:
                self._map.close()
            except BufferError:
                pass  # arrays still reference the map; it closes when they are gone
        self._file.close()
