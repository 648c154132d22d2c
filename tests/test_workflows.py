"""The GitHub workflows are valid (check-jsonschema with the GitHub workflow schema it
ships, when installed: the test extra installs it on Linux x86_64), and say what the
project promises: every platform job enabled, wheels tested with the project's test
command, a tag-only trusted-publishing job, the poll(2) backend job, the benchmark gate."""
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKFLOWS = os.path.join(ROOT, ".github", "workflows")

pytestmark = pytest.mark.skipif(not os.path.isdir(WORKFLOWS), reason=".github/workflows not present")


def workflow_files():
    return sorted(os.path.join(WORKFLOWS, f) for f in os.listdir(WORKFLOWS)
                  if f.endswith((".yml", ".yaml")))


def load(name):
    yaml = pytest.importorskip("yaml", reason="PyYAML not installed")
    with open(os.path.join(WORKFLOWS, name)) as f:
        return yaml.load(f, Loader=yaml.BaseLoader)  # BaseLoader: `on` stays a string key


@pytest.mark.timeout(120)
def test_workflows_match_the_github_schema():
    exe = shutil.which("check-jsonschema")
    if exe is None:
        pytest.skip("WORKFLOWS NOT VALIDATED: check-jsonschema not installed "
                    "(pip install check-jsonschema)")
    files = workflow_files()
    assert {os.path.basename(f) for f in files} >= {"wheels.yml", "bench.yml", "docs.yml"}
    p = subprocess.run([exe, "--builtin-schema", "vendor.github-workflows", *files],
                       capture_output=True, text=True, timeout=100)
    assert p.returncode == 0, p.stdout + p.stderr


@pytest.mark.timeout(120)
def test_workflows_pass_actionlint():
    """actionlint, where installed, checks more than the schema: expressions, job needs,
    action inputs and runtimes (node20 actions stopped running in September 2026), and the
    run: scripts through shellcheck when that is installed too."""
    exe = shutil.which("actionlint")
    if exe is None:
        pytest.skip("actionlint not installed (a Go binary: `go install "
                    "github.com/rhysd/actionlint/cmd/actionlint@latest`)")
    p = subprocess.run([exe, "-no-color", "-oneline", *workflow_files()],
                       capture_output=True, text=True, timeout=100)
    assert p.returncode == 0, p.stdout + p.stderr


def test_schema_check_catches_a_broken_workflow(tmp_path):
    exe = shutil.which("check-jsonschema")
    if exe is None:
        pytest.skip("check-jsonschema not installed")
    bad = tmp_path / "bad.yml"
    bad.write_text("name: x\non: push\njobs:\n  j:\n    runs-on: ubuntu-latest\n"
                   "    steps:\n      - uses: actions/checkout@v4\n        runs: oops\n")
    p = subprocess.run([exe, "--builtin-schema", "vendor.github-workflows", str(bad)],
                       capture_output=True, text=True, timeout=100)
    assert p.returncode != 0


def test_wheels_cover_every_platform_and_run_the_test_suite():
    wf = load("wheels.yml")
    matrix = wf["jobs"]["wheels"]["strategy"]["matrix"]["include"]
    names = {m["name"] for m in matrix}
    assert names == {"linux-x86_64-manylinux", "linux-x86_64-musllinux",
                     "linux-aarch64-manylinux", "linux-aarch64-musllinux",
                     "macos-x86_64", "macos-arm64", "windows-amd64"}
    with open(os.path.join(WORKFLOWS, "wheels.yml")) as f:
        text = f.read()
    # no platform job left commented out
    assert "# - name:" not in text
    # the test command lives in pyproject (cibuildwheel) and is the project's script
    if sys.version_info >= (3, 11):
        import tomllib
        with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
            cibw = tomllib.load(f)["tool"]["cibuildwheel"]
        assert cibw["test-command"] == "python {project}/.ci/test-installed"
        assert cibw["build"].split() == [f"cp3{v}-*" for v in range(10, 15)]
    steps = wf["jobs"]["wheels"]["steps"]
    assert any("check-wheel" in s.get("run", "") for s in steps)


def test_publish_job_is_tag_only_trusted_publishing():
    wf = load("wheels.yml")
    job = wf["jobs"]["publish"]
    assert "refs/tags/v" in job["if"]
    assert job["permissions"] == {"id-token": "write"}
    assert set(job["needs"]) >= {"wheels", "sdist"}
    assert any(s.get("uses", "").startswith("pypa/gh-action-pypi-publish@") for s in job["steps"])
    assert wf["permissions"] == {"contents": "read"}  # nothing else gets a token


def test_poll_backend_and_sdist_jobs():
    wf = load("wheels.yml")
    poll = wf["jobs"]["poll-backend"]
    run = " ".join(s.get("run", "") for s in poll["steps"])
    assert poll["steps"][-1]["env"]["ZMQX_POLLER"] == "poll"
    assert ".ci/test-installed" in run
    sdist = " ".join(s.get("run", "") for s in wf["jobs"]["sdist"]["steps"])
    assert "python -m build --sdist" in sdist and ".ci/test-installed" in sdist


def test_bench_job_compares_with_the_previous_run():
    wf = load("bench.yml")
    assert "push" in wf["on"]
    steps = wf["jobs"]["bench"]["steps"]
    run = " ".join(s.get("run", "") for s in steps)
    assert "bench/ci.py --out bench-results.json --compare previous/bench-results.json" in run
    assert any(s.get("uses", "").startswith("actions/upload-artifact@") for s in steps)


def test_windows_platform_job_runs_the_wine_script_and_gates_publishing():
    wf = load("wheels.yml")
    job = wf["jobs"]["windows-platform"]
    run = " ".join(s.get("run", "") for s in job["steps"])
    assert "mingw-w64" in run and "wine" in run
    assert "bash .ci/windows_platform.sh" in run
    assert "windows-platform" in wf["jobs"]["publish"]["needs"]
