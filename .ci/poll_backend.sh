#!/usr/bin/env bash
# CI: the whole test suite against the poll(2) backend with pipe signalers (the code macOS
# runs), built on Linux with ZMQX_POLLER=poll in a temporary copy of the project, so the
# checkout's own build is left alone. Extra arguments go to pytest.
#   .ci/poll_backend.sh            # everything
#   .ci/poll_backend.sh -x -k tcp  # a selection
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python - "$root" "$work" <<'PY'
import sys
from pathlib import Path
sys.path.insert(0, str(Path(sys.argv[1]) / "tests"))
from test_platform_layer import copy_project, build_poll_backend
dest = Path(sys.argv[2])
copy_project(dest)
build_poll_backend(dest, timeout=1800)
PY
cd "$work"
python -c "import zmqx._core.io_thread as t, sys; print('backend:', t.POLLER, t.SIGNALER); sys.exit(t.POLLER != 'poll')"
# (the test that builds this same backend again is left out: this run is that test, whole)
python -m pytest -q -p no:cacheprovider \
    --deselect tests/test_platform_layer.py::test_poll_backend_build tests "$@"
