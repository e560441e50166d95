"""Embedded exercises: one line declares one, then ``check()``, ``hint()`` and ``solution()``."""

from __future__ import annotations

import _operator
import copy
import functools
import hmac
import inspect
import os
import sys
from dataclasses import dataclass, field
from typing import Any, Callable

from authkit.course.progress import CORRECT, INCORRECT, NOT_ATTEMPTED, record_here



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


#: The constant-time comparisons: hmac's (also ``secrets.compare_digest``) and the pure-C fallback.
COMPARE_DIGEST = (hmac.compare_digest, _operator._compare_digest)
#: Where every CSPRNG in the standard library draws from (``secrets``, ``SystemRandom``, ``uuid4``).
URANDOM = (os.urandom,)


def calls_made(call: Callable[[], Any], targets: tuple[Callable[..., Any], ...]) -> tuple[Any, int]:
    """Run ``call()`` and count its calls to the built-in functions ``targets``, however they were imported."""
    seen = 0

    def profiler(frame: Any, event: str, arg: Any) -> None:
        nonlocal seen
        if event == "c_call" and any(arg is target for target in targets):
            seen += 1

    previous = sys.getprofile()
    sys.setprofile(profiler)
    try:
        return call(), seen
    finally:
        sys.setprofile(previous)


def expect_calls(call: Callable[[], Any], targets: tuple[Callable[..., Any], ...], why: str) -> Any:
    """Run ``call()``; fail with ``why`` unless it called one of ``targets`` (a defence no output can reveal)."""
    result, seen = calls_made(call, targets)
    if not seen:
        raise Incorrect(why)
    return result


def describe_call(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """``name(arg, …, key=value)`` with every argument's repr: the input a failure message names."""
    parts = [repr(a) for a in args] + [f"{key}={value!r}" for key, value in kwargs.items()]
    return f"{name}({', '.join(parts)})"


class _Traced:
    """The learner's function as a checker sees it: each call's input and answer are remembered for the report."""

    def __init__(self, fn: Callable[..., Any], name: str) -> None:
        functools.update_wrapper(self, fn)
        self._fn, self._name = fn, name
        self.last_call, self.last_args, self.last_result = "", ((), {}), None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.last_call = describe_call(self._name, args, kwargs)  # as the input was, before any mutation
        self.last_args, self.last_result = (args, kwargs), None
        try:
            self.last_result = self._fn(*args, **kwargs)
        except Exception as exc:
            exc._authkit_call = self.last_call  # type: ignore[attr-defined]  # which input made the learner's code raise
            raise
        return self.last_result


def _expected_answer(reference: Callable[..., Any], args: tuple[tuple[Any, ...], dict[str, Any]]) -> str:
    """What authkit's own answer gives for the same input: a value's repr, or the error it raises."""
    try:
        positional, keywords = copy.deepcopy(args)
        return repr(reference(*positional, **keywords))
    except Exception as exc:
        return type(exc).__name__


def _crash_report(spec: Spec, exc: Exception, traced: _Traced) -> str:
    """Incorrect's text for an exception that escaped a checker: the input behind it, and a pointer when it helps."""
    call = getattr(exc, "_authkit_call", None)
    if call is None:  # the learner's code returned, and the checker could not use what came back
        return (f"expected {_expected_answer(spec.reference, traced.last_args)} for {traced.last_call}, got "
                f"{traced.last_result!r}, which the check cannot use ({type(exc).__name__}: {exc})")
    report = f"{spec.name} raised {type(exc).__name__}: {exc} — for {call}"
    if isinstance(exc, TypeError) and "non-ASCII" in str(exc):
        report += " (hmac.compare_digest takes bytes, or str of ASCII only: compare x.encode() values)"
    return report


@dataclass(frozen=True)
class Spec:
    """What an exercise is: the name the learner defines, how to judge it, hints, the reference."""

    name: str
    checker: Callable[[Any], None]
    hints: tuple[str, ...]
    reference: Any
    solution: str | None = None

    @property
    def notebook(self) -> str | None:
        """The number of the notebook that teaches it ("04"), from its module ``…exercises.nb04``."""
        module = self.checker.__module__.rpartition(".")[2]
        return module[2:] if module.startswith("nb") and module[2:].isdigit() else None

    def solution_text(self) -> str:
        """The model answer: the code between the exercise's solution markers in its course notebook, which
        pastes in place of the stub; outside the course (no such notebook), given text or the reference's source."""
        from authkit.course.answers import model_answer

        answer = model_answer(self.name, self.notebook)
        if answer is not None:
            return answer
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
    _solution_shown: bool = field(default=False, repr=False)

    def _attempt(self) -> tuple[str, str]:
        answer = self.namespace.get(self.spec.name)
        if answer is None:
            return NOT_ATTEMPTED, f"define {self.spec.name} first, then run check() again"
        traced = _Traced(answer, self.spec.name)
        try:
            self.spec.checker(traced)
        except NotImplementedError:
            return NOT_ATTEMPTED, f"{self.spec.name} still raises NotImplementedError"
        except Incorrect as failure:
            return INCORRECT, str(failure)
        except Exception as exc:  # the learner's code crashed: report it with its input, do not crash the notebook
            return INCORRECT, _crash_report(self.spec, exc, traced)
        return CORRECT, f"{self.spec.name} passes every case"

    def check(self) -> None:
        """Print Correct, Incorrect (with the reason and the failing input) or Not attempted; record it in a workspace."""
        self.status, detail = self._attempt()
        record_here(self.spec, self.status, hints=self._hints_shown, solution_seen=self._solution_shown)
        print(f"{self.status}: {detail}")  # after the record: a learner who sees the verdict may close the lab at once

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
        self._solution_shown = True
        print(self.spec.solution_text())

    def implementation(self) -> Any:
        """The learner's answer if it is correct, else authkit's own: later cells always run."""
        status, _ = self._attempt()
        return self.namespace[self.spec.name] if status == CORRECT else self.spec.reference


def registered() -> dict[str, Spec]:
    """The exercises registered so far, by name (the catalog loads them all)."""
    return dict(_REGISTRY)
