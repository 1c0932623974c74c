"""Pytest setup: makes glm_sidecar, the dev tools and the test helpers importable from the source tree."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import shutil  # noqa: E402
import tempfile  # noqa: E402

import pytest  # noqa: E402

from tools import make_tiny_model  # noqa: E402

# pytest-xdist's workers (npm test runs two) start as `python -c ...`, and MindSpore's compile cache opens
# sys.argv[0] as the entry script whose imports it hashes: give a worker the entry a plain `python -m pytest` has.
if not os.path.isfile(sys.argv[0]):
    sys.argv[0] = os.path.join(os.path.dirname(pytest.__file__), "__main__.py")


@pytest.fixture(scope="session")
def tiny_model_dir():
    """The tiny GLM model: GLM_CHAT_TINY_MODEL_DIR (made there if stale, as npm test does) or a temp dir."""
    out = os.environ.get("GLM_CHAT_TINY_MODEL_DIR") or tempfile.mkdtemp(prefix="glm-tiny-")
    make_tiny_model.generate(out)
    return out


@pytest.fixture
def model(tiny_model_dir, tmp_path):
    """A private copy of the tiny checkpoint (tests change, truncate and move it) and an empty cache folder."""
    folder = tmp_path / "model"
    folder.mkdir()
    shutil.copy(os.path.join(tiny_model_dir, "glm_6b.ckpt"), str(folder))
    return str(folder / "glm_6b.ckpt"), str(tmp_path / "cache")
