"""Finds or makes the quantized copy of a checkpoint: beside it, or under the cache folder where that folder is
read-only; a copy whose source changed, or that is truncated or damaged, is made again and never loaded."""
from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
from typing import Any, Callable, Dict, List, Optional, Tuple

from ..base import EngineError
from . import quantize_kernel, quantized_writer
from .checkpoint_reader import CheckpointFile
from .quantized_file import QuantizedFile
from .quantized_format import PRECISIONS

SAMPLE_BYTES = 1 << 20  # the source's identity hashes its first and last MiB
SUFFIX = ".glmq"
VERIFIED_SUFFIX = ".verified.json"  # the copy's stat when its CRCs last held (see docs/quantized-weights.md)
NOT_WRITABLE = (errno.EACCES, errno.EPERM, errno.EROFS)


def source_identity(path: str) -> Dict[str, Any]:
    """size, mtime_ns and the SHA-256 of the first and last MiB of the checkpoint."""
    try:
        st = os.stat(path)
        with open(path, "rb") as handle:
            head = hashlib.sha256(handle.read(SAMPLE_BYTES)).hexdigest()
            handle.seek(max(0, st.st_size - SAMPLE_BYTES))
            tail = hashlib.sha256(handle.read(SAMPLE_BYTES)).hexdigest()
    except (IOError, OSError) as exc:
        if not os.path.exists(path):
            raise EngineError("ModelFileMissing", "%s does not exist: run glm-chat pull first" % path)
        raise EngineError("CheckpointInvalid", "%s cannot be read: %s" % (path, exc))
    return {"name": os.path.basename(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns,
            "head_sha256": head, "tail_sha256": tail, "sample_bytes": SAMPLE_BYTES}


def same_source(recorded: Dict[str, Any], current: Dict[str, Any]) -> bool:
    return all(recorded.get(key) == current[key] for key in ("size", "mtime_ns", "head_sha256", "tail_sha256"))


def default_cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "glm-chat", "quantized")


def copy_paths(checkpoint: str, precision: str, cache_dir: Optional[str] = None) -> List[str]:
    """[beside the checkpoint, under the cache folder (one subfolder per checkpoint path)]."""
    checkpoint = os.path.abspath(checkpoint)
    name = "%s.%s%s" % (os.path.splitext(os.path.basename(checkpoint))[0], precision, SUFFIX)
    key = hashlib.sha256(os.path.realpath(checkpoint).encode("utf-8")).hexdigest()[:16]
    return [os.path.join(os.path.dirname(checkpoint), name), os.path.join(cache_dir or default_cache_dir(), key, name)]


def _fingerprint(path: str) -> List[int]:
    st = os.stat(path)  # ctime changes with every write and cannot be set back by a user
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]


def _record_verified(path: str) -> None:
    try:
        with open(path + VERIFIED_SUFFIX, "w") as handle:
            json.dump({"stat": _fingerprint(path)}, handle)
    except (IOError, OSError):
        pass  # a read-only folder: the CRCs are checked at every load instead


def open_copy(path: str, source: Dict[str, Any], verify: str = "auto") -> QuantizedFile:
    """The copy at `path`, checked: structure always; CRCs when verify is "full", or "auto" and the file changed
    since its CRCs last held. EngineError QuantizedCopyInvalid or QuantizedCopyStale otherwise."""
    copy = QuantizedFile(path)
    try:
        if not same_source(copy.source, source):
            raise EngineError("QuantizedCopyStale", "%s was made from another %s" % (path, source["name"]))
        if verify == "full" or (verify == "auto" and not _verified(path)):
            copy.verify_data()
            _record_verified(path)
    except BaseException:
        copy.close()
        raise
    return copy


def _verified(path: str) -> bool:
    try:
        with open(path + VERIFIED_SUFFIX, "r") as handle:
            return json.load(handle).get("stat") == _fingerprint(path)
    except (IOError, OSError, ValueError, AttributeError):
        return False


def find_copy(checkpoint: str, precision: str, cache_dir: Optional[str] = None, verify: str = "auto",
              source: Optional[Dict[str, Any]] = None) -> Optional[QuantizedFile]:
    """An opened, valid copy of `checkpoint` at `precision`, or None when there is none (or only stale or broken
    ones, which are left for ensure_copy to replace)."""
    source = source or source_identity(checkpoint)
    for path in copy_paths(checkpoint, precision, cache_dir):
        if os.path.isfile(path):
            try:
                return open_copy(path, source, verify)
            except EngineError as exc:
                if exc.ename not in ("QuantizedCopyInvalid", "QuantizedCopyStale"):
                    raise
    return None


def ensure_copy(checkpoint: str, precision: str, cache_dir: Optional[str] = None,
                progress: Optional[Callable[[int, int], None]] = None, verify: str = "auto",
                kernel: Any = None, on_place: Optional[Callable[[str], None]] = None) -> Tuple[QuantizedFile, bool]:
    """(the opened copy, whether it was made now). Makes it beside the checkpoint, or under the cache folder when
    that folder cannot be written or has no room; errors: ModelFileMissing, CheckpointInvalid, DiskFull,
    QuantizedCopyUnwritable."""
    if precision not in PRECISIONS:
        raise EngineError("InvalidParameter", "precision must be int8 or int4, got %r" % precision)
    source = source_identity(checkpoint)
    found = find_copy(checkpoint, precision, cache_dir, verify, source)
    if found is not None:
        return found, False
    ckpt = CheckpointFile(checkpoint)
    try:
        kernel = kernel or quantize_kernel.load()
        header = quantized_writer.plan(ckpt, precision, 32, "best", source, "glm_sidecar.quantize (%s)" % kernel.how)
        path = _write_somewhere(ckpt, header, copy_paths(checkpoint, precision, cache_dir), kernel, progress, on_place)
    finally:
        ckpt.close()
    copy = open_copy(path, source, verify="none")  # just written from CRCs of the bytes it holds
    _record_verified(path)
    return copy, True


def _write_somewhere(ckpt: CheckpointFile, header: Dict[str, Any], paths: List[str], kernel, progress,
                     on_place) -> str:
    failures = []  # type: List[Tuple[str, EngineError]]
    for path in paths:
        folder = os.path.dirname(path)
        try:
            os.makedirs(folder, exist_ok=True)
            _remove_stale_temps(folder)
            old = os.path.getsize(path) if os.path.isfile(path) else 0
            free = shutil.disk_usage(folder).free
            if free < header["file_size"] + (16 << 20):  # the old copy stays until the new one is complete
                raise EngineError("DiskFull", "%s has %.2f GB free, the %s copy needs %.2f GB%s" % (
                    folder, free / 1e9, header["precision"], header["file_size"] / 1e9,
                    " (besides the %.2f GB of the copy it replaces)" % (old / 1e9) if old else ""))
            if on_place is not None:
                on_place(path)
            quantized_writer.write_copy(ckpt, path, header, kernel, progress)
            return path
        except OSError as exc:
            if exc.errno not in NOT_WRITABLE:
                raise
            failures.append((path, EngineError("QuantizedCopyUnwritable", "%s: %s" % (folder, exc.strerror))))
        except EngineError as exc:
            if exc.ename != "DiskFull":
                raise
            failures.append((path, exc))
    if any(exc.ename == "DiskFull" for _path, exc in failures):
        raise EngineError("DiskFull", "; ".join(str(exc) for _path, exc in failures))
    raise EngineError("QuantizedCopyUnwritable", "cannot write the quantized copy beside the checkpoint or in the "
                      "cache folder (%s); set --cache-dir to a writable folder" % "; ".join(
                          str(exc) for _path, exc in failures))


def _remove_stale_temps(folder: str) -> None:
    """Temp files of runs that were killed (their pid is gone) would hold gigabytes."""
    for entry in os.listdir(folder):
        base, _sep, pid = entry.rpartition(".tmp-")
        if entry.startswith(".") and base.endswith(SUFFIX) and pid.isdigit():
            try:
                os.kill(int(pid), 0)
            except ProcessLookupError:
                os.remove(os.path.join(folder, entry))
            except PermissionError:
                pass
