"""Make experta 1.9.4 importable on Python >= 3.10.

experta pins ``frozendict==1.2``, which still reads the container ABCs from
``collections`` (moved to ``collections.abc`` in 3.3, removed from
``collections`` in 3.10). Re-exposing them before experta's first import makes
the pinned versions work unchanged. This module must be imported before
anything imports experta; the package ``__init__`` does so first. It also keeps experta's
import from configuring the host's root logger (see :class:`_QuietExperta`).
"""

import collections
import collections.abc
import importlib.abc
import importlib.util
import logging
import sys
from typing import Any

for _name in ("Mapping", "MutableMapping", "Sequence", "MutableSequence", "Iterable",
              "Hashable", "Callable", "Set", "MutableSet"):
    if not hasattr(collections, _name):
        setattr(collections, _name, getattr(collections.abc, _name))


class _QuietExperta(importlib.abc.MetaPathFinder):
    """Leaves the host's root logger alone: experta calls ``logging.basicConfig()`` at import.

    That installs a handler on the root logger, after which a host application's own
    ``logging.basicConfig(level=INFO)`` silently does nothing. This finder steps in once, when
    experta is first imported, and removes whatever handler the import added (experta's own
    loggers keep working through the host's configuration). Importing experta here instead
    would cost every command, ``--help`` included, its 80 ms.
    """

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name != "experta":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        loader = getattr(spec, "loader", None)
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        exec_module = loader.exec_module

        def quiet(module: Any) -> None:
            root = logging.getLogger()
            before = list(root.handlers)
            try:
                exec_module(module)
            finally:
                for handler in root.handlers[:]:
                    if handler not in before:
                        root.removeHandler(handler)

        loader.exec_module = quiet
        return spec


if "experta" not in sys.modules:
    sys.meta_path.insert(0, _QuietExperta())
