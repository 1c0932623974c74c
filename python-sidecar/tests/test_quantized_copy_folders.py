"""Where the quantized copy goes and what happens around it: a read-only model folder (the cache folder), a full
disk, two makers at once, a killed run's leftovers; on the tiny model."""
from __future__ import annotations

import fcntl
import os
import queue
import shutil
import subprocess
import threading

import pytest

from glm_sidecar.engine.base import EngineError
from glm_sidecar.engine.native import quantize_kernel, quantized_writer
from glm_sidecar.engine.native.checkpoint_reader import CheckpointFile
from glm_sidecar.engine.native.quantized_copy import (QuantizedWeights, copy_paths, ensure_quantized_copy,
                                                      source_identity)
from quantized_copy_reference import assert_same_as_quantizer


def leftovers(folder):
    """Files under `folder` but the empty lock files of makers."""
    return [name for _d, _s, files in os.walk(folder) for name in files if not name.endswith(".lock")]


def _mount_tmpfs(folder, size):
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a tmpfs needs root")
    os.makedirs(folder)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%d" % size, "tmpfs", folder],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if done.returncode:
        pytest.skip("mount is not permitted here: %s" % done.stdout.decode("utf-8", "replace").strip())


@pytest.fixture
def mounts():
    """Folders the test mounted: unmounted at the end."""
    folders = []
    yield folders
    for folder in reversed(folders):
        subprocess.run(["umount", "-l", folder])


def test_a_read_only_model_folder_puts_the_copy_in_the_cache_folder(model, tmp_path, mounts):
    checkpoint, cache = model
    folder = str(tmp_path / "ro")
    if os.geteuid() == 0:
        _mount_tmpfs(folder, 8 << 20)
        mounts.append(folder)
        shutil.copy(checkpoint, folder)
        subprocess.run(["mount", "-o", "remount,ro", folder], check=True)
    else:
        os.makedirs(folder)
        shutil.copy(checkpoint, folder)
        os.chmod(folder, 0o555)
    readonly = os.path.join(folder, "glm_6b.ckpt")
    path = ensure_quantized_copy(readonly, "int8", cache)
    assert path == copy_paths(readonly, "int8", cache)[1] and path.startswith(cache)
    assert os.listdir(folder) == ["glm_6b.ckpt"]
    assert_same_as_quantizer(path, readonly, 8)
    assert ensure_quantized_copy(readonly, "int8", cache) == path


def test_a_full_disk_is_a_clear_error_and_leaves_no_file(model, tmp_path, mounts):
    checkpoint, _cache = model
    small, cache = str(tmp_path / "small"), str(tmp_path / "small-cache")
    _mount_tmpfs(small, 512 << 10)
    mounts.append(small)
    _mount_tmpfs(cache, 128 << 10)
    mounts.append(cache)
    shutil.copy(checkpoint, small)
    on_small = os.path.join(small, "glm_6b.ckpt")
    with pytest.raises(EngineError) as info:
        ensure_quantized_copy(on_small, "int8", cache)
    assert info.value.ename == "DiskFull"
    assert small in str(info.value) and cache in str(info.value) and "needs" in str(info.value)
    assert os.listdir(small) == ["glm_6b.ckpt"] and leftovers(cache) == []
    # the disk fills while writing (the free-space check passed or was beaten): the temp file goes too
    ckpt = CheckpointFile(checkpoint)
    header = quantized_writer.plan(ckpt, "int8", source_identity(checkpoint), "test")
    with pytest.raises(EngineError) as info:
        quantized_writer.write_copy(ckpt, os.path.join(cache, "glm_6b.int8.glmq"), header, quantize_kernel.load())
    ckpt.close()
    assert info.value.ename == "DiskFull" and cache in str(info.value) and "GB int8 copy" in str(info.value)
    assert leftovers(cache) == []


def test_a_second_maker_waits_for_the_first_and_uses_its_copy(model):
    checkpoint, cache = model
    lock = copy_paths(checkpoint, "int8", cache)[1] + ".lock"
    os.makedirs(os.path.dirname(lock))
    fd = os.open(lock, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)  # "the first maker"
    events, result = queue.Queue(), {}
    second = threading.Thread(target=lambda: result.update(path=ensure_quantized_copy(
        checkpoint, "int8", cache, report=lambda *a: events.put(a))))
    second.start()
    try:
        assert events.get(timeout=120)[2] == "waiting for another process making this copy"
        ckpt = CheckpointFile(checkpoint)
        beside = copy_paths(checkpoint, "int8", cache)[0]
        header = quantized_writer.plan(ckpt, "int8", source_identity(checkpoint), "the first maker")
        quantized_writer.write_copy(ckpt, beside, header, quantize_kernel.load())
        ckpt.close()
    finally:
        os.close(fd)
        second.join()
    assert result["path"] == beside and events.empty()  # found, not made again
    with QuantizedWeights(beside) as weights:
        assert weights.header["created_by"] == "the first maker"


def test_leftovers_of_a_killed_run_are_removed(model):
    checkpoint, cache = model
    dead = subprocess.Popen(["true"])
    dead.wait()
    leftover = os.path.join(os.path.dirname(checkpoint), ".glm_6b.int8.glmq.tmp-%d" % dead.pid)
    with open(leftover, "wb") as handle:
        handle.write(b"x" * 4096)
    ensure_quantized_copy(checkpoint, "int8", cache)
    assert not os.path.exists(leftover)
