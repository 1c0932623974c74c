"""Pytest setup: makes the glm_sidecar package importable from the source tree."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import importlib.util  # noqa: E402
import tempfile  # noqa: E402

import pytest  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


@pytest.fixture(scope="session")
def tiny_model_dir():
    """The tiny GLM model: GLM_CHAT_TINY_MODEL_DIR (made there if stale, as npm test does) or a temp dir."""
    spec = importlib.util.spec_from_file_location("make_tiny_model", os.path.join(REPO, "scripts", "make_tiny_model.py"))
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    out = os.environ.get("GLM_CHAT_TINY_MODEL_DIR") or tempfile.mkdtemp(prefix="glm-tiny-")
    generator.generate(out)
    return out
