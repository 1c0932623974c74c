"""The native engine refuses to run anywhere but the device asked for: a MindSpore that ends up on CPU is an error."""
from __future__ import annotations

import pytest

pytest.importorskip("mindspore", reason="the native engine tests need mindspore (npm test installs it)")

from glm_sidecar.engine.base import EngineError  # noqa: E402
from glm_sidecar.engine.native import runtime  # noqa: E402
from glm_sidecar.engine.native_engine import NativeEngine  # noqa: E402


class CpuOnlyMindSpore(object):
    """What set_context leaves behind when a build quietly keeps the CPU: it accepted GPU, it runs CPU."""

    __version__ = "2.7.2"

    @staticmethod
    def get_context(name):
        return {"device_target": "CPU"}[name]


def test_a_silent_fall_back_to_cpu_is_an_error_with_the_reason(tiny_model_dir, monkeypatch):
    monkeypatch.setattr(runtime, "start_mindspore", lambda *args: CpuOnlyMindSpore)
    engine = NativeEngine(tiny_model_dir, "GPU", 0, None)
    with pytest.raises(EngineError) as err:
        engine.load(lambda phase, progress, detail: None)
    assert err.value.ename == "DeviceFallback"
    assert "asked for GPU, but MindSpore 2.7.2 runs on CPU (glm-chat doctor --device GPU says why)" in str(err.value)
