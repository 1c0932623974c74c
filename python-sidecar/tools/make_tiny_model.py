"""Generate a random-weight ChatGLM-6B model: the tiny test model by default, GLM-6B's real size with --preset."""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys

if __package__ in (None, ""):  # run as a file (scripts/make-tiny-model): python-sidecar/ holds the tools package
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tools import tiny_model_tokenizer  # noqa: E402

NUM_LAYERS = 2
HIDDEN = 64
NUM_HEADS = 4
SEQ_LENGTH = 256
SEED = 1234
OUTPUTS = ("ice_text.model", "glm_6b.ckpt", "glm_config.json")
STAMP = ".tiny-model-stamp"


def source_hash():
    """Hash of this script and its tokenizer helper: any edit invalidates previously generated files."""
    h = hashlib.sha256()
    for path in (os.path.abspath(__file__), tiny_model_tokenizer.__file__):
        with open(path, "rb") as f:
            h.update(f.read())
    return h.hexdigest()


def parameter_plan(num_layers, hidden, inner, vocab_size):
    """[(name, shape, init)] in glm_6b.ckpt order; Linear weights are [out, in].

    init: "vocab" (N(0, 0.02) rows, some zeroed), "matrix" (N(0, 1/fan_in)), "ones" or "zeros".
    """
    plan = [("transformer.word_embeddings.embedding_table", (vocab_size, hidden), "vocab")]
    for i in range(num_layers):
        p = "transformer.layers.%d." % i
        plan += [
            (p + "input_layernorm.gamma", (hidden,), "ones"),
            (p + "input_layernorm.beta", (hidden,), "zeros"),
            (p + "attention.query_key_value.weight", (3 * hidden, hidden), "matrix"),
            (p + "attention.query_key_value.bias", (3 * hidden,), "zeros"),
            (p + "attention.dense.weight", (hidden, hidden), "matrix"),
            (p + "attention.dense.bias", (hidden,), "zeros"),
            (p + "post_attention_layernorm.gamma", (hidden,), "ones"),
            (p + "post_attention_layernorm.beta", (hidden,), "zeros"),
            (p + "mlp.dense_h_to_4h.weight", (inner, hidden), "matrix"),
            (p + "mlp.dense_h_to_4h.bias", (inner,), "zeros"),
            (p + "mlp.dense_4h_to_h.weight", (hidden, inner), "matrix"),
            (p + "mlp.dense_4h_to_h.bias", (hidden,), "zeros"),
        ]
    plan += [
        ("transformer.final_layernorm.gamma", (hidden,), "ones"),
        ("transformer.final_layernorm.beta", (hidden,), "zeros"),
        ("lm_head.weight", (vocab_size, hidden), "vocab"),
    ]
    return plan


def checkpoint_arrays(vocab_size, piece_count, eop_id, num_layers=NUM_LAYERS, hidden=HIDDEN):
    """Return [(name, float16 ndarray)] following parameter_plan, drawn from one seeded stream in plan order.

    Rows of <eop> and of the padding ids past the last piece are zero in the embedding and lm_head, so their
    logit is exactly 0 and random-weight greedy decoding neither stops at once nor emits undecodable ids.
    Layer matrices are at 1/sqrt(fan_in): attention then mixes the context enough that different prompts
    lead to different greedy answers (with 0.02 every answer followed the last token alone).
    """
    import numpy as np

    rng = np.random.RandomState(SEED)
    out = []
    for name, shape, init in parameter_plan(num_layers, hidden, 4 * hidden * 2 // 3, vocab_size):
        if init == "ones":
            array = np.ones(shape, np.float16)
        elif init == "zeros":
            array = np.zeros(shape, np.float16)
        else:
            std = 0.02 if init == "vocab" else shape[1] ** -0.5
            array = (rng.standard_normal(shape) * std).astype(np.float16)
            if init == "vocab":
                array[eop_id] = 0
                array[piece_count:] = 0
        out.append((name, array))
    return out


def _tmp_name(path):
    return "%s.tmp-%d" % (path, os.getpid())


def write_bytes_atomic(path, data):
    tmp = _tmp_name(path)
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def is_up_to_date(out_dir, digest):
    if not all(os.path.isfile(os.path.join(out_dir, name)) for name in OUTPUTS):
        return False
    try:
        with open(os.path.join(out_dir, STAMP), "r") as f:
            return f.read().strip() == digest
    except (IOError, OSError):
        return False


def generate(out_dir, force=False, num_layers=NUM_LAYERS, hidden=HIDDEN, num_heads=NUM_HEADS, seq_length=SEQ_LENGTH):
    """Write the tiny model (or a larger random one of the same shape family) into out_dir; False if up to date."""
    dims = (num_layers, hidden, num_heads, seq_length)
    digest = source_hash() + ("" if dims == (NUM_LAYERS, HIDDEN, NUM_HEADS, SEQ_LENGTH) else "-%d-%d-%d-%d" % dims)
    if not force and is_up_to_date(out_dir, digest):
        print("tiny model up to date: %s" % out_dir)
        return False
    os.makedirs(out_dir, exist_ok=True)
    stamp_path = os.path.join(out_dir, STAMP)
    if os.path.exists(stamp_path):
        os.remove(stamp_path)  # a half-finished run must not look up to date

    sp_bytes, ids = tiny_model_tokenizer.build_tokenizer_model()
    vocab_size = (ids["piece_count"] + 63) // 64 * 64
    write_bytes_atomic(os.path.join(out_dir, "ice_text.model"), sp_bytes)

    import mindspore as ms

    arrays = checkpoint_arrays(vocab_size, ids["piece_count"], ids["<eop>"], num_layers, hidden)
    ckpt_path = os.path.join(out_dir, "glm_6b.ckpt")
    tmp = _tmp_name(ckpt_path) + ".ckpt"
    ms.save_checkpoint([{"name": n, "data": ms.Tensor(a)} for n, a in arrays], tmp)
    os.chmod(tmp, 0o644)  # save_checkpoint leaves the file 0400; keep it like the other outputs
    os.replace(tmp, ckpt_path)

    config = {
        "num_layers": num_layers,
        "hidden_size": hidden,
        "num_heads": num_heads,
        "inner_hidden_size": 4 * hidden * 2 // 3,
        "vocab_size": vocab_size,
        "seq_length": seq_length,
        "bos_token_id": ids["<sop>"],
        "eos_token_id": ids["<eop>"],
        "mask_token_id": ids["[MASK]"],
        "gmask_token_id": ids["[gMASK]"],
        "pad_token_id": 3,
        "param_dtype": "float16",
    }
    text = json.dumps(config, indent=2, sort_keys=True) + "\n"
    write_bytes_atomic(os.path.join(out_dir, "glm_config.json"), text.encode("utf-8"))
    write_bytes_atomic(stamp_path, (digest + "\n").encode("ascii"))

    n_params = sum(int(a.size) for _, a in arrays)
    sizes = ", ".join("%s %d B" % (n, os.path.getsize(os.path.join(out_dir, n))) for n in OUTPUTS)
    print("tiny model written to %s: layers=%d hidden=%d heads=%d inner=%d vocab=%d (%d pieces) params=%d; %s"
          % (out_dir, num_layers, hidden, num_heads, config["inner_hidden_size"], vocab_size,
             ids["piece_count"], n_params, sizes))
    return True


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", help="output directory (default with --preset: <repo>/.cache/<preset dir>)")
    parser.add_argument("--force", action="store_true", help="regenerate even if the stamp matches")
    parser.add_argument("--preset", choices=("glm-6b", "glm-6b-1layer"),
                        help="GLM-6B's real size and names (28 or 1 layers, hidden 4096), random float16 weights, "
                             "streamed to disk; writes no glm_config.json")
    parser.add_argument("--layers", type=int)
    parser.add_argument("--hidden", type=int)
    parser.add_argument("--heads", type=int)
    parser.add_argument("--seq-length", type=int)
    args = parser.parse_args(argv)
    shape_flags = (args.layers, args.hidden, args.heads, args.seq_length)
    if args.preset:
        if any(v is not None for v in shape_flags):
            parser.error("--preset fixes the shape: drop --layers/--hidden/--heads/--seq-length")
        from tools import glm_full_size_model  # only presets need it

        try:
            glm_full_size_model.generate_preset(args.preset, args.out, force=args.force)
        except glm_full_size_model.PresetError as exc:
            sys.stderr.write("make_tiny_model: %s\n" % exc)
            return 1
        return 0
    if args.out is None:
        parser.error("--out is required without --preset")
    defaults = (NUM_LAYERS, HIDDEN, NUM_HEADS, SEQ_LENGTH)
    layers, hidden, heads, seq_length = [d if v is None else v for v, d in zip(shape_flags, defaults)]
    generate(os.path.abspath(args.out), force=args.force, num_layers=layers, hidden=hidden,
             num_heads=heads, seq_length=seq_length)
    return 0


if __name__ == "__main__":
    sys.exit(main())
