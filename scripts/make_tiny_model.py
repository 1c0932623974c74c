"""Generate a tiny random-weight ChatGLM-6B-shaped model (ice_text.model, glm_6b.ckpt, glm_config.json) for tests."""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import tiny_model_tokenizer  # noqa: E402  (sibling module in scripts/)

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


def checkpoint_arrays(vocab_size, piece_count, eop_id, num_layers=NUM_LAYERS, hidden=HIDDEN):
    """Return [(name, float16 ndarray)] in glm_6b.ckpt naming; Linear weights are [out, in].

    Rows of <eop> and of the padding ids past the last piece are zero in the embedding and lm_head, so their
    logit is exactly 0 and random-weight greedy decoding neither stops at once nor emits undecodable ids.
    """
    import numpy as np

    rng = np.random.RandomState(SEED)
    inner = 4 * hidden * 2 // 3

    def normal(*shape, std=0.02):
        return (rng.standard_normal(shape) * std).astype(np.float16)

    # Layer matrices at 1/sqrt(fan_in): attention then mixes the context enough that different
    # prompts lead to different greedy answers (with 0.02 every answer followed the last token alone).
    def layer_matrix(rows, cols):
        return normal(rows, cols, std=cols ** -0.5)

    def zeros(n):
        return np.zeros((n,), np.float16)

    def ones(n):
        return np.ones((n,), np.float16)

    emb = normal(vocab_size, hidden)
    emb[eop_id] = 0
    emb[piece_count:] = 0
    out = [("transformer.word_embeddings.embedding_table", emb)]
    for i in range(num_layers):
        p = "transformer.layers.%d." % i
        out += [
            (p + "input_layernorm.gamma", ones(hidden)),
            (p + "input_layernorm.beta", zeros(hidden)),
            (p + "attention.query_key_value.weight", layer_matrix(3 * hidden, hidden)),
            (p + "attention.query_key_value.bias", zeros(3 * hidden)),
            (p + "attention.dense.weight", layer_matrix(hidden, hidden)),
            (p + "attention.dense.bias", zeros(hidden)),
            (p + "post_attention_layernorm.gamma", ones(hidden)),
            (p + "post_attention_layernorm.beta", zeros(hidden)),
            (p + "mlp.dense_h_to_4h.weight", layer_matrix(inner, hidden)),
            (p + "mlp.dense_h_to_4h.bias", zeros(inner)),
            (p + "mlp.dense_4h_to_h.weight", layer_matrix(hidden, inner)),
            (p + "mlp.dense_4h_to_h.bias", zeros(hidden)),
        ]
    head = normal(vocab_size, hidden)
    head[eop_id] = 0
    head[piece_count:] = 0
    out += [
        ("transformer.final_layernorm.gamma", ones(hidden)),
        ("transformer.final_layernorm.beta", zeros(hidden)),
        ("lm_head.weight", head),
    ]
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
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--force", action="store_true", help="regenerate even if the stamp matches")
    parser.add_argument("--layers", type=int, default=NUM_LAYERS)
    parser.add_argument("--hidden", type=int, default=HIDDEN)
    parser.add_argument("--heads", type=int, default=NUM_HEADS)
    parser.add_argument("--seq-length", type=int, default=SEQ_LENGTH)
    args = parser.parse_args(argv)
    generate(os.path.abspath(args.out), force=args.force, num_layers=args.layers, hidden=args.hidden,
             num_heads=args.heads, seq_length=args.seq_length)
    return 0


if __name__ == "__main__":
    sys.exit(main())
