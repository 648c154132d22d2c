"""Sphinx configuration for the zmqx documentation site.

Build: `sphinx-build -W -b html docs build/docs-html` (CI and tests/test_docs.py do this,
warnings as errors). The API reference imports the zmqx that Python finds, so build after
installing (or building in place). The performance page's figure is drawn at build time
by bench/plot.py from the results file of a real benchmark run kept in docs/_data/.
"""
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

import zmqx  # noqa: E402  (the package documented; fail early if it is not importable)

project = "zmqx"
author = "The zmqx developers"
copyright = "The zmqx developers; MPL-2.0"
release = zmqx.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "_data", "README.md"]
myst_heading_anchors = 3

html_theme = "furo"
html_title = f"zmqx {release}"
html_static_path = ["_static"]
# made here, before Sphinx checks it: the folder holds only the generated figure (not in git)
os.makedirs(os.path.join(HERE, "_static"), exist_ok=True)

autodoc_member_order = "bysource"
autodoc_docstring_signature = True  # Cython's embedded signatures
autodoc_default_options = {"members": True, "show-inheritance": False}
napoleon_numpy_docstring = True
# `Socket` in a signature names zmqx.Socket (documented also under its canonical name
# zmqx.socket.Socket) or zmqx.asyncio.Socket: Sphinx reports the ambiguity as a warning
# and links the first; that is the one meant, so the ambiguity note is silenced
suppress_warnings = ["ref.python"]

# -- pages written on other branches (the command-line tools, the architecture notes): the
#    index lists them, and they are dropped from it while they do not exist, so that the
#    toctree never names a missing page (a warning, and so an error under -W)
OPTIONAL_PAGES = ["architecture", "cli"]


def _source_url():
    """[project.urls] Source from pyproject.toml: the one place the repository URL is kept."""
    try:
        with open(os.path.join(ROOT, "pyproject.toml")) as f:
            m = re.search(r'^Source\s*=\s*"([^"]+)"', f.read(), re.M)
        return m.group(1).rstrip("/") if m else None
    except OSError:
        return None


SOURCE_URL = _source_url()
_SOURCE_LINK = re.compile(r"\]\((\.\./[^)\s#]+)(#[^)\s]*)?\)")


def _link_source_files(app, docname, source):
    """Markdown links from a page to files of the repository outside docs/ (`../zmqx/...`)
    become links to those files in the repository; a link to a file that does not exist is
    left alone, so that Sphinx still reports it."""
    if not SOURCE_URL:
        return

    def repl(m):
        path = os.path.normpath(os.path.join(HERE, m.group(1)))
        if not path.startswith(ROOT + os.sep) or not os.path.exists(path):
            return m.group(0)
        rel = os.path.relpath(path, ROOT).replace(os.sep, "/")
        return f"]({SOURCE_URL}/blob/main/{rel}{m.group(2) or ''})"
    source[0] = _SOURCE_LINK.sub(repl, source[0])


def _drop_missing_optional_pages(app, docname, source):
    if docname != "index":
        return
    for page in OPTIONAL_PAGES:
        if not os.path.exists(os.path.join(HERE, page + ".md")):
            source[0] = "\n".join(line for line in source[0].splitlines()
                                  if line.strip() != page) + "\n"


def _draw_performance_figure(app):
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    try:
        import plot
    finally:
        sys.path.pop(0)
    plot.draw(os.path.join(HERE, "_data", "bench-results.json"),
              os.path.join(HERE, "_static", "performance.png"))


def setup(app):
    app.connect("source-read", _drop_missing_optional_pages)
    app.connect("source-read", _link_source_files)
    app.connect("builder-inited", _draw_performance_figure)
