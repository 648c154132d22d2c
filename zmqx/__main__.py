"""``python -m zmqx``: the command-line tools (zmqx/cli/)."""

import sys

from zmqx.cli import main

if __name__ == "__main__":
    sys.exit(main())
