"""GLM's 2-D rotary positions as constant tables: cos/sin per position and the rotate-half matrix."""
from __future__ import annotations

import numpy as np


def rotary_tables(head_dim: int, seq_length: int):
    """cos and sin [seq_length, head_dim/2]; frequencies and positions in float16, as ChatGLM-6B computes them."""
    dim = head_dim // 2
    inv_freq = (1.0 / (10000 ** (np.arange(0, dim, 2).astype(np.float32) / dim))).astype(np.float16)
    freqs = np.outer(np.arange(seq_length, dtype=np.float16), inv_freq)
    emb = np.concatenate((freqs, freqs), axis=-1)
    return np.cos(emb).astype(np.float32), np.sin(emb).astype(np.float32)


def rotation_matrix(head_dim: int):
    """R with x @ R = rotate_half applied to each half of a head: for a half h of width w,
    (-h[w/2:], h[:w/2]). A matmul by +-1 is exact, and unlike slices, negation and concat it leaves nothing
    behind on MindSpore's CPU runtime (docs/native-engine.md)."""
    half = head_dim // 2
    quarter = half // 2
    rot = np.zeros((head_dim, head_dim), np.float32)
    for base in (0, half):
        for j in range(quarter):
            rot[base + j + quarter, base + j] = -1.0
            rot[base + j, base + j + quarter] = 1.0
    return rot
