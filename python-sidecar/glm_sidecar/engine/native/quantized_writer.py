"""Writes a quantized copy of a MindSpore .ckpt: row chunks read with pread (bounded memory, never the whole
tensor), quantized by kernels/quantize.c (NumPy where it does not build), written into a temp file in the target's
folder with their CRC-32s, fsync'ed, renamed."""
from __future__ import annotations

import errno
import os
import zlib
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Deque, Dict, List, Optional

import numpy as np

from ... import partial_files
from ..base import EngineError
from . import quantized_format as fmt
from .checkpoint_reader import CheckpointFile, TensorEntry

# The matrices the engine multiplies by (and the embedding, looked up a row at a time): these are quantized.
QUANTIZED_SUFFIXES = ("attention.query_key_value.weight", "attention.dense.weight", "mlp.dense_h_to_4h.weight",
                      "mlp.dense_4h_to_h.weight")
QUANTIZED_NAMES = ("lm_head.weight", "transformer.word_embeddings.embedding_table")
BLOCK = 32
INT4_RULE = "best"  # per block, the better of absmax/7 and (largest-magnitude value)/-8 (quantizer.py)
CHUNK_BYTES = 32 << 20  # source bytes per step
READ_AHEAD = 4  # chunk buffers: one being quantized, three read ahead; with their outputs the writer holds ~200 MB
NO_SPACE = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
FLOAT_TYPES = ("Float16", "Float32", "Float64", "BFloat16")
Progress = Callable[[int, int], None]  # (source bytes done, source bytes in all)


def is_quantized(name: str, shape) -> bool:
    """A 2-D matrix the engine quantizes, when its rows split into whole 32-blocks (GLM-6B: k = 4096 or 16384; the
    tiny test model's dense_4h_to_h, k = 170, is kept as float16)."""
    return (name.endswith(QUANTIZED_SUFFIXES) or name in QUANTIZED_NAMES) and len(shape) == 2 and \
        shape[1] % BLOCK == 0 and shape[1] > 0


def plan(ckpt: CheckpointFile, precision: str, source: Dict[str, Any], created_by: str) -> Dict[str, Any]:
    """The header with the whole table laid out; CRC-32s are placeholders until the data is written."""
    bits = fmt.PRECISIONS[precision]
    entries = []  # type: List[Dict[str, Any]]
    for name, entry in ckpt.entries.items():  # the checkpoint's order
        if entry.dtype not in FLOAT_TYPES:
            raise EngineError("CheckpointInvalid", "%s: %s is %s; GLM-6B holds floats only" % (
                ckpt.path, name, entry.dtype))
        if is_quantized(name, entry.shape):
            entries.append(fmt.quantized_entry(name, entry.shape, bits, BLOCK))
        else:
            entries.append(fmt.float_entry(name, entry.shape))
    scheme = {"block": BLOCK, "scale": "float16", "rule": "absmax/127" if bits == 8 else INT4_RULE,
              "int4_packing": "byte i of a block: weight i + 8 low nibble, weight 16 + i + 8 high" if bits == 4 else None}
    header = {"format": "glm-chat quantized weights", "format_version": fmt.FORMAT_VERSION, "precision": precision,
              "block_size": BLOCK, "scheme": scheme, "alignment": fmt.ALIGN, "source": source,
              "created_by": created_by, "tensors": entries}
    return fmt.lay_out(header)


def _pieces(entry: TensorEntry, first: int, count: int, k: int):
    """(file offset, length, offset in the chunk) of elements first * k .. (first + count) * k of a tensor whose bytes
    may be cut into several spans (512 MiB slices)."""
    item = np.dtype(entry.raw_dtype).itemsize
    start, stop = first * k * item, (first + count) * k * item
    pos = 0  # bytes of the tensor before the current span
    for span_start, span_stop in entry.spans:
        lo, hi = max(start, pos), min(stop, pos + span_stop - span_start)
        if lo < hi:
            yield span_start + lo - pos, hi - lo, lo - start
        pos += span_stop - span_start


def _advise(fd: int, pieces, advice_name: str) -> None:
    advice = getattr(os, advice_name, None)
    if advice is not None and hasattr(os, "posix_fadvise"):
        for offset, length, _at in pieces:
            os.posix_fadvise(fd, offset, length, advice)


def _rows(fd: int, entry: TensorEntry, first: int, count: int, k: int, out: np.ndarray) -> np.ndarray:
    """Rows first .. first + count of a tensor (k values each) read with pread into `out`'s memory; the pages read
    are dropped from the page cache (the copy needs them once; other programs need the memory)."""
    want = out.reshape(-1)[:count * k].view(np.uint8)
    pieces = list(_pieces(entry, first, count, k))
    for offset, length, at in pieces:
        view = memoryview(want[at:at + length])
        done = 0
        while done < length:
            got = os.preadv(fd, [view[done:]], offset + done)
            if got <= 0:
                raise EngineError("CheckpointInvalid", "the checkpoint ended early")
            done += got
    _advise(fd, pieces, "POSIX_FADV_DONTNEED")
    values = out.reshape(-1)[:count * k]
    if entry.dtype == "BFloat16":
        values = (values.view(np.uint16).astype(np.uint32) << 16).view(np.float32)
    return values.reshape(count, k)


class _Output(object):
    """pwrite + running CRC-32 per array, on one thread so each array's CRC sees its chunks in order."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.crcs = {}  # type: Dict[int, int]

    def put(self, spec: Dict[str, Any], at: int, data: np.ndarray) -> None:
        view = memoryview(np.ascontiguousarray(data).reshape(-1).view(np.uint8))
        self.crcs[spec["offset"]] = zlib.crc32(view, self.crcs.get(spec["offset"], 0))
        done = 0
        while done < len(view):
            done += os.pwrite(self.fd, view[done:], spec["offset"] + at + done)


def temp_path(target: str) -> str:
    return os.path.join(os.path.dirname(os.path.abspath(target)), ".%s.tmp-%d" % (os.path.basename(target),
                                                                                  os.getpid()))


def write_copy(ckpt: CheckpointFile, target: str, header: Dict[str, Any], kernel,
               progress: Optional[Progress] = None, chunk_bytes: int = CHUNK_BYTES) -> None:
    """Writes `header`'s file to `target` atomically: a temp file in the same folder, fsync, rename, fsync of the
    folder. Disk full: EngineError DiskFull naming the folder and the size, the temp file removed, whatever was at
    `target` untouched."""
    folder = os.path.dirname(os.path.abspath(target))
    tmp = temp_path(target)
    partial_files.writing(tmp)  # an exit while writing (cancel, shutdown, SIGTERM) removes it
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        out = _Output(fd)
        _write_data(ckpt, header, kernel, out, progress, chunk_bytes)
        for _entry, _part, spec in fmt.arrays_in_order(header["tensors"]):
            spec["crc32"] = "%08x" % out.crcs.get(spec["offset"], 0)
        head, digest = fmt.header_bytes(header)
        _pwrite_all(fd, head, 0)
        _pwrite_all(fd, fmt.trailer_bytes(header, digest), header["data_end"])
        os.ftruncate(fd, header["file_size"])
        os.fsync(fd)
        os.close(fd)
        fd = -1
        os.replace(tmp, target)
        partial_files.done(tmp)
    except BaseException as exc:
        if fd >= 0:
            os.close(fd)
        partial_files.done(tmp)
        if os.path.exists(tmp):
            os.remove(tmp)
        if isinstance(exc, OSError) and exc.errno in NO_SPACE:
            raise EngineError("DiskFull", "no space left in %s for the %.2f GB %s copy (%s); the partial file was "
                              "removed" % (folder, header["file_size"] / 1e9, header["precision"],
                                           os.strerror(exc.errno)))
        raise
    _sync_folder(folder)


def _pwrite_all(fd: int, data: bytes, at: int) -> None:
    done = 0
    while done < len(data):
        done += os.pwrite(fd, data[done:], at + done)


def _sync_folder(folder: str) -> None:
    try:
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass  # some file systems cannot sync a folder; the rename is done either way
    finally:
        os.close(dir_fd)


def _jobs(ckpt: CheckpointFile, header: Dict[str, Any], chunk_bytes: int):
    """(table entry, checkpoint entry, first row, rows, k) per chunk, in file order; a 1-D tensor is one row."""
    for entry in header["tensors"]:
        source = ckpt.entries[entry["name"]]
        shape = source.shape
        k = shape[-1] if len(shape) >= 1 else 1
        rows = int(np.prod(shape[:-1])) if len(shape) >= 1 else 1
        if k == 0 or rows == 0:
            continue
        step = max(1, chunk_bytes // (k * np.dtype(source.raw_dtype).itemsize))
        for first in range(0, rows, step):
            yield entry, source, first, min(step, rows - first), k


def _write_data(ckpt: CheckpointFile, header: Dict[str, Any], kernel, out: _Output, progress,
                chunk_bytes: int) -> None:
    jobs = list(_jobs(ckpt, header, chunk_bytes))
    total = sum(count * k * np.dtype(source.raw_dtype).itemsize for _e, source, _f, count, k in jobs)
    largest = max([count * k * np.dtype(source.raw_dtype).itemsize for _e, source, _f, count, k in jobs] or [0])
    fd = os.open(ckpt.path, os.O_RDONLY)
    if hasattr(os, "posix_fadvise"):
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)
    try:
        _pipeline(fd, jobs, header, kernel, out, progress, total, largest)
    finally:
        os.close(fd)


def _pipeline(fd: int, jobs, header: Dict[str, Any], kernel, out: _Output, progress, total: int,
              largest: int) -> None:
    """Reads up to READ_AHEAD - 1 chunks ahead of the one being quantized (the disk keeps streaming while the
    quantizer waits for a busy CPU) and writes each chunk's output while the next one is quantized."""
    bits = fmt.PRECISIONS[header["precision"]]
    rule = header["scheme"]["rule"] if bits == 4 else "best"
    buffers = [np.empty(max(largest, 1), np.uint8) for _ in range(min(READ_AHEAD, max(len(jobs), 1)))]
    done = 0
    with ThreadPoolExecutor(1) as reader, ThreadPoolExecutor(1) as writer:
        def read(i):
            if i + 1 < len(jobs):  # the disk starts on chunk i + 1 while chunk i is read
                _advise(fd, _pieces(*jobs[i + 1][1:]), "POSIX_FADV_WILLNEED")
            _entry, source, first, count, k = jobs[i]
            raw = buffers[i % len(buffers)][:count * k * np.dtype(source.raw_dtype).itemsize].view(source.raw_dtype)
            return _rows(fd, source, first, count, k, raw)

        reads = deque()  # type: Deque[Any]
        writes = deque()  # type: Deque[Any]
        for i, (entry, source, first, count, k) in enumerate(jobs):
            # chunks before i are quantized: every buffer but chunk i's may be refilled
            while len(reads) < len(buffers) and i + len(reads) < len(jobs):
                reads.append(reader.submit(read, i + len(reads)))
            values = reads.popleft().result()
            while len(writes) > 2:  # chunk i - 1's outputs may still be in flight, none older
                writes.popleft().result()
            if entry["kind"] == "float":
                spec = entry["arrays"]["values"]
                data = values.astype(np.float16)
                writes.append(writer.submit(out.put, spec, first * k * 2, data))
            else:
                qs_spec, scale_spec = entry["arrays"]["qs"], entry["arrays"]["scales"]
                try:
                    qs, scales = kernel.quantize(values, bits, block=BLOCK, rule=rule)
                except ValueError as exc:
                    raise EngineError("CheckpointInvalid", "%s cannot be quantized: %s" % (entry["name"], exc))
                writes.append(writer.submit(out.put, qs_spec, first * qs.shape[1] * qs.itemsize, qs))
                writes.append(writer.submit(out.put, scale_spec, first * scales.shape[1] * 2, scales))
            done += count * k * np.dtype(source.raw_dtype).itemsize
            if progress is not None:
                progress(done, total)
        for job in writes:
            job.result()
