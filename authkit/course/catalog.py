"""The exercise catalog: every notebook's exercises, and the one line a notebook declares one with."""

from __future__ import annotations

import importlib
import pkgutil
import sys

from authkit.course import exercises
from authkit.course.exercise import Exercise, Spec, registered


def catalog() -> dict[str, Spec]:
    """Every exercise of the course, by name."""
    for module in pkgutil.iter_modules(exercises.__path__):
        importlib.import_module(f"{exercises.__name__}.{module.name}")
    return registered()


def exercise(name: str) -> Exercise:
    """Declare the exercise ``name`` in the calling notebook (one line)."""
    specs = catalog()
    try:
        spec = specs[name]
    except KeyError:
        known = ", ".join(sorted(specs)) or "none"
        raise KeyError(f"no exercise named {name!r}; known: {known}") from None
    return Exercise(spec, sys._getframe(1).f_globals)
