"""Test models shared by the engine tests: MindFormers' GLMChatModel on given weights, sharpened tiny weights, and the
int8/int4 tests' helpers (logits of a prompt, a NumPy forward on a quantized copy's decoded weights)."""
from __future__ import annotations

import os

import mindspore as ms
import numpy as np

from glm_numpy_reference import GlmNumpyReference, load_checkpoint_arrays
from glm_sidecar.engine.base import GenerateParams
from glm_sidecar.engine.native import quantizer
from glm_sidecar.engine.native.quantized_weights import QuantizedWeights


PROMPTS = ["你好", "[Round 0]\n问：你好\n答：你好\n[Round 1]\n问：北京\n答：", "hello world, how are you today?"]
# ~211 tokens: positions near the end of the 256-long rotary table, where float16 angles are coarse.
LONG_PROMPT = "".join("[Round %d]\n问：北京的天气怎么样？\n答：今天北京晴天，气温二十度。\n" % i
                      for i in range(4)) + "[Round 4]\n问：明天呢？\n答："


def sharpen(arrays, seed=1234):
    """The tiny weights with non-trivial LayerNorm affines and biases, peakier attention and larger logits.

    The tiny checkpoint has zero biases, unit gammas and logits below 1, which hides layout mistakes;
    these weights (still float16 values) make a wrong bias split or rotary table visible.
    """
    rng = np.random.RandomState(seed)
    out = {}
    for name in sorted(arrays):
        a = arrays[name].astype(np.float32)
        if name.endswith(".gamma"):
            a = 1.0 + 0.3 * rng.standard_normal(a.shape)
        elif name.endswith((".beta", ".bias")):
            a = 0.3 * rng.standard_normal(a.shape)
        elif name.endswith("query_key_value.weight"):
            a = a * 2.0
        elif name in ("lm_head.weight", "transformer.word_embeddings.embedding_table"):
            a = a * 25.0
        out[name] = a.astype(np.float16)
    return out


def write_sharpened_model(tiny_model_dir, out):
    """The tiny model with sharpened weights in its own folder `out` (quantized copies are made beside it)."""
    import shutil

    for name in ("ice_text.model", "glm_config.json"):
        shutil.copy(os.path.join(tiny_model_dir, name), out)
    arrays = sharpen(load_checkpoint_arrays(os.path.join(tiny_model_dir, "glm_6b.ckpt")))
    ms.save_checkpoint([{"name": n, "data": ms.Tensor(a)} for n, a in sorted(arrays.items())],
                       os.path.join(out, "glm_6b.ckpt"))
    return out


# Shared by the int8/int4 engine tests.

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


class MindFormersSide(object):
    """GLMChatModel built as glm_sidecar/engine/mindformers_engine.py builds it (use_past chosen per call)."""

    def __init__(self, model_dir):
        from glm_sidecar.engine.mindformers_compat import apply_mindformers_shims, generator_config_extras
        from glm_sidecar.engine.mindformers_engine import CONFIG_KEYS
        from glm_sidecar.engine.model_files import read_model_config
        from mindformers.models.glm import GLMChatModel, GLMConfig
        from mindformers.models.glm.chatglm_6b_tokenizer import ChatGLMTokenizer

        ms.set_context(mode=ms.GRAPH_MODE, device_target="CPU")
        apply_mindformers_shims("CPU")
        self.model_dir = model_dir
        self.cfg = read_model_config(model_dir)
        self.tokenizer = ChatGLMTokenizer(os.path.join(model_dir, "ice_text.model"))
        fields = dict((k, self.cfg[k]) for k in CONFIG_KEYS if k in self.cfg)
        fields.update(generator_config_extras(fields["seq_length"]))
        self._make = lambda use_past: GLMChatModel(GLMConfig(
            position_encoding_2d=True, use_past=use_past, is_sample_acceleration=False, param_init_type="float32",
            compute_dtype="float32", layernorm_compute_type="float32", softmax_compute_type="float32",
            max_decode_length=fields["seq_length"], top_k=0, **fields))
        self.arrays = {"tiny": load_checkpoint_arrays(os.path.join(model_dir, "glm_6b.ckpt"))}
        self.arrays["sharpened"] = sharpen(self.arrays["tiny"])
        self._models = {}

    def ids(self, text):
        return [int(t) for t in self.tokenizer(text)["input_ids"]]

    def model(self, weights, use_past):
        key = (weights, use_past)
        if key not in self._models:
            model = self._make(use_past)
            model.set_train(False)
            params = dict((k, ms.Parameter(ms.Tensor(v), name=k)) for k, v in self.arrays[weights].items())
            not_loaded, _ = ms.load_param_into_net(model, params, strict_load=False)
            assert [n for n in not_loaded if not n.endswith(("key_past", "value_past"))] == []
            self._models[key] = model
        return self._models[key]

    def reference(self, weights, **kwargs):
        cfg = self.cfg
        return GlmNumpyReference(self.arrays[weights], cfg["num_heads"], bos_token_id=cfg["bos_token_id"],
                                 gmask_token_id=cfg["gmask_token_id"], mask_token_id=cfg["mask_token_id"],
                                 eos_token_id=cfg["eos_token_id"], **kwargs)

    def prefill_logits(self, weights, ids):
        """The full-sequence forward of generate's first step: padded to seq_length, valid rows returned."""
        model = self.model(weights, use_past=False)
        seq_length = model.config.seq_length
        padded = np.array([ids + [self.cfg["pad_token_id"]] * (seq_length - len(ids))], np.int32)
        out = model(ms.Tensor(padded, ms.int32), ms.Tensor(model.create_position_ids_np(padded), ms.int32),
                    ms.Tensor(model.get_masks_np(padded), ms.int32))[0]
        return out.asnumpy().reshape(seq_length, -1)[:len(ids)].astype(np.float64)

    def greedy(self, weights, use_past, ids, n):
        out = self.model(weights, use_past).generate([ids], max_new_tokens=n, do_sample=False)
        return [int(t) for t in np.asarray(out[0]).reshape(-1)[len(ids):]]
