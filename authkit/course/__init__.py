"""The embedded course harness: exercises, the student-copy writer, the notebook runner."""

from authkit.course.exercise import (
    CORRECT,
    INCORRECT,
    NOT_ATTEMPTED,
    Incorrect,
    catalog,
    exercise,
    expect,
    expect_raises,
    register,
)

__all__ = [
    "CORRECT",
    "INCORRECT",
    "NOT_ATTEMPTED",
    "Incorrect",
    "catalog",
    "exercise",
    "expect",
    "expect_raises",
    "register",
]
