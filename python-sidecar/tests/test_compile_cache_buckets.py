"""The native engine's compile cache across starts whose long prompts need different graphs: MindSpore matches cached
graphs by compile order, so a graph compiled on first use must not load one an earlier start compiled in its place."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytest.importorskip("mindspore", reason="the native engine tests need mindspore (npm test installs it)")

SIDECAR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ANSWER = """
import sys
sys.path.insert(0, %r)
from glm_sidecar.engine.base import GenerateParams
from glm_sidecar.engine.native_engine import NativeEngine
engine = NativeEngine(sys.argv[1], "CPU", 0, None, precision="float16", compile_cache_dir=sys.argv[2])
engine.load(lambda *a: None)
ids = engine.encode("你好" * int(sys.argv[3]))
print("bucket-run", len(ids), engine.decoder.run(ids, GenerateParams(max_new_tokens=2, do_sample=False),
                                                  lambda: False, lambda t: None)[0])
""" % SIDECAR


def answer(model_dir, cache, repeats):
    script = os.path.join(os.path.dirname(cache), "answer.py")  # a file: the compile cache parses the entry script
    with open(script, "w") as handle:
        handle.write(ANSWER)
    done = subprocess.run([sys.executable, script, model_dir, cache, str(repeats)], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=600)
    out = done.stdout.decode("utf-8", "replace")
    assert done.returncode == 0, out[-2000:]
    return [line for line in out.splitlines() if line.startswith("bucket-run")][-1]


def test_a_later_start_with_a_longer_prompt_does_not_load_another_buckets_graph(tiny_model_dir, tmp_path):
    cache = str(tmp_path / "compile")
    assert answer(tiny_model_dir, cache, 110) == "bucket-run 112 length"  # warms 64, compiles the 128 graph
    assert answer(tiny_model_dir, cache, 235) == "bucket-run 237 length"  # the 256 graph, third again
