"""Embedded exercises: one line declares one, then ``check()``, ``hint()`` and ``solution()``."""

from __future__ import annotations

import inspect
import sys
from dataclasses import dataclass, field
from typing import Any, Callable

CORRECT, INCORRECT, NOT_ATTEMPTED = "Correct", "Incorrect", "Not attempted"


class Incorrect(AssertionError):
    """Raised by a checker: the learner's answer failed, and the message says on what input."""


def expect(got: Any, expected: Any, given: str) -> None:
    """Fail with "expected X for GIVEN, got Y" unless ``got == expected``."""
    if got != expected:
        raise Incorrect(f"expected {expected!r} for {given}, got {got!r}")


def expect_raises(call: Callable[[], Any], error: type[BaseException], given: str) -> None:
    """Fail unless ``call()`` raises ``error``."""
    try:
        got = call()
    except error:
        return
    except NotImplementedError:
        raise
    except Exception as exc:  # the learner raised the wrong thing
        raise Incorrect(f"expected {error.__name__} for {given}, got {type(exc).__name__}: {exc}") from exc
    raise Incorrect(f"expected {error.__name__} for {given}, got {got!r}")


def expect_source_uses(fn: Callable[..., Any], name: str, why: str) -> None:
    """Fail unless ``fn``'s source mentions ``name`` (a defence no input can reveal, e.g. compare_digest).

    A function whose source cannot be read (defined in a console, a builtin) is given the benefit of the doubt.
    """
    try:
        source = inspect.getsource(fn)
    except (OSError, TypeError):
        return
    if name not in source:
        raise Incorrect(why)


@dataclass(frozen=True)
class Spec:
    """What an exercise is: the name the learner defines, how to judge it, hints, the reference."""

    name: str
    checker: Callable[[Any], None]
    hints: tuple[str, ...]
    reference: Any
    solution: str | None = None

    def solution_text(self) -> str:
        """The model answer: given text, else the reference implementation's source."""
        if self.solution is not None:
            return self.solution.strip("\n")
        return inspect.getsource(self.reference).rstrip("\n")


_REGISTRY: dict[str, Spec] = {}


def register(
    name: str,
    *,
    checker: Callable[[Any], None],
    hints: tuple[str, ...] | list[str],
    reference: Any,
    solution: str | None = None,
) -> Spec:
    """Add an exercise to the catalog; ``name`` is the function the learner writes."""
    if name in _REGISTRY:
        raise ValueError(f"exercise {name!r} is registered twice")
    if not hints:
        raise ValueError(f"exercise {name!r} needs at least one hint")
    spec = Spec(name, checker, tuple(hints), reference, solution)
    _REGISTRY[name] = spec
    return spec


@dataclass
class Exercise:
    """A declared exercise, bound to the namespace of the notebook that declared it."""

    spec: Spec
    namespace: dict[str, Any]
    status: str = NOT_ATTEMPTED
    _hints_shown: int = field(default=0, repr=False)

    def _attempt(self) -> tuple[str, str]:
        answer = self.namespace.get(self.spec.name)
        if answer is None:
            return NOT_ATTEMPTED, f"define {self.spec.name} first, then run check() again"
        try:
            self.spec.checker(answer)
        except NotImplementedError:
            return NOT_ATTEMPTED, f"{self.spec.name} still raises NotImplementedError"
        except Incorrect as failure:
            return INCORRECT, str(failure)
        except Exception as exc:  # the learner's code crashed: report it, do not crash the notebook
            return INCORRECT, f"{self.spec.name} raised {type(exc).__name__}: {exc}"
        return CORRECT, f"{self.spec.name} passes every case"

    def check(self) -> None:
        """Print Correct, Incorrect (with the reason and the failing input) or Not attempted."""
        self.status, detail = self._attempt()
        print(f"{self.status}: {detail}")

    def hint(self) -> None:
        """Print the next hint; after the last one, point to ``solution()``."""
        hints = self.spec.hints
        if self._hints_shown >= len(hints):
            print(f"No more hints for {self.spec.name}: call solution() to see the model answer.")
            return
        self._hints_shown += 1
        print(f"Hint {self._hints_shown} of {len(hints)}: {hints[self._hints_shown - 1]}")

    def solution(self) -> None:
        """Print the model answer."""
        print(self.spec.solution_text())

    def implementation(self) -> Any:
        """The learner's answer if it is correct, else authkit's own: later cells always run."""
        status, _ = self._attempt()
        return self.namespace[self.spec.name] if status == CORRECT else self.spec.reference


def exercise(name: str) -> Exercise:
    """Declare the exercise ``name`` in the calling notebook (one line)."""
    _load_catalog()
    try:
        spec = _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise KeyError(f"no exercise named {name!r}; known: {known}") from None
    caller_globals = sys._getframe(1).f_globals
    return Exercise(spec, caller_globals)


def catalog() -> dict[str, Spec]:
    """Every registered exercise, by name."""
    _load_catalog()
    return dict(_REGISTRY)


def _load_catalog() -> None:
    import importlib
    import pkgutil

    from authkit.course import exercises

    for module in pkgutil.iter_modules(exercises.__path__):
        importlib.import_module(f"{exercises.__name__}.{module.name}")
