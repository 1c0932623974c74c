"""The int8 KV cache (int8/int4 weights on CPU): which runs get it, its rows in the graph, and decode steps whose
logits still match a NumPy forward (float keys and values) on the same dequantized weights, step after step."""
from __future__ import annotations

import os

import numpy as np
import pytest

ms = pytest.importorskip("mindspore", reason="the native engine tests need mindspore (npm test installs it)")

from glm_sidecar.engine.base import EngineError, GenerateParams  # noqa: E402
from glm_sidecar.engine.native.runtime import KV_CACHE_ENV, kv_cache_for  # noqa: E402
from glm_sidecar.engine.native_engine import NativeEngine  # noqa: E402
from glm_test_models import LONG_PROMPT, PROMPTS, dequantized_arrays, reference, rel_rms, write_sharpened_model  # noqa: E402

STEPS = 16
# Decode logits against NumPy on the same dequantized int8 weights, each of the first STEPS steps: what is left is the
# kernels' run-time int8 rounding of activations, and the cache's. Measured (tiny model, box B): 0.011-0.026 of the
# logits' RMS over the int8 cache, 0.010-0.031 over the float16 one. Values read with a wrong scale give 0.2 and more.
STEP_REL_RMS = 0.05


def test_int8_and_int4_on_cpus_kernels_get_the_int8_cache_and_the_rest_a_float_one(monkeypatch):
    monkeypatch.delenv(KV_CACHE_ENV, raising=False)
    assert [kv_cache_for("CPU", p) for p in ("int8", "int4", "float16", "float32")] == ["int8", "int8", "float16",
                                                                                        "float32"]
    assert kv_cache_for("CPU", "int4", "dequantize") == "float16"  # the device path on CPU: no kernel reads it
    assert kv_cache_for("Ascend", "int4", "dequantize") == kv_cache_for("GPU", "int8", "dequantize") == "float16"
    monkeypatch.setenv(KV_CACHE_ENV, "float")
    assert kv_cache_for("CPU", "int4") == "float16"
    monkeypatch.setenv(KV_CACHE_ENV, "int8")
    assert kv_cache_for("CPU", "float16") == "int8" and kv_cache_for("Ascend", "float16") == "float16"
    monkeypatch.setenv(KV_CACHE_ENV, "q4")
    with pytest.raises(EngineError) as raised:
        kv_cache_for("CPU", "int4")
    assert raised.value.ename == "InvalidParameter" and KV_CACHE_ENV in str(raised.value)


def _load(model_dir, kv_cache):
    saved = os.environ.get(KV_CACHE_ENV)
    os.environ[KV_CACHE_ENV] = kv_cache
    try:
        engine = NativeEngine(model_dir, "CPU", 0, None, precision="int8")
        engine.load(lambda phase, progress, detail: None)
    finally:
        if saved is None:
            del os.environ[KV_CACHE_ENV]
        else:
            os.environ[KV_CACHE_ENV] = saved
    return engine


@pytest.fixture(scope="module")
def sharp_dir(tiny_model_dir, tmp_path_factory):
    return write_sharpened_model(tiny_model_dir, str(tmp_path_factory.mktemp("sharpened-kv")))


@pytest.fixture(scope="module")
def engines(sharp_dir):
    return {"int8": _load(sharp_dir, "int8"), "float": _load(sharp_dir, "float")}


def test_the_int8_cache_holds_codes_and_a_scale_per_row_and_head(engines):
    layer = engines["int8"].decoder.decode_step.network.layers[0]
    shape = engines["int8"].shape
    assert layer.k_cache.dtype == ms.int8 and layer.v_cache.dtype == ms.int8
    assert tuple(layer.k_cache.shape) == (shape.seq_length + 1, shape.num_heads, shape.head_dim + 4)
    assert engines["int8"].info()["kv_cache"] == "int8" and engines["float"].info()["kv_cache"] == "float16"
    float_layer = engines["float"].decoder.decode_step.network.layers[0]
    assert float_layer.k_cache.dtype == ms.float16 and float_layer.k_cache.shape[-1] == shape.head_dim


def _decode_errors(engine, ref, prompt):
    ids = engine.encode(prompt)
    tokens = []
    engine.decoder.record_logits = True
    try:
        engine.decoder.run(ids, GenerateParams(max_new_tokens=STEPS, do_sample=False), lambda: False, tokens.append)
    finally:
        engine.decoder.record_logits = False
    steps = engine.decoder.last_logits[1:len(tokens)]  # [0] is the prefill's; step i follows tokens[:i]
    assert len(steps) >= STEPS // 2, tokens
    return [rel_rms(np.asarray(got, np.float64), ref.logits(ids + tokens[:i + 1])[-1]) for i, got in enumerate(steps)]


@pytest.mark.parametrize("prompt", [PROMPTS[1], LONG_PROMPT[:40]])
def test_decode_steps_over_the_int8_cache_match_numpy_on_the_same_weights(engines, sharp_dir, prompt):
    arrays = dequantized_arrays(os.path.join(sharp_dir, "glm_6b.int8.glmq"), 8)
    ref = reference(arrays, engines["int8"])
    with_int8 = _decode_errors(engines["int8"], ref, prompt)
    with_float = _decode_errors(engines["float"], ref, prompt)
    assert max(with_int8) <= STEP_REL_RMS, with_int8
    assert max(with_float) <= STEP_REL_RMS, with_float
