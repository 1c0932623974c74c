"""--precision int8 / int4 on the (sharpened) tiny model: the engine maps its quantized copy and its logits match a NumPy
forward on the copy's own dequantized weights (a broken kernel, scale or nibble order fails that), stay close to
float32's (next-token KL, top-1 agreement), and the engine says its precision; int8/int4 are refused off CPU."""
from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

ms = pytest.importorskip("mindspore", reason="the native engine tests need mindspore (npm test installs it)")

from glm_numpy_reference import GlmNumpyReference, load_checkpoint_arrays  # noqa: E402
from glm_sidecar.engine.base import EngineError, GenerateParams  # noqa: E402
from glm_sidecar.engine.native import quantizer  # noqa: E402
from glm_sidecar.engine.native.quantized_weights import QuantizedWeights  # noqa: E402
from glm_sidecar.engine.native_engine import NativeEngine  # noqa: E402
from glm_test_models import LONG_PROMPT, PROMPTS, sharpen  # noqa: E402

# Prompts whose next-token distributions are compared: the shared ones and prefixes of the long one (one graph).
EVAL_PROMPTS = PROMPTS + [LONG_PROMPT[:n] for n in (8, 16, 24, 32, 40)]
# The engine against NumPy on the same dequantized weights: what is left is the kernels' run-time int8 rounding of
# activations and the float16 KV cache; measured 0.010-0.020 of the logits' RMS for both int8 and int4.
SAME_WEIGHTS_REL_RMS = 0.03
# Against float32 (the quantization itself, on a model of k = 64 whose logits the sharpening makes large); measured:
# int8 rel. RMS 0.015-0.039, mean KL 0.003, top-1 all; int4 0.16-0.30, mean KL 0.32, top-1 most (NumPy on the same
# dequantized int4 weights: 0.19-0.30, so this is the scheme's error, not the engine's).
QUALITY = {"int8": {"rel_rms": 0.06, "kl": 0.01, "top1": 1.0}, "int4": {"rel_rms": 0.45, "kl": 0.6, "top1": 0.6}}


def load_engine(model_dir, precision, device="CPU"):
    engine = NativeEngine(model_dir, device, 0, None, precision=precision)
    engine.load(lambda phase, progress, detail: None)
    return engine


@pytest.fixture(scope="module")
def sharp_dir(tiny_model_dir, tmp_path_factory):
    """Its own folder: the quantized copies are made beside this checkpoint."""
    out = str(tmp_path_factory.mktemp("sharpened-quantized"))
    for name in ("ice_text.model", "glm_config.json"):
        shutil.copy(os.path.join(tiny_model_dir, name), out)
    arrays = sharpen(load_checkpoint_arrays(os.path.join(tiny_model_dir, "glm_6b.ckpt")))
    ms.save_checkpoint([{"name": n, "data": ms.Tensor(a)} for n, a in sorted(arrays.items())],
                       os.path.join(out, "glm_6b.ckpt"))
    return out


@pytest.fixture(scope="module")
def engines(sharp_dir):
    return dict((p, load_engine(sharp_dir, p)) for p in ("float32", "int8", "int4"))


def next_token_logits(engine, prompt):
    engine.decoder.record_logits = True
    tokens = []
    engine.decoder.run(engine.encode(prompt), GenerateParams(max_new_tokens=1, do_sample=False), lambda: False,
                       tokens.append)
    engine.decoder.record_logits = False
    return np.asarray(engine.decoder.last_logits[0], np.float64)


def dequantized_arrays(path, bits, swap_nibbles=False):
    """The copy's tensors as the engine should see them: q8/q4 matrices decoded, floats as stored."""
    out = {}
    with QuantizedWeights(path) as weights:
        for name in weights.names():
            t = weights.get(name)
            if t.kind == "float":
                out[name] = np.array(t.values, np.float32)
                continue
            qs = np.array(t.qs)
            if swap_nibbles:
                qs = ((qs & 0x0F) << 4) | (qs >> 4)
            out[name] = quantizer.dequantize(qs, np.array(t.scales), bits).reshape(t.shape)
    return out


def reference(arrays, engine):
    tok = engine.tokenizer
    return GlmNumpyReference(arrays, engine.shape.num_heads, bos_token_id=tok.bos_id, gmask_token_id=tok.gmask_id,
                             mask_token_id=tok.mask_id, eos_token_id=tok.eos_id)


def rel_rms(got, want):
    return float(np.sqrt(np.mean((got - want) ** 2)) / np.sqrt(np.mean(want ** 2)))


def kl(p_logits, q_logits):
    p = np.exp(p_logits - p_logits.max())
    p /= p.sum()
    q = np.exp(q_logits - q_logits.max())
    q /= q.sum()
    return float(np.sum(p * (np.log(p + 1e-30) - np.log(q + 1e-30))))


def test_the_engine_maps_its_quantized_copy_and_says_its_precision(engines, sharp_dir):
    for precision in ("int8", "int4"):
        info = engines[precision].info()
        assert (info["precision"], info["compute_dtype"]) == (precision, "float16")
        assert os.path.isfile(os.path.join(sharp_dir, "glm_6b.%s.glmq" % precision))
    assert engines["float32"].info()["precision"] == "float32"


@pytest.mark.parametrize("precision", ["int8", "int4"])
def test_logits_match_numpy_on_the_copys_dequantized_weights(engines, sharp_dir, precision):
    engine = engines[precision]
    path = os.path.join(sharp_dir, "glm_6b.%s.glmq" % precision)
    bits = 8 if precision == "int8" else 4
    ref = reference(dequantized_arrays(path, bits), engine)
    errors = [rel_rms(next_token_logits(engine, p), ref.logits(engine.encode(p))[-1]) for p in EVAL_PROMPTS]
    assert max(errors) <= SAME_WEIGHTS_REL_RMS, errors
    if bits == 4:  # the bound is tight enough to see a wrong nibble order
        wrong = reference(dequantized_arrays(path, bits, swap_nibbles=True), engine)
        ids = engine.encode(PROMPTS[1])
        assert rel_rms(next_token_logits(engine, PROMPTS[1]), wrong.logits(ids)[-1]) > 5 * SAME_WEIGHTS_REL_RMS


@pytest.mark.parametrize("precision", ["int8", "int4"])
def test_next_token_distributions_stay_close_to_float32(engines, precision):
    bound = QUALITY[precision]
    errors, kls, agree = [], [], 0
    for prompt in EVAL_PROMPTS:
        want = next_token_logits(engines["float32"], prompt)
        got = next_token_logits(engines[precision], prompt)
        errors.append(rel_rms(got, want))
        kls.append(kl(want, got))
        agree += int(np.argmax(got) == np.argmax(want))
    assert max(errors) <= bound["rel_rms"], errors
    assert float(np.mean(kls)) <= bound["kl"], kls
    assert agree >= bound["top1"] * len(EVAL_PROMPTS), agree


def test_int8_and_int4_generate_a_whole_answer(engines):
    for precision in ("int8", "int4"):
        tokens = []
        reason, count = engines[precision].decoder.run(engines[precision].encode(PROMPTS[0]),
                                                       GenerateParams(max_new_tokens=20, do_sample=False),
                                                       lambda: False, tokens.append)
        assert count == len(tokens) > 0 and reason in ("stop", "length")


@pytest.mark.parametrize("device", ["Ascend", "GPU"])
def test_int8_and_int4_are_refused_off_cpu_before_anything_loads(sharp_dir, device):
    from glm_sidecar.engine.native import runtime

    with pytest.raises(EngineError) as caught:
        runtime.weights_precision_for(device, "int4")
    assert caught.value.ename == "PrecisionUnsupported" and "CPU only so far" in str(caught.value)
    assert runtime.compute_dtype_for("CPU", "int8") == "float16"
