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


_FLAT_KEYS: set[tuple[str, ...]] = set()  # field-name tuples seen without "__" (no nested accessor, nothing special)


class Fact(ExpertaFact):
    """experta's Fact; filled without ``freeze`` when every value is a plain scalar or a tuple.

    Such a fact (``light``) also answers experta's per-declaration questions - does it hold
    a pattern's conditions, a nested accessor? - without looking at every field again: it
    holds neither. Changing a field before declaration makes it an ordinary fact again.
    """

    light = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if args or self.__fields__ or any(type(v) not in PLAIN_TYPES for v in kwargs.values()):
            super().__init__(*args, **kwargs)
            return
        keys = tuple(kwargs)
        if keys not in _FLAT_KEYS:
            if any("__" in key for key in keys):
                super().__init__(**kwargs)
                return
            _FLAT_KEYS.add(keys)
        dict.update(self, kwargs)
        self._Fact__defaults: dict[Any, Any] = {}
        self.light = True

    def __setitem__(self, key: Any, value: Any) -> None:
        self.light = False
        super().__setitem__(key, value)

    def has_field_constraints(self) -> bool:
        return False if self.light else super().has_field_constraints()

    def has_nested_accessor(self) -> bool:
        return False if self.light else super().has_nested_accessor()
