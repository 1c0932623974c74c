"""Checks that the sidecar's pins resolve on every Python the README promises (3.9, 3.10, 3.11): pip's resolver in
dry-run mode over the requirement files python-env.ts installs, with `-c constraints.txt`. One line per (Python, set);
exit 1 if any set fails. Needs PyPI; downloads package metadata only.

Two things pip does not do on its own, done here:
- pip evaluates environment markers (`; python_version < "3.10"`, in our files and in every package's dependencies)
  against the Python that runs it, whatever --python-version says (pypa/pip#10050). So pip runs in-process behind a
  small shim that makes packaging's marker environment say the target version.
- pip 23 downloads whole wheels to read their dependencies (MindSpore's is 776 MB); a newer pip reads PyPI's
  .metadata files. So pip runs from a small venv of its own in ~/.cache/glm-chat/pin-check (made once, reused).
--python-version needs --only-binary=:all:, and jieba publishes an sdist only: its pinned versions are built into
pure-Python wheels once (pin-check/wheels) and offered with --find-links. Any other pin without a wheel for
some Python fails here, on purpose: pip would compile it on the user's machine (setproctitle 1.3.8 on 3.9 did).
"""
import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIDECAR = ROOT / "python-sidecar"
# Outside the checkout, so that CI's fresh clones reuse it: glm-chat's XDG cache folder (src/config/paths.ts).
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "glm-chat" / "pin-check"
PIP_VERSION = "26.0.1"
PYTHONS = ["3.9", "3.10", "3.11"]
# Cumulative, in python-env.ts's order: the managed venv, then --engine mindformers, then npm test's extra file.
# The last set holds the others, so where it resolves they do too (same constraints); they run only where it fails.
SETS = [
    ("native", ["requirements.txt", "requirements-mindspore.txt"]),
    ("mindformers", ["requirements.txt", "requirements-mindspore.txt", "requirements-mindformers.txt"]),
    ("test", ["requirements.txt", "requirements-mindspore.txt", "requirements-mindformers.txt", "requirements-dev.txt"]),
]
SDIST_ONLY = ["jieba"]

# Runs pip with packaging's marker environment set to the Python version in argv[1]; argv[2:] are pip's arguments.
PIP_FOR_TARGET = """import sys
from pip._vendor.packaging import markers
target, args = sys.argv[1], sys.argv[2:]
host_environment = markers.default_environment
def target_environment():
    env = host_environment()
    env.update(python_version=target, python_full_version=target + ".0", implementation_version=target + ".0")
    return env
markers.default_environment = target_environment
from pip._internal.cli.main import main
sys.exit(main(args))
"""


def pip_python():
    """The venv's python with pip PIP_VERSION, made on first use."""
    python = CACHE / "venv" / "bin" / "python"
    probe = subprocess.run([str(python), "-m", "pip", "--version"], capture_output=True, text=True) if python.exists() else None
    if probe is None or not probe.stdout.startswith("pip %s " % PIP_VERSION):
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(CACHE / "venv")], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", "pip==" + PIP_VERSION], check=True)
    return python


def sdist_wheels(python):
    """Wheels for the sdist-only pins in constraints.txt, built once into CACHE/wheels."""
    wheels = CACHE / "wheels"
    text = (SIDECAR / "constraints.txt").read_text()
    for name in SDIST_ONLY:
        for version in re.findall(r"^%s==([^;\s]+)" % re.escape(name), text, re.M):
            if not list(wheels.glob("%s-%s-*.whl" % (name, version))):
                subprocess.run([str(python), "-m", "pip", "wheel", "-q", "--disable-pip-version-check", "--no-deps",
                                "--wheel-dir", str(wheels), "%s==%s" % (name, version)], check=True)
    return wheels


def check(python, wheels, version, files):
    """(ok, line): pip's dry run of `files` for one Python; the line says how many packages, or pip's error."""
    requirements = [arg for f in files for arg in ("-r", str(SIDECAR / f))]
    with tempfile.TemporaryDirectory() as target:
        result = subprocess.run(
            [str(python), "-c", PIP_FOR_TARGET, version, "install", "--dry-run", "--ignore-installed",
             "--disable-pip-version-check", "--only-binary=:all:", "--python-version", version, "--target", target,
             "--find-links", str(wheels)] + requirements + ["-c", str(SIDECAR / "constraints.txt")],
            capture_output=True, text=True, cwd=str(SIDECAR))
    if result.returncode == 0:
        would = [line for line in result.stdout.splitlines() if line.startswith("Would install ")]
        return True, "ok (%d packages)" % (len(would[-1].split()) - 2 if would else 0)
    return False, pip_error(result.stderr + result.stdout) or "pip exited %d" % result.returncode


def pip_error(output):
    """pip's last ERROR line that names the problem (not the help link), with a conflict's causes after it."""
    lines = output.splitlines()
    errors = [i for i, line in enumerate(lines) if line.startswith("ERROR: ") and "ResolutionImpossible" not in line]
    if not errors:
        return lines[-1].strip() if lines else ""
    causes = []
    if "The conflict is caused by:" in lines:
        for line in lines[lines.index("The conflict is caused by:") + 1:]:
            if not line.startswith("    "):
                break
            causes.append(line.strip())
    error = lines[errors[-1]][len("ERROR: "):]
    return "%s: %s" % (error.rstrip("."), "; ".join(causes)) if causes else error


def check_version(python, wheels, version):
    """(set name, ok, line) for each set on one Python: the largest set first, the smaller ones only if it fails."""
    name, files = SETS[-1]
    ok, line = check(python, wheels, version, files)
    if ok:
        return [(smaller, True, "ok (within %s)" % name) for smaller, _ in SETS[:-1]] + [(name, ok, line)]
    return [(smaller, *check(python, wheels, version, f)) for smaller, f in SETS[:-1]] + [(name, ok, line)]


def main():
    python = pip_python()
    wheels = sdist_wheels(python)
    with ThreadPoolExecutor(max_workers=len(PYTHONS)) as pool:
        results = list(pool.map(lambda version: check_version(python, wheels, version), PYTHONS))
    for version, rows in zip(PYTHONS, results):
        for name, _, line in rows:
            print("[pins] Python %-5s %-12s %s" % (version, name, line))
    return 0 if all(ok for rows in results for _, ok, _ in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
