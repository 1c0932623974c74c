"""The sidecar's memory: RSS from /proc/self/status, the limit, MindSpore's out-of-memory errors named OutOfMemory."""
from __future__ import annotations

import sys

import pytest

from glm_sidecar import memory
from glm_sidecar.engine.base import EngineError
from glm_sidecar.server import SidecarServer
from tools.sidecar_client import SidecarProcess

LINUX = sys.platform.startswith("linux")
# MindSpore's own words (CPU/GPU memory pool, Ascend device allocator).
MINDSPORE_OOM = ("Memory not enough: current free memory size[0] is smaller than required size[536870912].\n"
                 "----------------------------------------------------\n- C++ Call Stack:\n...")


def test_reads_rss_and_peak_from_a_status_file(tmp_path):
    status = tmp_path / "status"
    status.write_text("Name:\tpython\nVmPeak:\t  900000 kB\nVmHWM:\t  524288 kB\nVmRSS:\t  262144 kB\nThreads:\t9\n")
    assert memory.read_usage(str(status)) == {"rss_bytes": 262144 * 1024, "rss_peak_bytes": 524288 * 1024}
    assert memory.read_usage(str(tmp_path / "absent")) is None


@pytest.mark.skipif(not LINUX, reason="/proc/self/status is Linux's")
def test_reads_this_process():
    usage = memory.read_usage()
    assert 10 * 1024 * 1024 < usage["rss_bytes"] <= usage["rss_peak_bytes"]


def test_limit_is_a_finite_cgroup_limit_else_memtotal(tmp_path, monkeypatch):
    monkeypatch.delenv("GLM_CHAT_MEMORY_LIMIT", raising=False)
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       24683568 kB\nMemFree:  1 kB\n")
    v2, v1, none = tmp_path / "v2", tmp_path / "v1", tmp_path / "none"
    v2.mkdir()
    (v2 / "memory.max").write_text("8589934592\n")
    (v1 / "memory").mkdir(parents=True)
    (v1 / "memory" / "memory.limit_in_bytes").write_text("9223372036854771712\n")
    none.mkdir()
    assert memory.memory_limit(str(v2), str(meminfo)) == 8589934592
    assert memory.memory_limit(str(v1), str(meminfo)) == 24683568 * 1024
    (none / "memory.max").write_text("max\n")
    assert memory.memory_limit(str(none), str(meminfo)) == 24683568 * 1024
    assert memory.memory_limit(str(tmp_path / "x"), str(tmp_path / "y")) is None


@pytest.mark.parametrize("exc", [RuntimeError(MINDSPORE_OOM), RuntimeError("Device(id:0) Out of memory, alloc size: 1 GB"),
                                 MemoryError("Unable to allocate 2.00 GiB for an array")])
def test_out_of_memory_errors_are_recognised(exc):
    assert memory.is_out_of_memory(exc)


@pytest.mark.parametrize("exc", [RuntimeError("The kernel ArgMaxExt unregistered"), ValueError("Memory not enough"),
                                 EngineError("PromptTooLong", "600 tokens")])
def test_other_errors_are_not(exc):
    assert not memory.is_out_of_memory(exc)


def test_the_message_has_the_numbers_mindspores_words_and_the_fix():
    usage = {"rss_bytes": 20 * 10 ** 9, "rss_peak_bytes": 23900000000}
    error = memory.out_of_memory_error(RuntimeError(MINDSPORE_OOM), "CPU", usage, 24700000000)
    assert error.ename == "OutOfMemory"
    assert str(error) == ("out of memory: the engine used 23.9 GB of 24.7 GB (RuntimeError: Memory not enough: current "
                          "free memory size[0] is smaller than required size[536870912].); try --precision int8 or int4, "
                          "a smaller --seq-length, or a machine with more memory")
    gpu = str(memory.out_of_memory_error(RuntimeError(MINDSPORE_OOM), "GPU", usage, 24700000000))
    assert gpu.startswith("out of memory on the GPU: the engine used 23.9 GB of 24.7 GB of host RAM (")
    assert "a smaller --seq-length" in gpu and "--precision int8" not in gpu


class _Engine(object):
    name = "stub"

    def info(self):
        return {"engine": "stub", "device_target": "CPU"}


def test_the_server_replies_outofmemory_for_mindspores_error_and_keeps_other_errors_as_they_were():
    server = SidecarServer(_Engine(), "inproc://unused-shell", "inproc://unused-control", b"k")
    try:
        reply = server._error_of(RuntimeError(MINDSPORE_OOM))
        assert reply["status"] == "error" and reply["ename"] == "OutOfMemory" and reply["traceback"] == []
        assert reply["evalue"].startswith("out of memory: ") and "Memory not enough" in reply["evalue"]
        other = server._error_of(RuntimeError("The kernel ArgMaxExt unregistered"))
        assert other["ename"] == "RuntimeError" and other["traceback"]
        assert server._error_of(EngineError("PromptTooLong", "x"))["ename"] == "PromptTooLong"
    finally:
        server.context.destroy(0)


@pytest.mark.skipif(not LINUX, reason="the sidecar reports its RSS from /proc/self/status")
def test_the_sidecar_reports_its_rss_while_loading_and_about_once_a_second_while_answering():
    with SidecarProcess(["--engine", "fake", "--fake-token-delay", "0.05"]) as side:
        seen = side.wait_ready()
        statuses = [m["content"] for m in seen if m["msg_type"] == "status"]
        assert all(s["rss_bytes"] > 10 * 1024 * 1024 and s["rss_peak_bytes"] >= s["rss_bytes"] for s in statuses)
        req = side.send(side.shell, "generate_request", {"prompt": " ".join(["w"] * 60), "max_new_tokens": 60})
        msgs = side.recv_until(side.shell, lambda m: m["msg_type"] == "generate_reply")  # about 3 s of tokens
        reports = [m for m in msgs if m["msg_type"] == "memory"]
        assert 2 <= len(reports) <= 4, [m["msg_type"] for m in msgs]
        assert all(m["parent_id"] == req and set(m["content"]) == {"rss_bytes", "rss_peak_bytes"} for m in reports)


@pytest.mark.skipif(not LINUX, reason="/proc/self/status is Linux's")
def test_a_kv_cache_joins_the_rss_only_as_its_rows_are_written():
    """GLM-6B's cache is 0.94 GB: a short chat must not pay for all 2,048 rows up front (int4's weights are 3.5 GB)."""
    pytest.importorskip("mindspore")
    import numpy as np

    from glm_sidecar.engine.native.network_params import cache_zeros

    nbytes = 256 * 32 * 128 * 32 * 2  # 64 MiB
    before = memory.read_usage()["rss_bytes"]
    cache = cache_zeros((256, 32, 128 * 32), np.float16, "k_cache")
    made = memory.read_usage()["rss_bytes"] - before
    assert made < 0.25 * nbytes, made
    rows = cache.asnumpy()  # shares the Parameter's memory, as the graphs' ScatterUpdate writes it
    rows[:128] = 1.0
    written = memory.read_usage()["rss_bytes"] - before
    assert 0.4 * nbytes <= written < 0.75 * nbytes, (made, written)
    assert cache.asnumpy()[:128].all() and not cache.asnumpy()[128:].any()


def test_memory_limit_takes_the_limit_glm_chat_found(monkeypatch, tmp_path):
    monkeypatch.setenv("GLM_CHAT_MEMORY_LIMIT", "8589934592")
    assert memory.memory_limit(str(tmp_path / "x"), str(tmp_path / "y")) == 8589934592
    monkeypatch.setenv("GLM_CHAT_MEMORY_LIMIT", "junk")
    assert memory.memory_limit(str(tmp_path / "x"), str(tmp_path / "y")) is None
