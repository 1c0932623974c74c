"""The sidecar's import rules (python-sidecar/.importlinter) hold under import-linter and catch what they forbid."""
import configparser
import glob
import os
import shutil
import subprocess
import sys

import pytest

SIDECAR = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
CONFIG = os.path.join(SIDECAR, ".importlinter")
LINT = [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; lint_imports_command()"]


def lint(cwd):
    """lint-imports on the glm_sidecar found in cwd, with the repo's contracts."""
    if sys.version_info < (3, 11):
        pytest.skip("import-linter 2.16 needs Python 3.11+ (requirements-dev.txt)")
    try:
        import importlinter  # noqa: F401
    except ImportError:
        pytest.fail("import-linter is missing: pip install -r python-sidecar/requirements-dev.txt")
    return subprocess.run(LINT + ["--config", CONFIG, "--no-cache"], cwd=cwd, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True)


def contract(name):
    parser = configparser.ConfigParser()
    parser.read(CONFIG)
    return parser["importlinter:contract:%s" % name]


def listed(section, key):
    return set(section[key].split())


def module_names(pattern):
    return {os.path.splitext(os.path.basename(p))[0] for p in glob.glob(pattern)}


def test_the_sidecar_keeps_its_import_rules():
    result = lint(SIDECAR)
    assert result.returncode == 0, result.stdout
    assert "3 kept, 0 broken" in result.stdout, result.stdout


def test_every_module_but_the_engine_is_kept_from_mindspore():
    children = module_names(os.path.join(SIDECAR, "glm_sidecar", "*.py")) - {"__init__"}
    assert listed(contract("mindspore-in-engine"), "source_modules") == {"glm_sidecar." + c for c in children}


def test_every_test_helper_and_script_is_forbidden_to_the_package():
    scripts = os.path.join(SIDECAR, "..", "scripts", "*.py")
    dev = module_names(os.path.join(SIDECAR, "tests", "*.py")) | module_names(scripts)
    dev = {name for name in dev if not name.startswith("test_")}  # tests import helpers, never each other
    assert dev | {"tools", "tests", "scripts"} <= listed(contract("no-dev-code"), "forbidden_modules")


@pytest.mark.parametrize("module, line, broken", [
    ("memory.py", "import mindspore", "Only glm_sidecar.engine imports MindSpore"),
    ("protocol.py", "import tools.op_audit", "Nothing in glm_sidecar imports the dev tools"),
    ("protocol.py", "import glm_test_models", "Nothing in glm_sidecar imports the dev tools"),
    ("engine/base.py", "from .. import server", "glm_sidecar's layers"),
])
def test_a_forbidden_import_breaks_a_contract(tmp_path, module, line, broken):
    shutil.copytree(os.path.join(SIDECAR, "glm_sidecar"), str(tmp_path / "glm_sidecar"),
                    ignore=shutil.ignore_patterns("__pycache__"))
    with open(str(tmp_path / "glm_sidecar" / module), "a", encoding="utf-8") as handle:
        handle.write("\n%s  # noqa\n" % line)
    result = lint(str(tmp_path))
    assert result.returncode != 0
    assert "1 broken" in result.stdout and broken in result.stdout.replace("\n", " "), result.stdout
