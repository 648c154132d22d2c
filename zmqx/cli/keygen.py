"""``python -m zmqx keygen``: a CURVE key pair on stdout, or certificate files in a folder.
It only drives zmqx.curve_keypair and zmqx.auth.certs (pyzmq's API), so it says so in one
line, exit code 2, when this build of zmqx has no CURVE security."""

import os

from ._common import EXIT_OK, EXIT_UNAVAILABLE, ToolError

NAME = "keygen"
HELP = "print a new CURVE key pair, or write it as certificate files"
DESCRIPTION = """\
Generate a CURVE key pair (Z85-encoded, 40 characters each) and print it:

  public: <40 characters>
  secret: <40 characters>

With --dir, write certificate files instead (NAME.key with the public key,
NAME.key_secret with both), as zmq.auth.create_certificates does, and print their
paths. Keep the secret key secret."""


def add_arguments(parser):
    parser.add_argument("--dir", metavar="DIR",
                        help="write certificate files into DIR (created if missing)")
    parser.add_argument("--name", metavar="NAME", default="zmqx",
                        help="base name of the certificate files (default: zmqx)")


def _text(key):
    return key.decode("ascii") if isinstance(key, bytes) else str(key)


def run(args, zmq):
    if args.dir is None:
        keypair = getattr(zmq, "curve_keypair", None)
        if keypair is None:
            raise ToolError("CURVE keys are not available: this build of "
                            f"{zmq.__name__} has no curve_keypair()", EXIT_UNAVAILABLE)
        try:
            public, secret = keypair()
        except (zmq.ZMQError, NotImplementedError) as e:
            raise ToolError(f"CURVE keys are not available: {e}", EXIT_UNAVAILABLE) from None
        print(f"public: {_text(public)}")
        print(f"secret: {_text(secret)}", flush=True)
        return EXIT_OK
    try:
        certs = __import__(f"{zmq.__name__}.auth.certs", fromlist=["create_certificates"])
        create = certs.create_certificates
    except (ImportError, AttributeError):
        raise ToolError("certificate files are not available: this build of "
                        f"{zmq.__name__} has no auth.certs.create_certificates()",
                        EXIT_UNAVAILABLE) from None
    try:
        os.makedirs(args.dir, exist_ok=True)
        public_file, secret_file = create(args.dir, args.name)
    except OSError as e:
        raise ToolError(f"cannot write certificates in {args.dir}: {e}") from None
    except (zmq.ZMQError, NotImplementedError) as e:
        raise ToolError(f"CURVE keys are not available: {e}", EXIT_UNAVAILABLE) from None
    print(public_file)
    print(secret_file, flush=True)
    return EXIT_OK
