"""A CURVE key pair on stdout, under the module name pyzmq programs and scripts call
(``python -m zmq.curve_keygen``; here ``python -m zmqx.curve_keygen``).

Prints the public and secret key (Z85, 40 characters each) in libzmq's curve_keygen
layout, or as a JSON object with --json. --secret derives the public key of an existing
secret key instead of making a new pair. ``python -m zmqx keygen`` is the fuller tool
(certificate files)."""

import argparse
import json
import sys

import zmqx


def _parser():
    return argparse.ArgumentParser(
        prog="python3 -m zmqx.curve_keygen",
        description=("Make a CURVE key pair (or the public key of --secret), Z85-encoded. "
                     "The drop-in for pyzmq's `python3 -m zmq.curve_keygen`."),
    )


def main(argv=None):
    parser = _parser()
    parser.add_argument("--json", action="store_true",
                        help='print {"public": ..., "secret": ...} instead')
    parser.add_argument("--secret", metavar="SECRET",
                        help="a Z85 secret key: print it with its public key")
    args = parser.parse_args(argv)
    if args.secret:
        secret = args.secret
        try:
            public = zmqx.curve_public(secret.encode("ascii")).decode("ascii")
        except (ValueError, UnicodeError, zmqx.ZMQError) as e:
            parser.error(f"--secret: not a 40-character Z85 secret key ({e})")
    else:
        pub, sec = zmqx.curve_keypair()
        public, secret = pub.decode("ascii"), sec.decode("ascii")
    if args.json:
        sys.stdout.write(json.dumps({"public": public, "secret": secret}, indent=1,
                                    sort_keys=True) + "\n")
    else:
        sys.stdout.write(f"== CURVE PUBLIC KEY ==\n{public}\n\n== CURVE SECRET KEY ==\n{secret}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
