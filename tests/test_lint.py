"""The repository lints clean under the ruff rules pyproject.toml chooses, declares the pins it installs, and CI
runs the README's test command."""
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _pins(path: Path) -> list[str]:
    lines = (line.split("#")[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("-r")]


def test_ruff_check_is_clean():
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise", "."],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    problems = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"ruff check found problems (`ruff check --fix .` mends the fixable ones):\n{problems}"


def test_pyproject_declares_the_pinned_requirements():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["dependencies"] == _pins(ROOT / "requirements.txt")
    assert project["optional-dependencies"]["dev"] == _pins(ROOT / "requirements-dev.txt")


def test_ci_runs_the_readme_test_command_verbatim():
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Run the tests", 1)[1].split("```bash\n", 1)[1].split("\n```", 1)[0]
    ci = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line and not line.startswith("#")]
    assert ci[-1] == block
