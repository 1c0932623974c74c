"""Opens a quantized weight file (docs/quantized-weights.md) by mapping it, never copying: prefix, header SHA-256,
file size and trailer are checked at open; each tensor's arrays are NumPy views of the map."""
from __future__ import annotations

import mmap
import os
import zlib
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, List, NamedTuple, Optional, Tuple

import numpy as np

from ..base import EngineError
from . import quantized_format as fmt

CRC_SLICE = 64 << 20  # bytes checksummed per call (zlib releases the GIL: slices of two arrays run in parallel)

StoredTensor = NamedTuple("StoredTensor", [
    ("name", str),
    ("kind", str),  # "q8" | "q4" | "float"
    ("shape", Tuple[int, ...]),  # the checkpoint tensor's shape ([m, k] for a matrix)
    ("qs", Optional[np.ndarray]),  # q8: int8 [m, k]; q4: uint8 [m, k/2] (low nibble: weight i, high: i + 16)
    ("scales", Optional[np.ndarray]),  # float16 [m, k/32]
    ("values", Optional[np.ndarray]),  # float: float16 of the tensor's shape
])


def invalid(path: str, why: str) -> EngineError:
    return EngineError("QuantizedCopyInvalid", "%s is not a usable quantized copy: %s" % (path, why))


class QuantizedWeights(object):
    """`get(name)` -> StoredTensor of views of the map; `names()`, `shapes()`, `precision` ("int8"|"int4"), `bits`,
    `block_size`, `source` (the checkpoint's recorded facts), `header`. `copy_on_write` (the default) maps the
    file privately: the views are writable (MindSpore wants that) and the pages stay the page cache's until
    something writes to them, which never reaches the file. Raises EngineError QuantizedCopyInvalid."""

    def __init__(self, path: str, copy_on_write: bool = True) -> None:
        self.path = path
        self._file = open(path, "rb")
        self._map = None  # type: Optional[mmap.mmap]
        try:
            self.size = os.fstat(self._file.fileno()).st_size
            self.header, self.digest = self._read_header()
            self._file.seek(self.header["data_end"])
            fmt.check_trailer(self._file.read(fmt.TRAILER.size), self.header, self.digest)
            access = mmap.ACCESS_COPY if copy_on_write else mmap.ACCESS_READ
            self._map = mmap.mmap(self._file.fileno(), 0, access=access)
        except fmt.FormatError as exc:
            self.close()
            raise invalid(path, str(exc))
        except Exception:
            self.close()
            raise
        self.precision = self.header["precision"]
        self.bits = fmt.PRECISIONS[self.precision]
        self.block_size = int(self.header["block_size"])
        self._entries = dict((entry["name"], entry) for entry in self.header["tensors"])

    def _read_header(self) -> Tuple[Dict[str, Any], bytes]:
        length = fmt.parse_prefix(self._file.read(fmt.PREFIX.size))
        self._file.seek(0)
        head = self._file.read(fmt.PREFIX.size + length + fmt.DIGEST_BYTES)
        header, digest = fmt.parse_header(head, self.size)
        padding = self._file.read(header["data_start"] - len(head))
        if padding.strip(b"\0"):
            raise fmt.FormatError("bytes between the header and the data are not zero")
        return header, digest

    @property
    def source(self) -> Dict[str, Any]:
        return self.header["source"]

    def names(self) -> List[str]:
        """The tensors in file order (the checkpoint's order)."""
        return [entry["name"] for entry in self.header["tensors"]]

    def shapes(self) -> Dict[str, Tuple[int, ...]]:
        """name -> the checkpoint tensor's shape, as CheckpointFile.shapes() (the model's shape without the .ckpt)."""
        return dict((entry["name"], tuple(entry["shape"])) for entry in self.header["tensors"])

    def __contains__(self, name: str) -> bool:
        return name in self._entries

    def _array(self, spec: Dict[str, Any]) -> np.ndarray:
        if self._map is None:
            raise ValueError("%s is closed" % self.path)
        count = spec["nbytes"] // np.dtype(spec["dtype"]).itemsize
        return np.frombuffer(self._map, spec["dtype"], count, spec["offset"]).reshape(spec["shape"])

    def get(self, name: str) -> StoredTensor:
        """KeyError for a name the checkpoint did not hold."""
        entry = self._entries[name]
        arrays = dict((part, self._array(spec)) for part, spec in entry["arrays"].items())
        return StoredTensor(name, entry["kind"], tuple(entry["shape"]), arrays.get("qs"), arrays.get("scales"),
                            arrays.get("values"))

    def verify_data(self, workers: int = 2) -> None:
        """Reads every byte: raises QuantizedCopyInvalid naming the first array whose CRC-32 differs."""
        jobs = [(entry["name"], part, spec) for entry, part, spec in fmt.arrays_in_order(self.header["tensors"])]
        with ThreadPoolExecutor(max(1, workers)) as pool:
            for (name, part, spec), crc in zip(jobs, pool.map(self._crc, [spec for _n, _p, spec in jobs])):
                if "%08x" % crc != spec["crc32"]:
                    raise invalid(self.path, "the data of %s (%s) does not match its CRC-32" % (name, part))

    def _crc(self, spec: Dict[str, Any]) -> int:
        view = memoryview(self._map)
        try:
            crc = 0
            end = spec["offset"] + spec["nbytes"]
            for start in range(spec["offset"], end, CRC_SLICE):
                crc = zlib.crc32(view[start:min(start + CRC_SLICE, end)], crc)
            return crc
        finally:
            view.release()

    def close(self) -> None:
        """Views handed out keep the map alive until they are gone; the file handle closes now."""
        if self._map is not None:
            try:
                self._map.close()
            except BufferError:
                pass  # arrays still use the map; it closes when they are gone
            self._map = None
        self._file.close()

    def __enter__(self) -> "QuantizedWeights":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
