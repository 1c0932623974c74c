"""Opens a quantized weight file by mapping it: checks prefix, header SHA-256, size and trailer at once (a
truncated file or a changed header never opens), each array's CRC-32 on request; arrays are views of the map."""
from __future__ import annotations

import mmap
import os
import zlib
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, Optional, Tuple

import numpy as np

from ..base import EngineError
from . import quantized_format as fmt

CRC_SLICE = 64 << 20  # bytes checksummed per call (zlib releases the GIL: slices of two arrays run in parallel)


def invalid(path: str, why: str) -> EngineError:
    return EngineError("QuantizedCopyInvalid", "%s is not a usable quantized copy: %s" % (path, why))


class QuantizedFile(object):
    """`header`, `precision` ("int8"|"int4"), `bits`, `entries` (name -> table entry); `array(name, part)` and
    `matrix(name)` return views of the map. `copy_on_write` (the default) maps the file privately, so the views are
    writable (MindSpore wants that) while the pages stay the page cache's until something writes to them."""

    def __init__(self, path: str, copy_on_write: bool = True) -> None:
        self.path = path
        self._file = open(path, "rb")
        self._map = None  # type: Optional[mmap.mmap]
        try:
            self.size = os.fstat(self._file.fileno()).st_size
            self.header, self.digest = self._read_header()
            self._file.seek(self.header["data_end"])
            fmt.check_trailer(self._file.read(fmt.TRAILER.size), self.header, self.digest)
            self._map = mmap.mmap(self._file.fileno(), 0, access=mmap.ACCESS_COPY if copy_on_write else mmap.ACCESS_READ)
        except fmt.FormatError as exc:
            self.close()
            raise invalid(path, str(exc))
        except Exception:
            self.close()
            raise
        self.precision = self.header["precision"]
        self.bits = fmt.PRECISIONS[self.precision]
        self.entries = dict((entry["name"], entry) for entry in self.header["tensors"])

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

    def array(self, name: str, part: str = "values") -> np.ndarray:
        spec = self.entries[name]["arrays"][part]
        count = spec["nbytes"] // np.dtype(spec["dtype"]).itemsize
        return np.frombuffer(self._map, spec["dtype"], count, spec["offset"]).reshape(spec["shape"])

    def matrix(self, name: str) -> Tuple[np.ndarray, np.ndarray]:
        """(qs, scales) of a quantized matrix."""
        return self.array(name, "qs"), self.array(name, "scales")

    def block_size(self, name: str) -> int:
        entry = self.entries[name]
        return entry["shape"][1] // entry["arrays"]["scales"]["shape"][1]

    def verify_data(self, workers: int = 2) -> None:
        """Raises QuantizedCopyInvalid naming the first array whose CRC-32 differs. Reads every byte: about 1.3 GB/s
        per core here once the file is in the page cache, the disk's speed before."""
        jobs = [(entry["name"], part, spec) for entry, part, spec in fmt.arrays_in_order(self.header["tensors"])]
        with ThreadPoolExecutor(max(1, workers)) as pool:
            for (name, part, spec), crc in zip(jobs, pool.map(self._crc, [spec for _n, _p, spec in jobs])):
                if "%08x" % crc != spec["crc32"]:
                    raise invalid(self.path, "the data of %s (%s) does not match its CRC-32" % (name, part))

    def _crc(self, spec: Dict[str, Any]) -> int:
        view = memoryview(self._map)
        try:
            crc = 0
            for start in range(spec["offset"], spec["offset"] + spec["nbytes"], CRC_SLICE):
                crc = zlib.crc32(view[start:min(start + CRC_SLICE, spec["offset"] + spec["nbytes"])], crc)
            return crc
        finally:
            view.release()

    def close(self) -> None:
        if self._map is not None:
            try:
                self._map.close()
            except BufferError:
                pass  # arrays still use the map; it closes when they are gone
            self._map = None
        self._file.close()

    def __enter__(self) -> "QuantizedFile":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
