"""Streams a MindSpore .ckpt tensor by tensor, byte for byte what mindspore.save_checkpoint writes by default."""
from __future__ import annotations

# mindspore/train/serialization.py (2.7.2), save_checkpoint with Tensor/Parameter data, no crc, no encryption:
# _write_parameter_bytes_data cuts the raw bytes into chunks of `1024 * SLICE_SIZE` bytes (SLICE_SIZE = 512 * 1024
# KB, so 512 MiB) and writes each chunk as its own serialized `Checkpoint` holding one `Value` (same tag, the full
# dims). No trailer follows unless crc_check=True. Protobuf layout (checkpoint.proto, proto2):
#   Checkpoint { repeated Value value = 1; }
#   Value { required string tag = 1; TensorProto tensor = 2; }
#   TensorProto { repeated int64 dims = 1 (not packed); required string tensor_type = 2;
#                 required bytes tensor_content = 3; }
SLICE_BYTES = 512 * 1024 * 1024

ITEM_SIZES = {
    "Float16": 2, "BFloat16": 2, "Float32": 4, "Float64": 8, "Int8": 1, "UInt8": 1, "Int16": 2, "UInt16": 2,
    "Int32": 4, "UInt32": 4, "Int64": 8, "UInt64": 8, "Bool": 1,
}
_WIRE_VARINT = 0
_WIRE_BYTES = 2


def varint(value: int) -> bytes:
    """Protobuf base-128 varint; negative int64 values take ten bytes, as protobuf encodes them."""
    if value < 0:
        value += 1 << 64
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _key(field: int, wire: int) -> bytes:
    return varint((field << 3) | wire)


def _bytes_field(field: int, payload_len: int) -> bytes:
    return _key(field, _WIRE_BYTES) + varint(payload_len)


def slice_header(name: str, dims, tensor_type: str, content_len: int) -> bytes:
    """Bytes of one single-Value Checkpoint message up to (not including) its tensor_content bytes."""
    tag = name.encode("utf-8")
    type_bytes = tensor_type.encode("ascii")
    tensor_head = b"".join(_key(1, _WIRE_VARINT) + varint(int(d)) for d in dims)
    tensor_head += _bytes_field(2, len(type_bytes)) + type_bytes + _bytes_field(3, content_len)
    tensor_len = len(tensor_head) + content_len
    value_head = _bytes_field(1, len(tag)) + tag + _bytes_field(2, tensor_len)
    value_len = len(value_head) + tensor_len
    return _bytes_field(1, value_len) + value_head + tensor_head


def tensor_nbytes(dims, tensor_type: str) -> int:
    n = ITEM_SIZES[tensor_type]
    for d in dims:
        n *= int(d)
    return n


def slice_lengths(nbytes: int, slice_bytes: int = SLICE_BYTES):
    """Content length of each serialized Checkpoint one tensor becomes (none at all for an empty tensor)."""
    return [min(slice_bytes, nbytes - start) for start in range(0, nbytes, slice_bytes)]


def tensor_record_size(name: str, dims, tensor_type: str, slice_bytes: int = SLICE_BYTES) -> int:
    """Bytes one tensor takes in the file, headers included."""
    return sum(len(slice_header(name, dims, tensor_type, n)) + n
               for n in slice_lengths(tensor_nbytes(dims, tensor_type), slice_bytes))


def _as_bytes(chunk):
    view = memoryview(chunk)
    return view if view.format == "B" and view.ndim == 1 else view.cast("B")


class CheckpointWriter(object):
    """Appends tensors to an open binary file; each tensor's content arrives as an iterable of byte chunks."""

    def __init__(self, f, slice_bytes: int = SLICE_BYTES) -> None:
        self._f = f
        self._slice_bytes = slice_bytes
        self.bytes_written = 0
        self.tensors_written = 0

    def _write(self, data) -> None:
        self._f.write(data)
        self.bytes_written += len(data)

    def write_tensor(self, name: str, dims, tensor_type: str, chunks) -> None:
        """Writes the tensor (C-order content in `chunks`: bytes or contiguous numpy arrays) as save_checkpoint does.

        Chunks need not line up with the slice boundaries; their total must equal the tensor's size.
        """
        dims = [int(d) for d in dims]
        lengths = slice_lengths(tensor_nbytes(dims, tensor_type), self._slice_bytes)
        pending = iter(lengths)
        left = 0  # content bytes still owed to the open slice
        for chunk in chunks:
            view = _as_bytes(chunk)
            pos = 0
            while pos < len(view):
                if left == 0:
                    left = next(pending, None)
                    if left is None:
                        raise ValueError("%s: chunks hold more bytes than dims %r of %s" % (name, dims, tensor_type))
                    self._write(slice_header(name, dims, tensor_type, left))
                take = min(left, len(view) - pos)
                self._write(view[pos:pos + take])
                pos += take
                left -= take
        if left or next(pending, None) is not None:
            raise ValueError("%s: chunks hold fewer bytes than dims %r of %s" % (name, dims, tensor_type))
        self.tensors_written += 1

    def write_array(self, name: str, array, tensor_type: str = None) -> None:
        """Convenience for small in-memory numpy arrays (tests, tiny models)."""
        import numpy as np

        array = np.asarray(array)
        if not array.flags.c_contiguous:
            array = array.copy()  # np.ascontiguousarray would turn a scalar into shape (1,)
        if tensor_type is None:
            tensor_type = _NUMPY_TYPES[array.dtype.name]
        self.write_tensor(name, array.shape, tensor_type, [array.reshape(-1)] if array.size else [])


_NUMPY_TYPES = {
    "float16": "Float16", "float32": "Float32", "float64": "Float64", "int8": "Int8", "uint8": "UInt8",
    "int16": "Int16", "uint16": "UInt16", "int32": "Int32", "uint32": "UInt32", "int64": "Int64",
    "uint64": "UInt64", "bool": "Bool",
}
