"""No partial quantized copy outlives the sidecar: the writer registers its temp file, and SIGTERM, Ctrl+C (SIGINT)
and a shutdown all end the sidecar through the path that removes it."""
from __future__ import annotations

import os
import signal

import pytest

from glm_sidecar import partial_files
from glm_sidecar.engine.native import quantize_kernel, quantized_writer
from glm_sidecar.engine.native.checkpoint_reader import CheckpointFile
from glm_sidecar.engine.native.quantized_copy import source_identity
from tools.sidecar_client import SidecarProcess


def test_an_exit_while_the_copy_is_written_removes_its_temp_file(model):
    checkpoint = model[0]
    folder = os.path.dirname(checkpoint)
    target = os.path.join(folder, "glm_6b.int8.glmq")
    seen = []

    def progress(done, total):  # the sidecar's exit path, run while the writer is half-way
        if 0 < done < total and not seen:
            seen.append(sorted(f for f in os.listdir(folder) if ".tmp-" in f))
            partial_files.remove_all()

    ckpt = CheckpointFile(checkpoint)
    header = quantized_writer.plan(ckpt, "int8", source_identity(checkpoint), "test")
    try:
        with pytest.raises(OSError):  # the rename finds its file gone
            quantized_writer.write_copy(ckpt, target, header, quantize_kernel.load(), progress, chunk_bytes=4096)
    finally:
        ckpt.close()
    assert seen == [[os.path.basename(quantized_writer.temp_path(target))]]
    assert sorted(os.listdir(folder)) == ["glm_6b.ckpt"]


def test_a_finished_copy_is_no_longer_a_partial_file(model):
    checkpoint = model[0]
    target = os.path.join(os.path.dirname(checkpoint), "glm_6b.int4.glmq")
    ckpt = CheckpointFile(checkpoint)
    try:
        quantized_writer.write_copy(ckpt, target, quantized_writer.plan(ckpt, "int4", source_identity(checkpoint),
                                                                        "test"), quantize_kernel.load())
    finally:
        ckpt.close()
    partial_files.remove_all()
    assert os.path.isfile(target)


@pytest.mark.parametrize("signum,code", [(signal.SIGTERM, 0), (signal.SIGINT, 130)])
def test_sigterm_and_ctrl_c_end_the_sidecar_through_its_exit_path(signum, code):
    with SidecarProcess(["--engine", "fake"]) as side:
        side.wait_ready()
        side.proc.send_signal(signum)
        assert side.proc.wait(timeout=60) == code
        assert b"Traceback" not in side.proc.stderr.read()
