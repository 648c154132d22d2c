"""Package metadata a user can trust: one version, the license text that is declared, the
classifiers and the wheel matrix naming the same Python versions, nothing but built files
in the wheel's package data."""
import hashlib
import importlib.metadata
import os
import re
import sys

import pytest

import zmqx

# the source tree: here, or where .ci/test-installed says when the tests run from a copy
ROOT = os.environ.get("ZMQX_SOURCE_ROOT") or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYPROJECT = os.path.join(ROOT, "pyproject.toml")
# sha256 of the Mozilla Public License 2.0 text as Mozilla publishes it (373 lines; the same
# bytes as Debian's /usr/share/common-licenses/MPL-2.0)
MPL_2_0_SHA256 = "fab3dd6bdab226f1c08630b1dd917e11fcb4ec5e1e020e2c16f83a0a13863e85"

needs_pyproject = pytest.mark.skipif(not os.path.exists(PYPROJECT), reason="pyproject.toml not present")


def pyproject():
    if sys.version_info < (3, 11):
        pytest.skip("tomllib is Python 3.11+")
    import tomllib
    with open(PYPROJECT, "rb") as f:
        return tomllib.load(f)


def test_version_is_single_sourced():
    from zmqx import _version
    assert zmqx.__version__ == _version.__version__
    assert re.fullmatch(r"\d+\.\d+\.\d+([ab]|rc)?\d*", zmqx.__version__)
    assert zmqx.pyzmq_version() == zmqx.__version__
    try:
        installed = importlib.metadata.version("zmqx")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("zmqx is not installed as a distribution (built in place only)")
    assert installed == zmqx.__version__


@needs_pyproject
def test_version_written_nowhere_else():
    meta = pyproject()["project"]
    assert "version" not in meta and meta["dynamic"] == ["version"]
    assert pyproject()["tool"]["setuptools"]["dynamic"]["version"] == {
        "attr": "zmqx._version.__version__"}
    with open(os.path.join(ROOT, "zmqx", "__init__.py")) as f:
        assert not re.search(r"^__version__\s*=", f.read(), re.M)


@needs_pyproject
def test_license_is_the_mpl_2_0_text():
    meta = pyproject()["project"]
    assert meta["license"] == "MPL-2.0"
    assert meta["license-files"] == ["LICENSE"]
    with open(os.path.join(ROOT, "LICENSE"), "rb") as f:
        text = f.read()
    assert text.startswith(b"Mozilla Public License Version 2.0\n")
    assert hashlib.sha256(text).hexdigest() == MPL_2_0_SHA256


@needs_pyproject
def test_classifiers_match_the_wheel_matrix():
    data = pyproject()
    classifiers = data["project"]["classifiers"]
    versions = sorted(c.rsplit(" ", 1)[1] for c in classifiers
                      if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c))
    built = sorted("3." + b[3:-2] for b in data["tool"]["cibuildwheel"]["build"].split())
    assert versions == built == ["3.10", "3.11", "3.12", "3.13", "3.14"]
    assert data["project"]["requires-python"] == ">=3.10"
    for needed in ("Operating System :: POSIX :: Linux", "Operating System :: MacOS",
                   "Operating System :: Microsoft :: Windows", "Typing :: Typed",
                   "Programming Language :: Cython"):
        assert needed in classifiers
    assert any(c.startswith("Development Status :: ") for c in classifiers)


@needs_pyproject
def test_wheel_package_data_holds_no_sources():
    st = pyproject()["tool"]["setuptools"]
    assert st["include-package-data"] is False
    assert st["package-data"] == {"*": ["py.typed", "*.pyi"]}
    assert set(st["exclude-package-data"]["*"]) >= {"*.pyx", "*.pxd", "*.pxi", "*.c", "*.h"}
