"""Finds and checks the model files of a model directory, and reads its optional glm_config.json."""
from __future__ import annotations

import json
import os
from typing import Any, Callable, Dict, TypeVar

from .base import EngineError

CHECKPOINT_NAME = "glm_6b.ckpt"
TOKENIZER_NAME = "ice_text.model"
CONFIG_NAME = "glm_config.json"
DOWNLOAD_BASE = "https://ascend-repo-modelzoo.obs.cn-east-2.myhuaweicloud.com/XFormer_for_mindspore/glm/"


def repull_advice() -> str:
    """What to do about a model file that is there but unreadable: `pull` checks every file and downloads a bad one
    anew. Said as the user runs glm-chat: `npm start -- pull` in a checkout (npm's environment reaches the sidecar)."""
    command = "npm start -- pull" if os.environ.get("npm_lifecycle_event") == "start" else "glm-chat pull"
    return "run %s again, which replaces a damaged file (or delete it and copy in a good one)" % command


T = TypeVar("T")


def require_model_file(model_dir: str, name: str) -> str:
    path = os.path.join(model_dir, name)
    if not os.path.isfile(path):
        raise EngineError("ModelFileMissing", "%s not found in %s (download it from %s%s)"
                          % (name, model_dir, DOWNLOAD_BASE, name))
    return path


def read_model_config(model_dir: str) -> Dict[str, Any]:
    """GLMConfig overrides for this directory: glm_config.json if present, else {} (the 6B defaults)."""
    path = os.path.join(model_dir, CONFIG_NAME)
    if not os.path.exists(path):
        return {}
    try:
        with open(path, "r", encoding="utf-8") as handle:
            value = json.load(handle)
    except (OSError, ValueError) as exc:
        raise EngineError("ModelConfigInvalid", "cannot read %s: %s" % (path, exc))
    if not isinstance(value, dict):
        raise EngineError("ModelConfigInvalid", "%s must hold a JSON object" % path)
    return value


def load_tokenizer(path: str, make: Callable[[str], T]) -> T:
    """`make(path)`, with a tokenizer file that cannot be read (cut short, corrupt, another model's) as TokenizerInvalid."""
    try:
        return make(path)
    except (ValueError, RuntimeError, OSError, TypeError) as exc:
        why = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise EngineError("TokenizerInvalid", "%s is not a readable ChatGLM-6B tokenizer (%s); it may be cut short, corrupt "
                          "or another model's: %s" % (path, why, repull_advice()))
