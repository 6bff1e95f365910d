"""Make experta 1.9.4 importable on Python >= 3.10.

experta pins ``frozendict==1.2``, which still reads the container ABCs from
``collections`` (moved to ``collections.abc`` in 3.3, removed from
``collections`` in 3.10). Re-exposing them before experta's first import makes
the pinned versions work unchanged. This module must be imported before
anything imports experta; the package ``__init__`` does so first.
"""

import collections
import collections.abc

for _name in ("Mapping", "MutableMapping", "Sequence", "MutableSequence", "Iterable",
              "Hashable", "Callable", "Set", "MutableSet"):
    if not hasattr(collections, _name):
        setattr(collections, _name, getattr(collections.abc, _name))
