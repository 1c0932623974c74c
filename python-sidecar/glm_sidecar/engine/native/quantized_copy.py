"""The engine's entry to quantized weights: finds or makes the int8/int4 copy of glm_6b.ckpt (beside it, or under
the cache folder where that folder is read-only), made again when stale, truncated or damaged, never loaded then.

    path = ensure_quantized_copy(checkpoint_path, "int8" | "int4", cache_dir=None, report=None)
    weights = QuantizedWeights(path)   # maps the file (no copy); checks magic, version, header SHA-256, size, trailer
    t = weights.get("transformer.layers.0.attention.query_key_value.weight")
    #   StoredTensor(name, kind "q8" | "q4" | "float", shape, qs, scales, values): NumPy views of the map;
    #   q8: qs int8 [m, k], q4: qs uint8 [m, k/2], scales float16 [m, k/32]; float: values float16 (others None)
    weights.close()

`cache_dir` is the folder for copies that cannot lie beside the checkpoint (default
$XDG_CACHE_HOME/glm-chat/quantized); `report(stage, fraction, text)` is the engine's ProgressReport, called with
stage "quantize" while a copy is made. Errors are EngineError: ModelFileMissing, CheckpointInvalid,
InvalidParameter, DiskFull (names the folders and the bytes needed; no partial file is left) and
QuantizedCopyUnwritable. File format: docs/quantized-weights.md."""
from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import time
from typing import Any, Dict, List, Optional, Tuple

from ..base import EngineError, ProgressReport
from . import quantize_kernel, quantized_writer
from .checkpoint_reader import CheckpointFile
from .quantized_format import PRECISIONS
from .quantized_weights import QuantizedWeights, StoredTensor

__all__ = ["ensure_quantized_copy", "find_quantized_copy", "copy_paths", "QuantizedWeights", "StoredTensor"]

SAMPLE_BYTES = 1 << 20  # the source's identity hashes its first and last MiB
SUFFIX = ".glmq"
VERIFIED_SUFFIX = ".verified.json"  # the copy's stat when its CRC-32s last held
NOT_WRITABLE = (errno.EACCES, errno.EPERM, errno.EROFS)
STALE = ("QuantizedCopyInvalid", "QuantizedCopyStale")


def source_identity(path: str) -> Dict[str, Any]:
    """size, mtime_ns and the SHA-256 of the first and last MiB of the checkpoint."""
    try:
        st = os.stat(path)
        with open(path, "rb") as handle:
            head = _sample_sha256(handle, 0)
            tail = _sample_sha256(handle, max(0, st.st_size - SAMPLE_BYTES))
    except (IOError, OSError) as exc:
        if not os.path.exists(path):
            raise EngineError("ModelFileMissing", "%s does not exist: run glm-chat pull first" % path)
        raise EngineError("CheckpointInvalid", "%s cannot be read: %s" % (path, exc))
    return {"name": os.path.basename(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns,
            "head_sha256": head, "tail_sha256": tail, "sample_bytes": SAMPLE_BYTES}


def _sample_sha256(handle, start: int) -> str:
    h = hashlib.sha256()
    handle.seek(start)
    for _ in range(SAMPLE_BYTES // (64 << 10)):
        h.update(handle.read(64 << 10))
    return h.hexdigest()


def _same_source(recorded: Dict[str, Any], current: Dict[str, Any]) -> bool:
    return all(recorded.get(key) == current[key] for key in ("size", "mtime_ns", "head_sha256", "tail_sha256"))


def default_cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "glm-chat", "quantized")


def copy_paths(checkpoint: str, precision: str, cache_dir: Optional[str] = None) -> List[str]:
    """[beside the checkpoint, under the cache folder (a subfolder per checkpoint path)]: glm_6b.int8.glmq."""
    checkpoint = os.path.abspath(checkpoint)
    name = "%s.%s%s" % (os.path.splitext(os.path.basename(checkpoint))[0], precision, SUFFIX)
    key = hashlib.sha256(os.path.realpath(checkpoint).encode("utf-8")).hexdigest()[:16]
    return [os.path.join(os.path.dirname(checkpoint), name), os.path.join(cache_dir or default_cache_dir(), key, name)]


def _fingerprint(path: str) -> List[int]:
    st = os.stat(path)  # ctime changes with every write and cannot be set back by a user
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]


def record_verified(path: str) -> None:
    try:
        with open(path + VERIFIED_SUFFIX, "w") as handle:
            json.dump({"stat": _fingerprint(path)}, handle)
    except (IOError, OSError):
        pass  # a read-only folder: the CRCs are checked at every load instead


def _verified(path: str) -> bool:
    try:
        with open(path + VERIFIED_SUFFIX, "r") as handle:
            return json.load(handle).get("stat") == _fingerprint(path)
    except (IOError, OSError, ValueError, AttributeError):
        return False


def check_copy(path: str, source: Optional[Dict[str, Any]], verify: str = "auto") -> None:
    """Raises QuantizedCopyInvalid / QuantizedCopyStale unless `path` is a whole copy of `source` (of any checkpoint
    when None). Structure always; every array's CRC-32 when verify is "full", or "auto" and the file changed since
    its CRCs last held."""
    with QuantizedWeights(path) as copy:
        if source is not None and not _same_source(copy.source, source):
            raise EngineError("QuantizedCopyStale", "%s was made from another %s (size, mtime or contents "
                              "differ)" % (path, source["name"]))
        if verify == "full" or (verify == "auto" and not _verified(path)):
            copy.verify_data()
            record_verified(path)


def find_quantized_copy(checkpoint: str, precision: str, cache_dir: Optional[str] = None,
                        source: Optional[Dict[str, Any]] = None) -> Tuple[Optional[str], List[str]]:
    """(path of a valid copy or None, why each copy found was rejected)."""
    source = source or source_identity(checkpoint)
    rejected = []  # type: List[str]
    for path in copy_paths(checkpoint, precision, cache_dir):
        if os.path.isfile(path):
            try:
                check_copy(path, source)
                return path, rejected
            except EngineError as exc:
                if exc.ename not in STALE:
                    raise
                rejected.append(str(exc))
    return None, rejected


def ensure_quantized_copy(checkpoint: str, precision: str, cache_dir: Optional[str] = None,
                          report: Optional[ProgressReport] = None, kernel: Any = None,
                          chunk_bytes: int = quantized_writer.CHUNK_BYTES) -> str:
    """The path of a valid copy of `checkpoint` at `precision`, made now when there is none; where the checkpoint
    was deleted, a whole copy is used as it is (ModelFileMissing when there is none)."""
    if precision not in PRECISIONS:
        raise EngineError("InvalidParameter", "precision must be int8 or int4, got %r" % (precision,))
    report = report or (lambda stage, fraction, text: None)
    if not os.path.exists(checkpoint):
        return _copy_without_checkpoint(checkpoint, precision, cache_dir)
    source = source_identity(checkpoint)
    found, rejected = find_quantized_copy(checkpoint, precision, cache_dir, source)
    if found is not None:
        return found
    with _MakerLock(copy_paths(checkpoint, precision, cache_dir)[1], report):
        found, rejected = find_quantized_copy(checkpoint, precision, cache_dir, source)  # made while we waited?
        if found is not None:
            return found
        ckpt = CheckpointFile(checkpoint)
        try:
            kernel = kernel or quantize_kernel.load()
            header = quantized_writer.plan(ckpt, precision, source, "glm_sidecar quantized_copy (%s)" % kernel.how)
            why = " (%s)" % "; ".join(rejected) if rejected else ""
            path = _write_somewhere(ckpt, header, copy_paths(checkpoint, precision, cache_dir), kernel, report, why,
                                    chunk_bytes)
        finally:
            ckpt.close()
        record_verified(path)  # its CRC-32s were taken of the bytes written
        return path


def _copy_without_checkpoint(checkpoint: str, precision: str, cache_dir: Optional[str]) -> str:
    """A whole copy serves alone once the checkpoint was deleted (its provenance can no longer be checked)."""
    problems = []  # type: List[str]
    for path in copy_paths(checkpoint, precision, cache_dir):
        if os.path.isfile(path):
            try:
                check_copy(path, None)
                return path
            except EngineError as exc:
                if exc.ename not in STALE:
                    raise
                problems.append(str(exc))
    raise EngineError("ModelFileMissing", "%s does not exist%s: run glm-chat pull first" % (
        checkpoint, " and its %s copy cannot be used (%s)" % (precision, "; ".join(problems)) if problems else ""))


class _MakerLock(object):
    """One process makes a given copy at a time (a chat and `glm-chat quantize` started together): an flock on
    a file beside the cache copy; no lock where that folder cannot be made (then the last rename wins)."""

    def __init__(self, cache_copy: str, report: ProgressReport) -> None:
        self.path = cache_copy + ".lock"
        self.report = report
        self.fd = -1

    def __enter__(self) -> "_MakerLock":
        try:
            import fcntl

            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except (ImportError, OSError):
            return self
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self.report("quantize", None, "waiting for another process making this copy")
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.fd >= 0:
            os.close(self.fd)  # releases the flock


def _progress(report: ProgressReport, precision: str, path: str):
    started = time.time()
    last = [-1]

    def progress(done: int, total: int) -> None:
        percent = int(100 * done / total) if total else 100
        if percent != last[0]:
            last[0] = percent
            rate = done / max(time.time() - started, 1e-6) / 1e9
            report("quantize", float(done) / total if total else 1.0, "%s copy: %.2f of %.2f GB read (%.2f GB/s) "
                   "into %s" % (precision, done / 1e9, total / 1e9, rate, path))
    return progress


def _write_somewhere(ckpt: CheckpointFile, header: Dict[str, Any], paths: List[str], kernel, report, why: str,
                     chunk_bytes: int) -> str:
    failures = []  # type: List[EngineError]
    for path in paths:
        folder = os.path.dirname(path)
        try:
            os.makedirs(folder, exist_ok=True)
            if not os.access(folder, os.W_OK):
                raise OSError(errno.EACCES, "not writable")
            _remove_leftovers(folder, path)
            free = shutil.disk_usage(folder).free
            if free < header["file_size"] + (16 << 20):
                raise EngineError("DiskFull", "%s has %.2f GB free, the %s copy needs %.2f GB" % (
                    folder, free / 1e9, header["precision"], header["file_size"] / 1e9))
            report("quantize", 0.0, "making the %s copy of %s at %s%s" % (header["precision"], ckpt.path, path, why))
            quantized_writer.write_copy(ckpt, path, header, kernel, _progress(report, header["precision"], path),
                                        chunk_bytes)
            return path
        except OSError as exc:
            if exc.errno not in NOT_WRITABLE:
                raise
            failures.append(EngineError("QuantizedCopyUnwritable", "%s: %s" % (folder, exc.strerror)))
        except EngineError as exc:
            if exc.ename != "DiskFull":
                raise
            failures.append(exc)
    if any(exc.ename == "DiskFull" for exc in failures):
        raise EngineError("DiskFull", "no room for the quantized copy: %s" % "; ".join(str(e) for e in failures))
    raise EngineError("QuantizedCopyUnwritable", "cannot write the quantized copy beside the checkpoint or in the "
                      "cache folder (%s); give a writable cache folder" % "; ".join(str(e) for e in failures))


def _remove_leftovers(folder: str, path: str) -> None:
    """The stale or broken copy at `path` (it was rejected: its space is needed) and temp files of killed runs."""
    for stale in (path, path + VERIFIED_SUFFIX):
        if os.path.isfile(stale):
            os.remove(stale)
    for entry in os.listdir(folder):
        base, _sep, pid = entry.rpartition(".tmp-")
        if entry.startswith(".") and base.endswith(SUFFIX) and pid.isdigit() and int(pid) != os.getpid():
            try:
                os.kill(int(pid), 0)
            except ProcessLookupError:
                os.remove(os.path.join(folder, entry))
            except PermissionError:
                pass
