"""Logging over ZeroMQ (pyzmq's zmq.log)."""
