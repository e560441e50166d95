"""Checks shared by the exercise kinds that are not "write a function": a choice, a prediction, a reading."""

from __future__ import annotations

from typing import Any, Mapping

from authkit.course.exercise import Incorrect, expect


def expect_choice(got: Any, answer: str, wrong: Mapping[str, str], threat: str) -> None:
    """Fail unless ``got`` is ``answer``; a wrong option's failure says why that option does not hold."""
    options = sorted({answer, *wrong})
    if isinstance(got, str):
        got = got.strip().lower()
    if got not in options:
        raise Incorrect(f"expected one of {options} for the threat {threat}, got {got!r}")
    if got != answer:
        raise Incorrect(f"expected {answer!r} for the threat {threat}, got {got!r}: {wrong[got]}")


def expect_predictions(got: Any, expected: Mapping[str, Any], what: str) -> None:
    """Compare a dict of predictions with what authkit does, one situation at a time, in order."""
    if not isinstance(got, dict):
        raise Incorrect(f"expected a dict with the keys {list(expected)} for {what}, got {got!r}")
    extra = [situation for situation in got if situation not in expected]
    if extra:
        raise Incorrect(f"expected predictions for {list(expected)} only ({what}), got also {extra!r}")
    for situation, value in expected.items():
        if situation not in got:
            raise Incorrect(f"expected a prediction for {situation!r} ({what}), got none")
        expect(got[situation], value, f"{situation!r} ({what})")


def expect_reading(got: Any, measured: float, tolerance: float, what: str) -> None:
    """Fail unless ``got`` is a number within ``tolerance`` of the value the figure was drawn from."""
    if isinstance(got, bool) or not isinstance(got, (int, float)):
        raise Incorrect(f"expected a number near {measured:g} for {what}, got {got!r}")
    if abs(got - measured) > tolerance:
        raise Incorrect(f"expected {measured:g} (± {tolerance:g}) for {what}, got {got!r}")
