"""Benchmark of making the int8/int4 quantized copy against just reading glm_6b.ckpt, cold, in the same run.

Usage (real size, under the big-memory lock):
    flock /tmp/glm-bigmem.lock nice -n 10 python scripts/bench_quantize.py \\
        --checkpoint /work/bigmodels/glm-6b-random/glm_6b.ckpt --out /work/bigmodels/glm-6b-random-quant
Before each measurement the checkpoint's pages are dropped from the page cache (posix_fadvise DONTNEED), so the
read and every copy start cold. Each copy is made in a child process: its peak RSS is that child's ru_maxrss.
Prints, per precision: seconds, the ratio to the read, the writer's peak RSS, the copy's size.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "python-sidecar"))

CHUNK = 32 << 20


def drop_cached(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd) if os.access(path, os.W_OK) else None
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def read_all(path):
    """Seconds to pread the whole file in 32 MiB chunks into one buffer (what any reader must at least do)."""
    import numpy as np

    buf = np.empty(CHUNK, np.uint8)
    view = memoryview(buf)
    fd = os.open(path, os.O_RDONLY)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)
    started = time.perf_counter()
    pos = 0
    try:
        while True:
            got = os.preadv(fd, [view], pos)
            if got <= 0:
                break
            pos += got
    finally:
        os.close(fd)
    return time.perf_counter() - started, pos


def read_and_write(path, target, fraction):
    """The I/O floor of a copy: read the file as read_all does and write `fraction` of each chunk to `target`
    (fsync'ed, then deleted), no quantizing."""
    import numpy as np

    buf = np.empty(CHUNK, np.uint8)
    view = memoryview(buf)
    fd = os.open(path, os.O_RDONLY)
    out = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    started = time.perf_counter()
    pos = 0
    try:
        while True:
            got = os.preadv(fd, [view], pos)
            if got <= 0:
                break
            pos += got
            os.write(out, view[:int(got * fraction)])
        os.fsync(out)
    finally:
        os.close(fd)
        os.close(out)
        os.remove(target)
    return time.perf_counter() - started


def make_copy(checkpoint, precision, target):
    """Child process: writes the copy to `target` as ensure_quantized_copy does, prints a JSON line."""
    from glm_sidecar.engine.native import quantize_kernel, quantized_copy, quantized_writer
    from glm_sidecar.engine.native.checkpoint_reader import CheckpointFile

    kernel = quantize_kernel.load()
    started = time.perf_counter()
    source = quantized_copy.source_identity(checkpoint)
    ckpt = CheckpointFile(checkpoint)
    header = quantized_writer.plan(ckpt, precision, source, "scripts/bench_quantize.py (%s)" % kernel.how)
    last = [-10]

    def progress(done, total):
        if done * 10 // total != last[0]:
            last[0] = done * 10 // total
            sys.stderr.write("  %s: %.1f of %.1f GB, %.0f s\n" % (precision, done / 1e9, total / 1e9,
                                                                   time.perf_counter() - started))

    quantized_writer.write_copy(ckpt, target, header, kernel, progress)
    ckpt.close()
    elapsed = time.perf_counter() - started
    quantized_copy.record_verified(target)
    print(json.dumps({"seconds": elapsed, "kernel": kernel.how, "size": os.path.getsize(target)}))


def run_child(checkpoint, precision, target):
    proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--child", precision,
                             "--checkpoint", checkpoint, "--target", target], stdout=subprocess.PIPE)
    out = proc.stdout.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    if status:
        raise SystemExit("making the %s copy failed (status %d)" % (precision, status))
    result = json.loads(out.decode("utf-8").strip().splitlines()[-1])
    result["peak_rss"] = usage.ru_maxrss * 1024
    result["cpu"] = usage.ru_utime + usage.ru_stime
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--checkpoint", default="/work/bigmodels/glm-6b-random/glm_6b.ckpt")
    parser.add_argument("--out", required=False, help="folder for the copies (default: beside the checkpoint)")
    parser.add_argument("--precision", nargs="+", default=["int8", "int4"], choices=["int8", "int4"])
    parser.add_argument("--delete", action="store_true", help="delete the copies afterwards")
    parser.add_argument("--io-floor", action="store_true",
                        help="also time reading the checkpoint and writing the copy's size without quantizing")
    parser.add_argument("--child")
    parser.add_argument("--target")
    args = parser.parse_args()
    if args.child:
        return make_copy(args.checkpoint, args.child, args.target)
    out = args.out or os.path.dirname(os.path.abspath(args.checkpoint))
    os.makedirs(out, exist_ok=True)
    stem = os.path.splitext(os.path.basename(args.checkpoint))[0]
    drop_cached(args.checkpoint)
    read_s, size = read_all(args.checkpoint)
    print("read %s: %.2f GB in %.1f s (%.2f GB/s), cold" % (args.checkpoint, size / 1e9, read_s, size / 1e9 / read_s))
    for precision in args.precision:
        target = os.path.join(out, "%s.%s.glmq" % (stem, precision))
        drop_cached(args.checkpoint)
        got = run_child(args.checkpoint, precision, target)
        print("%s copy: %.1f s = %.2fx the read (CPU %.1f s); writer peak RSS %.2f GB; %s, %.2f GB; quantizer %s"
              % (precision, got["seconds"], got["seconds"] / read_s, got["cpu"], got["peak_rss"] / 1e9, target,
                 got["size"] / 1e9, got["kernel"]))
        if args.io_floor:
            drop_cached(args.checkpoint)
            floor = read_and_write(args.checkpoint, os.path.join(out, ".io-floor.tmp"), got["size"] / float(size))
            print("  I/O floor (read + write %.2f GB, fsync, no quantizing): %.1f s = %.2fx the read" % (
                got["size"] / 1e9, floor, floor / read_s))
        if args.delete:
            os.remove(target)
            os.remove(target + ".verified.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
