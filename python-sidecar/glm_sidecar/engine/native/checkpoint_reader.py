"""Reads a MindSpore .ckpt (glm_6b.ckpt) without MindSpore: an index from a memory map, then each tensor read once
into memory of its own (never the mapped pages), converted to the engine's dtype on the way in small chunks."""
from __future__ import annotations

import mmap
import os
from typing import Dict, Iterator, List, Tuple

from ..base import EngineError
from ..model_files import repull_advice

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


class TensorEntry(object):
    """Where one tensor's bytes lie in the file (several spans when it was written in 512 MiB slices)."""

    def __init__(self, dims: List[int], dtype: str, spans: List[Tuple[int, int]]) -> None:
        if dtype not in _DTYPES:
            raise ValueError("tensor type %r is not supported" % dtype)
        self.shape = tuple([] if dims == [0] else dims)  # scalars are written with dims [0]
        self.dtype = dtype
        self.spans = spans

    @property
    def raw_dtype(self) -> str:
        return "uint16" if self.dtype == "BFloat16" else _DTYPES[self.dtype]


def _mapped_array(buf, entry: TensorEntry):
    """A view of the map (a joined copy for sliced tensors): for tests and small tensors only."""
    import numpy as np

    parts = [np.frombuffer(buf, dtype=entry.raw_dtype, count=(stop - start) // np.dtype(entry.raw_dtype).itemsize,
                           offset=start) for start, stop in entry.spans]
    flat = parts[0] if len(parts) == 1 else np.concatenate(parts)
    return _values(flat, entry).reshape(entry.shape)


def _values(raw, entry: TensorEntry):
    """The stored values of raw elements: bfloat16 (kept as uint16) widened to float32, others as they are."""
    import numpy as np

    return (raw.astype(np.uint32) << 16).view(np.float32) if entry.dtype == "BFloat16" else raw


class _LazyTensors(dict):
    """name -> array, made on first access: indexing a 13 GB file touches none of its tensor pages."""

    def __init__(self, owner: "CheckpointFile") -> None:
        super(_LazyTensors, self).__init__()
        self._owner = owner

    def __missing__(self, name: str):
        entry = self._owner.entries[name]
        array = _mapped_array(self._owner._map, entry)
        self[name] = array
        return array

    def __contains__(self, name) -> bool:
        return name in self._owner.entries

    def __iter__(self):
        return iter(self._owner.entries)

    def __len__(self) -> int:
        return len(self._owner.entries)

    def keys(self):
        return self._owner.entries.keys()

    def items(self):
        return [(name, self[name]) for name in self._owner.entries]

    def values(self):
        return [self[name] for name in self._owner.entries]


# Bytes converted per step when the file's dtype differs from the one asked for: bounds the temporary.
_CHUNK_BYTES = 16 << 20


def _pread_into(fd: int, view, offset: int, path: str) -> None:
    done = 0
    while done < len(view):
        got = os.preadv(fd, [view[done:]], offset + done) if hasattr(os, "preadv") else _pread_copy(fd, view, done,
                                                                                                    offset)
        if got <= 0:
            raise EngineError("CheckpointInvalid", "%s ends at byte %d, before the tensors its index lists; it may be "
                              "cut short: %s" % (path, offset + done, repull_advice()))
        done += got


def _pread_copy(fd: int, view, done: int, offset: int) -> int:
    data = os.pread(fd, min(len(view) - done, 1 << 26), offset + done)
    view[done:done + len(data)] = data
    return len(data)


class CheckpointFile(object):
    """`entries` (name -> TensorEntry) and `read(name, dtype)`; `tensors` gives mapped views for tests."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.size = os.path.getsize(path)
        self._file = open(path, "rb")
        # Mapped for the index and for `tensors` (test views); `read` never touches the mapped pages. Copy-on-write
        # keeps those views writable, and as nothing writes to them the file is never changed.
        self._map = mmap.mmap(self._file.fileno(), 0, access=mmap.ACCESS_COPY) if self.size else None
        self.entries = self._index()
        self.tensors = _LazyTensors(self)

    def _index(self) -> Dict[str, TensorEntry]:
        if self._map is None:
            raise EngineError("CheckpointInvalid", "%s is empty: %s" % (self.path, repull_advice()))
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
            return dict((name, TensorEntry(dims, dtype, spans)) for name, dims, dtype, spans in grouped)
        except (ValueError, IndexError, UnicodeDecodeError) as exc:
            raise EngineError("CheckpointInvalid", "%s is not a readable MindSpore checkpoint (%s); it may be "
                              "cut short or corrupt: %s" % (self.path, exc, repull_advice()))
        finally:
            buf.release()

    def shapes(self) -> Dict[str, Tuple[int, ...]]:
        return dict((name, entry.shape) for name, entry in self.entries.items())

    def read(self, name: str, dtype: str):
        """A new C-contiguous array of `dtype` holding the tensor: read with pread into its own memory (the map's
        pages are never touched, so they never count in this process's RSS), converted chunk by chunk."""
        import numpy as np

        entry = self.entries[name]
        out = np.empty(entry.shape, dtype)
        flat = out.reshape(-1)
        raw = np.dtype(entry.raw_dtype)
        fd = self._file.fileno()
        pos = 0
        for start, stop in entry.spans:
            count = (stop - start) // raw.itemsize
            if raw == out.dtype:
                _pread_into(fd, memoryview(flat[pos:pos + count]).cast("B"), start, self.path)
            else:
                step = max(1, _CHUNK_BYTES // raw.itemsize)
                chunk = np.empty((min(step, count),), raw)
                for first in range(0, count, step):
                    n = min(step, count - first)
                    _pread_into(fd, memoryview(chunk[:n]).cast("B"), start + first * raw.itemsize, self.path)
                    flat[pos + first:pos + first + n] = _values(chunk[:n], entry)
            pos += count
        if pos != flat.size:
            raise EngineError("CheckpointInvalid", "%s: %s holds %d values, its shape says %d; it may be corrupt: %s"
                              % (self.path, name, pos, flat.size, repull_advice()))
        return out

    def close(self) -> None:
        self.tensors = {}
        if self._map is not None:
            try:
                self._map.close()
            except BufferError:
                pass  # arrays still reference the map; it closes when they are gone
        self._file.close()
