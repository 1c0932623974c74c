"""--engine auto's choice: MindFormers where its GLM-6B imports and loads, native otherwise, user errors kept."""
from __future__ import annotations

import pytest

from glm_sidecar.engine.auto_engine import AutoEngine
from glm_sidecar.engine.base import EngineError


class StubEngine(object):
    def __init__(self, name, failure=None, device_target="CPU", precision=None):
        self.name = name
        self.failure = failure
        self.loaded = False
        self.device_target = device_target
        self.precision = precision

    def load(self, report):
        if self.failure is not None:
            raise self.failure
        self.loaded = True

    def info(self):
        return {"engine": self.name, "engine_version": "1", "mindspore_version": "2.7.2"}


def choose(problem=None, mindformers_failure=None, **native_settings):
    made = {}

    def make(name, failure=None, **settings):
        def factory():
            made[name] = StubEngine(name, failure, **settings)
            return made[name]
        return factory

    reports = []
    auto = AutoEngine(make("mindformers", mindformers_failure), make("native", **native_settings), lambda: problem)
    auto.load(lambda phase, progress, detail: reports.append(detail))
    return auto, made, reports


def test_takes_mindformers_when_its_glm_imports_and_loads():
    auto, made, _ = choose()
    assert auto.name == "mindformers" and not made["native"].loaded  # made for its settings only, never loaded
    assert "engine_fallback" not in auto.info() and auto.info()["engine_choice"] == "auto"


def test_goes_native_without_trying_mindformers_when_it_has_no_glm():
    auto, made, reports = choose(problem="MindFormers 1.5.0 has no GLM-6B")
    assert auto.name == "native" and "mindformers" not in made
    assert auto.info()["engine_fallback"] == "MindFormers 1.5.0 has no GLM-6B"
    assert any("using glm-chat's native engine" in (r or "") for r in reports)


@pytest.mark.parametrize("failure", [EngineError("MindFormersGlmMissing", "x"),
                                     RuntimeError("The kernel ArgMaxExt unregistered"), AttributeError("cast")])
def test_falls_back_when_mindformers_fails_on_its_own(failure):
    auto, made, _ = choose(mindformers_failure=failure)
    assert auto.name == "native" and made["native"].loaded
    assert type(failure).__name__ in auto.info()["engine_fallback"] or failure.__class__ is EngineError


def test_goes_native_for_float16_on_cpu_which_mindformers_would_ignore_and_says_so():
    auto, made, reports = choose(device_target="CPU", precision="float16")
    assert auto.name == "native" and made["native"].loaded and "mindformers" not in made
    assert "ignores --precision float16" in auto.info()["engine_fallback"]
    assert any("--precision float16; using glm-chat's native engine" in (r or "") for r in reports)


def test_goes_native_for_float32_on_a_gpu_too():
    auto, _, _ = choose(device_target="GPU", precision="float32")
    assert auto.name == "native" and "in float16 on GPU and ignores --precision float32" in auto.info()["engine_fallback"]


@pytest.mark.parametrize("settings", [dict(device_target="GPU", precision="float16"),
                                      dict(device_target="CPU", precision=None),
                                      dict(device_target="CPU", precision="float32")])
def test_keeps_mindformers_where_it_runs_the_precision_asked_for(settings):
    auto, made, _ = choose(**settings)
    assert auto.name == "mindformers" and not made["native"].loaded


@pytest.mark.parametrize("ename", ["ModelFileMissing", "CheckpointMismatch", "DeviceUnavailable"])
def test_keeps_errors_the_native_engine_would_hit_too(ename):
    with pytest.raises(EngineError) as err:
        choose(mindformers_failure=EngineError(ename, "the user's to fix"))
    assert err.value.ename == ename


def test_is_not_ready_before_load():
    auto = AutoEngine(lambda: StubEngine("mindformers"), lambda: StubEngine("native"), lambda: None)
    with pytest.raises(EngineError) as err:
        auto.count_tokens("x")
    assert err.value.ename == "NotReady" and auto.name == "auto"


@pytest.mark.parametrize("device,precision", [("CPU", "float16"), ("CPU", "int8"), ("CPU", "int4"), ("GPU", "int8")])
def test_mindformers_asked_for_by_name_refuses_a_precision_it_cannot_run(device, precision, tmp_path):
    from glm_sidecar.engine.mindformers_engine import MindFormersEngine

    engine = MindFormersEngine(str(tmp_path), device, precision=precision)  # refused before any file or import
    with pytest.raises(EngineError) as err:
        engine.load(lambda phase, progress, detail: None)
    assert err.value.ename == "PrecisionUnsupported"
    assert ("--precision %s needs the native engine" % precision) in str(err.value)
