"""The library's version, in a module of its own: the package root, the CLI and saved models read it from here."""

__all__ = ["__version__"]

__version__ = "0.1.0"
