"""pyzmq-compatible utilities."""
