"""Shims that let MindFormers 1.1-1.3's GLM-6B run on the MindSpore builds PyPI still serves (2.7+).

Each shim is applied only where the attribute it fixes exists, so older MindFormers are untouched.
"""
from __future__ import annotations

from typing import Any, Dict


def apply_mindformers_shims(device_target: str) -> None:
    import mindspore as ms
    from mindformers.models.glm import glm as glm_module

    # 1. MindFormers 1.3.x GLMHead.construct calls self.cast, which GLMHead never defines
    #    (AttributeError "External object has no attribute cast" at graph compile).
    if not hasattr(glm_module.GLMHead, "cast"):
        glm_module.GLMHead.cast = ms.ops.Cast()

    if device_target == "CPU":
        # 2. From MindSpore 2.3 MindFormers samples with mint ops (ArgMaxExt, TopkExt) that have no
        #    CPU kernels ("The kernel ArgMaxExt unregistered"): use the classic ops and NumPy post-processing.
        try:
            from mindformers import version_control
            version_control.use_mint_op = lambda: False
        except ImportError:
            pass
        try:
            from mindformers.generation import logits_process
            if hasattr(logits_process, "run_using_numpy"):
                logits_process.run_using_numpy = lambda: True
        except ImportError:
            pass


def generator_config_extras(seq_length: int) -> Dict[str, Any]:
    """Fields MindFormers 1.1+'s text generator reads from any model config; GLMConfig lacks them."""
    block_size = 16
    return {
        "block_size": block_size,
        "num_blocks": (seq_length + block_size - 1) // block_size + 1,
        "is_dynamic": False,
    }
