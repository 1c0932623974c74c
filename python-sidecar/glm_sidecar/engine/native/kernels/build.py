"""Builds the CPU kernels (every *.c in this folder: the float16-weight and the int8/int4 linears, the axis swap,
the decode and prompt attention, the GeLU, the int8 KV cache's rows) into one shared library with this machine's
compiler, once per machine and source."""
from __future__ import annotations

import glob
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
from typing import Optional, Tuple

KERNEL_DIR = os.path.dirname(os.path.abspath(__file__))
# One library from every C source here (a new kernel is a new .c file); the headers count in the cache key.
SOURCES = tuple(sorted(os.path.basename(p) for p in glob.glob(os.path.join(KERNEL_DIR, "*.c"))))
HEADERS = tuple(sorted(os.path.basename(p) for p in glob.glob(os.path.join(KERNEL_DIR, "*.h"))))
SYMBOL = "glm_linear_f16"
SWAP_SYMBOL = "glm_swap01"
DECODE_ATTEND_SYMBOL = "glm_attend_decode"
PROMPT_ATTEND_SYMBOL = "glm_attend_prompt"
Q8_SYMBOL = "glm_linear_q8"  # int8 weights in 32-blocks (issue #20), kernels/linear_q8.c
Q4_SYMBOL = "glm_linear_q4"  # int4 weights in 32-blocks, kernels/linear_q4.c
GELU_SYMBOL = "glm_gelu"  # kernels/activation.c
KV_QUANT_SYMBOL = "glm_quantize_kv"  # keys and values as the int8 KV cache stores them, kernels/kv_cache.c
# Tried in order: the machine's own vector units first, then a portable build (the kernel's scalar path).
FLAG_SETS = (["-O3", "-march=native", "-fopenmp"], ["-O3", "-fopenmp"], ["-O3"])


def default_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "glm-chat", "kernels")


def kernel_dir(compile_cache_dir: Optional[str]) -> Optional[str]:
    """Where the engine keeps its built kernels: $GLM_CHAT_KERNEL_DIR (one shared folder, as `npm test` sets for
    its many short-lived sidecars), else beside the compile cache, else the default."""
    override = os.environ.get("GLM_CHAT_KERNEL_DIR")
    if override:
        return override
    return os.path.join(compile_cache_dir, "kernels") if compile_cache_dir else None


def _machine_tag() -> str:
    """Compiled with -march=native: a copy is only valid on a CPU with the same flags."""
    flags = ""
    try:
        with open("/proc/cpuinfo", "r") as handle:
            for line in handle:
                if line.startswith(("flags", "Features")):
                    flags = line
                    break
    except (IOError, OSError):
        pass
    return hashlib.sha256((platform.machine() + flags).encode("utf-8")).hexdigest()[:12]


def sleep_idle_omp_threads() -> None:
    """Sets OMP_WAIT_POLICY=PASSIVE unless the user set it: libgomp's threads then sleep when a parallel region ends
    instead of spinning for a while. Between two kernels MindSpore's own runtime threads need the cores, which on a
    2-core notebook the spinning took. libgomp reads it once, when it loads, and `import mindspore` loads it: so the
    sidecar's entry point and runtime.start_mindspore call this before that import (here, later, it only covers a
    process that never imported MindSpore). GLM-6B int4 decode on box B, 40 tokens, interleaved: 2.24 and 2.72
    tok/s spinning, 3.83 and 4.05 sleeping."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def build_kernel(cache_dir: Optional[str] = None, flag_sets=FLAG_SETS) -> Tuple[Optional[str], str]:
    """(path of the shared library, how it was built) or (None, why not): no compiler is not an error here.
    The first of `flag_sets` that compiles wins (tests pass one set to get the portable build). Every caller loads
    the library next, so OpenMP's settings are made here."""
    sleep_idle_omp_threads()
    cache_dir = cache_dir or default_dir()
    digest = hashlib.sha256()
    for name in SOURCES + HEADERS:
        with open(os.path.join(KERNEL_DIR, name), "rb") as handle:
            digest.update(handle.read())
    source_hash = digest.hexdigest()[:12]
    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if not compiler:
        return None, "no C compiler (cc, gcc or clang) on PATH"
    errors = []
    machine = _machine_tag()
    for flags in flag_sets:
        name = "cpu-kernels-%s-%s-%s.so" % (source_hash, machine, hashlib.sha256(
            " ".join([compiler] + flags).encode("utf-8")).hexdigest()[:8])
        target = os.path.join(cache_dir, name)
        if os.path.isfile(target):
            return target, "%s %s (cached)" % (os.path.basename(compiler), " ".join(flags))
        try:
            os.makedirs(cache_dir, exist_ok=True)
            handle, tmp = tempfile.mkstemp(prefix=name, suffix=".tmp", dir=cache_dir)
            os.close(handle)
            sources = [os.path.join(KERNEL_DIR, source) for source in SOURCES]
            done = subprocess.run([compiler] + flags + ["-shared", "-fPIC", "-o", tmp] + sources + ["-lm"],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
        except (OSError, subprocess.SubprocessError) as exc:
            errors.append(str(exc))
            continue
        if done.returncode == 0:
            os.replace(tmp, target)
            return target, "%s %s" % (os.path.basename(compiler), " ".join(flags))
        os.remove(tmp)
        lines = done.stdout.decode("utf-8", "replace").strip().splitlines()
        errors.append(lines[-1] if lines else "exit %d" % done.returncode)
    return None, "%s failed: %s" % (os.path.basename(compiler), "; ".join(errors))
