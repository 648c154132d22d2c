"""The package version, written here only: setuptools reads it for the metadata
(pyproject's dynamic version) and zmqx.__version__ imports it."""

__version__ = "0.1.0"
