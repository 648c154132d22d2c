#!/bin/sh
# A pyzmq built with libzmq's draft API, in its own venv, for the libzmq interop tests of
# the draft socket types (tests/test_radio_dish.py skips them, saying so, when the
# installed pyzmq has no draft API: PyPI's wheels don't). Debian's libzmq is built without
# drafts too, so libzmq is built from Debian's source package. Nothing outside $PREFIX and
# $VENV is touched (apt reads its own source list from $PREFIX).
#
#   sh tools/draft_pyzmq.sh            # then:
#   LD_LIBRARY_PATH=/tmp/zmqdraft/lib /tmp/draft-venv/bin/python -m pytest tests/test_radio_dish.py
set -e
PREFIX=${PREFIX:-/tmp/zmqdraft}
VENV=${VENV:-/tmp/draft-venv}
WORK=$PREFIX/src
mkdir -p "$WORK/apt/lists/partial"
cd "$WORK"
echo "deb-src http://deb.debian.org/debian bookworm main" > apt/src.list
APT="-o Dir::Etc::SourceList=$WORK/apt/src.list -o Dir::Etc::SourceParts=/dev/null -o Dir::State::Lists=$WORK/apt/lists"
apt-get $APT update -qq
apt-get $APT source --download-only zeromq3
tar xzf zeromq3_*.orig.tar.gz
cd libzmq-*/
mkdir -p build && cd build
cmake .. -DCMAKE_POLICY_VERSION_MINIMUM=3.5 -DENABLE_DRAFTS=ON -DBUILD_TESTS=OFF \
    -DWITH_LIBSODIUM=OFF -DENABLE_CURVE=OFF -DWITH_DOCS=OFF -DBUILD_STATIC=OFF \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$PREFIX"
make -j2 && make install
python -m venv --system-site-packages "$VENV"
ZMQ_PREFIX=$PREFIX ZMQ_DRAFT_API=1 "$VENV/bin/pip" install --no-binary pyzmq --no-cache-dir "pyzmq==27.1.0"
LD_LIBRARY_PATH=$PREFIX/lib "$VENV/bin/python" -c "import zmq; assert zmq.has('draft'); print('pyzmq', zmq.__version__, 'libzmq', zmq.zmq_version(), 'draft: yes')"
