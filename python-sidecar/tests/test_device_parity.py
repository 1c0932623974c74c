"""Device parity: the native engine in float16 on GLM_CHAT_PARITY_DEVICE (Ascend, GPU) against the float64 NumPy
reference on the CPU, within the tolerance the CPU float16 test uses; int8 and int4 (each matrix decoded to float16 in
the graph) against NumPy on the quantized copy's own decoded weights within the same tolerance, and against the
float16 run within the quantization's own error. scripts/device-check runs it on a device.
GLM_CHAT_PARITY_DEVICE=CPU runs the same checks on CPU (float16 through the CPU kernels; int8/int4 on the device path,
without kernels)."""
from __future__ import annotations

import os

import numpy as np
import pytest

DEVICE = os.environ.get("GLM_CHAT_PARITY_DEVICE")
if not DEVICE:
    pytest.skip("set GLM_CHAT_PARITY_DEVICE=Ascend|GPU|CPU (scripts/device-check does)", allow_module_level=True)
pytest.importorskip("mindspore", reason="device parity needs mindspore")

from glm_numpy_reference import GlmNumpyReference, load_checkpoint_arrays  # noqa: E402
from glm_sidecar.engine.base import GenerateParams  # noqa: E402
from glm_sidecar.engine.native.quantized_copy import find_quantized_copy  # noqa: E402
from glm_sidecar.engine.native_engine import NativeEngine  # noqa: E402
from glm_test_models import LONG_PROMPT, PROMPTS, dequantized_arrays, next_token_logits  # noqa: E402
from glm_test_models import reference as reference_on  # noqa: E402

FLOAT16_RTOL_OF_MAX = 5e-3  # test_native_engine.py's float16 tolerance
STEPS = 8
QUANTIZED = ("int8", "int4")
# int8/int4 against the float16 run on the tiny model: what quantizing its weights costs, as the largest logit
# difference over max(1, the largest logit) (the tiny model's logits stay below 0.51, so this is absolute). Measured on
# CPU's device path: int8 0.0049, int4 0.071; bounds about 3x. (Against NumPy on the copy's own decoded weights it
# measured 0.0004 for both, far inside FLOAT16_RTOL_OF_MAX.)
QUANTIZED_VS_FLOAT16 = {"int8": 0.015, "int4": 0.2}


def load(model_dir, precision):
    loaded = NativeEngine(model_dir, DEVICE, int(os.environ.get("GLM_CHAT_PARITY_DEVICE_ID", "0")), None,
                          precision=precision, quant_path="dequantize" if precision in QUANTIZED else None)
    loaded.load(lambda phase, progress, detail: None)
    return loaded


@pytest.fixture(scope="module")
def engine(tiny_model_dir):
    return load(tiny_model_dir, "float16")


@pytest.fixture(scope="module")
def quantized(tiny_model_dir):
    return dict((p, load(tiny_model_dir, p)) for p in QUANTIZED)


@pytest.fixture(scope="module")
def reference(tiny_model_dir, engine):
    tok = engine.tokenizer
    arrays = load_checkpoint_arrays(os.path.join(tiny_model_dir, "glm_6b.ckpt"))
    return GlmNumpyReference(arrays, engine.shape.num_heads, bos_token_id=tok.bos_id, gmask_token_id=tok.gmask_id,
                             mask_token_id=tok.mask_id, eos_token_id=tok.eos_id)


def test_runs_on_the_device_asked_for_in_float16(engine):
    info = engine.info()
    assert (info["device_target"], info["compute_dtype"]) == (DEVICE, "float16")


def greedy_with_logits(engine, ids):
    """The engine's greedy tokens for `ids` and the logits of every step (the last one's too)."""
    engine.decoder.record_logits = True
    tokens = []
    try:
        engine.decoder.run(ids, GenerateParams(max_new_tokens=STEPS, do_sample=False), lambda: False, tokens.append)
        return tokens, list(engine.decoder.last_logits)
    finally:
        engine.decoder.record_logits = False


@pytest.mark.parametrize("prompt", PROMPTS + [LONG_PROMPT])
def test_every_step_stays_within_float16_tolerance_of_the_reference(engine, reference, prompt):
    """Teacher-forced on the engine's own greedy tokens: each step's logits against the reference's for the same
    ids, and each greedy token is the reference's argmax unless the reference's top two are within tolerance."""
    ids = engine.encode(prompt)
    tokens, logits = greedy_with_logits(engine, ids)
    for step, (token, got) in enumerate(zip(tokens + [None], logits)):
        want = reference.logits(ids + tokens[:step])[-1]
        scale = max(1.0, float(np.abs(want).max()))
        assert float(np.abs(got - want).max()) <= FLOAT16_RTOL_OF_MAX * scale, (prompt, step)
        if token is not None:
            top2 = np.sort(want)[-2:]
            assert token == int(np.argmax(want)) or top2[1] - top2[0] <= 2 * FLOAT16_RTOL_OF_MAX * scale, (prompt, step)


@pytest.mark.parametrize("precision", QUANTIZED)
def test_int8_and_int4_decode_each_matrix_on_the_device_and_match_numpy_on_the_same_weights(quantized, tiny_model_dir,
                                                                                            precision):
    engine = quantized[precision]
    info = engine.info()
    assert (info["device_target"], info["precision"], info["quantized_matmul"]) == (DEVICE, precision, "dequantize")
    path, _ = find_quantized_copy(os.path.join(tiny_model_dir, "glm_6b.ckpt"), precision)
    ref = reference_on(dequantized_arrays(path, 8 if precision == "int8" else 4), engine)
    for prompt in PROMPTS + [LONG_PROMPT]:
        ids = engine.encode(prompt)
        tokens, logits = greedy_with_logits(engine, ids)
        for step, got in enumerate(logits):
            want = ref.logits(ids + tokens[:step])[-1]
            scale = max(1.0, float(np.abs(want).max()))
            assert float(np.abs(got - want).max()) <= FLOAT16_RTOL_OF_MAX * scale, (prompt, step)


@pytest.mark.parametrize("precision", QUANTIZED)
def test_int8_and_int4_stay_within_their_quantization_error_of_the_float16_run(quantized, engine, precision):
    for prompt in PROMPTS + [LONG_PROMPT]:
        want = next_token_logits(engine, prompt)
        got = next_token_logits(quantized[precision], prompt)
        scale = max(1.0, float(np.abs(want).max()))
        assert float(np.abs(got - want).max()) <= QUANTIZED_VS_FLOAT16[precision] * scale, prompt
