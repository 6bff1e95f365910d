"""The project's fact base: experta's ``Fact``, built without the deep freeze when it has nothing to freeze.

experta passes every field of a new fact through ``freeze`` (a ``singledispatch`` call) so that
facts stay hashable; for a string, a number, a boolean, None or a tuple ``freeze`` returns the
value itself. A fact whose values are all of those types is filled directly: the same fact,
with the same fields, hash and equality, for a fraction of the work. Anything else (a list, a
dict, a set, a pattern's conditions) goes through experta's own constructor.
"""

from __future__ import annotations

from typing import Any

from experta import Fact as ExpertaFact

# Types experta's freeze returns unchanged (it only rebuilds dicts, lists and sets).
PLAIN_TYPES = frozenset({str, int, float, bool, type(None), tuple})


class Fact(ExpertaFact):
    """experta's Fact; filled without ``freeze`` when every value is a plain scalar or a tuple."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if args or self.__fields__ or any(type(v) not in PLAIN_TYPES for v in kwargs.values()):
            super().__init__(*args, **kwargs)
            return
        dict.update(self, kwargs)
        self._Fact__defaults: dict[Any, Any] = {}
