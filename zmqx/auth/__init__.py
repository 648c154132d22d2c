"""Authentication for zmqx, as pyzmq's zmq.auth: CURVE certificate files for now."""

from .certs import create_certificates, load_certificate, load_certificates  # noqa: F401

__all__ = ["create_certificates", "load_certificate", "load_certificates"]
