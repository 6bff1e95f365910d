"""The command line: ``medmassage`` and its commands over the library.

:func:`run` runs a command line with given streams and returns its exit code; ``main`` is
the root click group and the console script (``main()`` exits with ``run(sys.argv[1:])``).
"""

from .app import main, run

__all__ = ["main", "run"]
