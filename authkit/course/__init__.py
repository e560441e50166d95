"""The embedded course harness: exercises, the student-copy writer, the notebook runner."""

from authkit.course.catalog import catalog, exercise
from authkit.course.exercise import Incorrect, expect, expect_raises, register
from authkit.course.progress import CORRECT, INCORRECT, NOT_ATTEMPTED

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
