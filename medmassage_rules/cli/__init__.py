"""The command line: ``medmassage`` and its commands over the library."""

from .commands import main

__all__ = ["main"]
