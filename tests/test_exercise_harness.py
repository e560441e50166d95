"""authkit.course.exercise: one-line declaration, check/hint/solution, fallback to authkit's answer."""

from __future__ import annotations

import copy
import hashlib
import hmac
from datetime import datetime, timedelta
from typing import Any, Callable, Iterator

import pytest

from authkit.course.catalog import catalog, exercise
from authkit.course.exercise import (
    COMPARE_DIGEST,
    CORRECT,
    INCORRECT,
    Exercise,
    Incorrect,
    Spec,
    calls_made,
    expect,
    expect_calls,
    expect_raises,
)


def reference_double(x: int) -> int:
    return 2 * x


def _check_double(fn) -> None:
    for x in (0, 1, -3, 50):
        expect(fn(x), 2 * x, f"x={x}")


SPEC = Spec("double", _check_double, ("Multiply.", "By two."), reference_double)


def declared(namespace: dict) -> Exercise:
    return Exercise(SPEC, namespace)


def test_correct(capsys: pytest.CaptureFixture[str]) -> None:
    declared({"double": lambda x: x + x}).check()
    assert capsys.readouterr().out == "Correct: double passes every case\n"


def test_incorrect_names_the_failing_input(capsys: pytest.CaptureFixture[str]) -> None:
    ex = declared({"double": lambda x: x * x})
    ex.check()
    assert capsys.readouterr().out == "Incorrect: expected 2 for x=1, got 1\n"
    assert ex.status == INCORRECT


def test_not_attempted_while_stub_raises(capsys: pytest.CaptureFixture[str]) -> None:
    def double(x):
        raise NotImplementedError()

    declared({"double": double}).check()
    assert capsys.readouterr().out == "Not attempted: double still raises NotImplementedError\n"


def test_not_attempted_when_undefined(capsys: pytest.CaptureFixture[str]) -> None:
    declared({}).check()
    assert capsys.readouterr().out.startswith("Not attempted: define double first")


def test_a_crash_in_learner_code_is_reported_not_raised(capsys: pytest.CaptureFixture[str]) -> None:
    declared({"double": lambda x: 1 / 0}).check()
    assert capsys.readouterr().out == (
        "Incorrect: double raised ZeroDivisionError: division by zero — for double(0)\n"
    )


def test_a_return_the_check_cannot_use_is_reported_with_the_call(capsys: pytest.CaptureFixture[str]) -> None:
    def _check_echo(fn) -> None:
        expect(len(fn("ab")), 2, "s='ab'")

    Exercise(Spec("echo", _check_echo, ("a", "b"), str), {"echo": lambda s: 7}).check()
    assert capsys.readouterr().out == (
        "Incorrect: expected 'ab' for echo('ab'), got 7, which the check cannot use "
        "(TypeError: object of type 'int' has no len())\n"
    )


def test_hints_in_order_then_pointer_to_solution(capsys: pytest.CaptureFixture[str]) -> None:
    ex = declared({})
    ex.hint(), ex.hint(), ex.hint()
    assert capsys.readouterr().out.splitlines() == [
        "Hint 1 of 2: Multiply.",
        "Hint 2 of 2: By two.",
        "No more hints for double: call solution() to see the model answer.",
    ]


def test_solution_shows_the_reference_source(capsys: pytest.CaptureFixture[str]) -> None:
    declared({}).solution()
    assert capsys.readouterr().out.startswith("def reference_double(x: int) -> int:\n    return 2 * x")


def test_implementation_falls_back_to_reference_unless_correct() -> None:
    def wrong(x):
        return x

    def right(x):
        return x * 2

    assert declared({"double": wrong}).implementation() is reference_double
    assert declared({"double": right}).implementation() is right


def test_exercise_binds_to_the_callers_namespace(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules["authkit.course.exercise"]._REGISTRY, "double", SPEC)
    ex = exercise("double")
    assert ex.spec is SPEC and ex.namespace is globals()


def test_unknown_exercise_lists_the_known_ones() -> None:
    with pytest.raises(KeyError, match="no exercise named 'nope'"):
        exercise("nope")


def test_expect_raises_accepts_only_the_named_error() -> None:
    expect_raises(lambda: int("x"), ValueError, "s='x'")
    with pytest.raises(Incorrect, match="expected ValueError for s='1', got 1"):
        expect_raises(lambda: int("1"), ValueError, "s='1'")
    with pytest.raises(Incorrect, match="got KeyError"):
        expect_raises(lambda: {}["k"], ValueError, "k")


@pytest.mark.parametrize("spec", sorted(catalog().values(), key=lambda s: s.name), ids=lambda s: s.name)
def test_every_catalog_reference_passes_its_own_check(spec: Spec) -> None:
    spec.checker(spec.reference)


@pytest.mark.parametrize("spec", sorted(catalog().values(), key=lambda s: s.name), ids=lambda s: s.name)
def test_every_catalog_check_rejects_a_wrong_answer(spec: Spec) -> None:
    with pytest.raises((Incorrect, Exception)) as failure:
        spec.checker(lambda *args, **kwargs: None)
    assert not isinstance(failure.value, NotImplementedError)
    assert len(spec.hints) >= 2, "every exercise offers at least two hints"


def test_expect_calls_sees_compare_digest_however_it_was_imported() -> None:
    from hmac import compare_digest as imported
    import secrets

    assert calls_made(lambda: hmac.compare_digest(b"a", b"b"), COMPARE_DIGEST) == (False, 1)
    assert calls_made(lambda: imported("a", "a") and secrets.compare_digest(b"x", b"x"), COMPARE_DIGEST) == (True, 2)
    assert calls_made(lambda: b"a" != b"b", COMPARE_DIGEST) == (True, 0)
    with pytest.raises(Incorrect, match="use compare_digest"):
        expect_calls(lambda: "a" == "b", COMPARE_DIGEST, "use compare_digest")


CATALOG = sorted(catalog().values(), key=lambda s: s.name)


def verdict(spec: Spec, answer: Callable[..., Any]) -> tuple[str, str]:
    """What ``check()`` would print for ``answer``, as (status, detail)."""
    return Exercise(spec, {spec.name: answer})._attempt()


def _wrong(value: Any) -> Any:
    """A value of the same kind as ``value`` that is not equal to it."""
    if isinstance(value, bool):
        return not value
    if value is None:
        return "wrong"
    if isinstance(value, (str, bytes)):
        return value + ("!" if isinstance(value, str) else b"!")
    if isinstance(value, (int, float)):
        return value + 1
    if isinstance(value, tuple):
        return (_wrong(value[0]),) + value[1:]
    if isinstance(value, datetime):
        return value + timedelta(seconds=1)
    if isinstance(value, dict):
        return {**value, "wrong": True}
    if isinstance(value, list):
        return value + ["wrong"]
    raise TypeError(f"no wrong twin for {value!r}")


class WrongOnce:
    """authkit's own answer, except on call number ``wrong_call``: a learner with one bug."""

    def __init__(self, reference: Callable[..., Any], wrong_call: int, *, crash: bool = False) -> None:
        self.reference, self.wrong_call, self.crash = reference, wrong_call, crash
        self.calls, self.inputs = 0, None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        if self.calls != self.wrong_call:
            return self.reference(*args, **kwargs)
        self.inputs = copy.deepcopy((args, kwargs))
        if self.crash:
            raise RuntimeError("the learner's code broke here")
        try:
            right = self.reference(*args, **kwargs)
        except ValueError:
            return None  # accepts what must be refused
        return _wrong(right)


def leaves(value: Any) -> Iterator[Any]:
    """Every scalar inside an input (None and booleans are too common in a message to prove anything)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(key)
            yield from leaves(item)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            yield from leaves(item)
    elif value is not None and not isinstance(value, bool):
        yield value


def unnamed_inputs(message: str, inputs: tuple[tuple[Any, ...], dict[str, Any]]) -> list[Any]:
    """The parts of the failing call's input that ``message`` does not show."""
    return [leaf for leaf in leaves(inputs) if repr(leaf) not in message and str(leaf) not in message]


def calls_in_a_check(spec: Spec) -> int:
    counter = WrongOnce(spec.reference, wrong_call=0)
    assert verdict(spec, counter)[0] == CORRECT
    return counter.calls


#: Notebook 06's checks drive Chromium for seconds per check: their walk takes the first, a middle and the last call.
BROWSER_NOTEBOOK = "06"


def calls_to_get_wrong(spec: Spec, calls: int) -> list[int]:
    """Every call a check makes, one at a time; for a browser exercise the first, a middle and the last."""
    if spec.notebook == BROWSER_NOTEBOOK:
        return sorted({1, (calls + 1) // 2, calls})
    return list(range(1, calls + 1))


@pytest.mark.parametrize("spec", CATALOG, ids=lambda s: s.name)
def test_every_incorrect_names_the_failing_input_and_the_expected_answer(spec: Spec) -> None:
    calls = calls_in_a_check(spec)
    assert calls >= 1
    for wrong_call in calls_to_get_wrong(spec, calls):  # a learner wrong on this call only
        learner = WrongOnce(spec.reference, wrong_call)
        status, message = verdict(spec, learner)
        assert status == INCORRECT, f"a wrong answer on call {wrong_call} passed: {message}"
        assert "expected" in message, message
        assert unnamed_inputs(message, learner.inputs) == [], message


@pytest.mark.parametrize("spec", CATALOG, ids=lambda s: s.name)
def test_a_crash_in_the_learners_code_is_reported_with_its_input(spec: Spec) -> None:
    learner = WrongOnce(spec.reference, wrong_call=1, crash=True)
    status, message = verdict(spec, learner)
    assert status == INCORRECT and "RuntimeError: the learner's code broke here" in message
    assert unnamed_inputs(message, learner.inputs) == [], message


def test_compare_digest_on_a_non_ascii_str_is_reported_with_the_input_that_caused_it() -> None:
    def csrf_reason(expected_token, sent_token, origin, allowed):
        if origin is None:
            return "missing_origin"
        if origin not in allowed:
            return "bad_origin"
        if not sent_token:
            return "missing_token"
        return None if hmac.compare_digest(sent_token, expected_token) else "bad_token"  # str, not bytes

    status, message = verdict(catalog()["csrf_reason"], csrf_reason)
    assert status == INCORRECT
    assert "TypeError" in message and "'tökén'" in message and "encode" in message, message


def _verify_hs256_with(compare: Callable[[bytes, bytes], bool]) -> Callable[[str, bytes], dict]:
    import json

    from authkit.tokens.keys import b64url, b64url_decode

    def verify_hs256(token: str, secret: bytes) -> dict:
        parts = token.split(".")
        if len(parts) != 3:
            raise ValueError("a compact JWS has three parts")
        if json.loads(b64url_decode(parts[0])).get("alg") != "HS256":
            raise ValueError("algorithm not allowed")
        expected = hmac.new(secret, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
        if not compare(b64url(expected).encode(), parts[2].encode()):
            raise ValueError("bad signature")
        return json.loads(b64url_decode(parts[1]))

    return verify_hs256


def test_verify_hs256_refuses_a_comparison_that_is_not_constant_time() -> None:
    spec = catalog()["verify_hs256"]
    assert verdict(spec, _verify_hs256_with(hmac.compare_digest))[0] == CORRECT
    status, message = verdict(spec, _verify_hs256_with(lambda a, b: a == b))
    assert status == INCORRECT and "compare_digest" in message and "a payload edited after signing" in message


def test_login_without_fixation_refuses_a_predictable_id() -> None:
    import random

    def login_without_fixation(sessions, presented, user):
        sessions.pop(presented, None)
        session_id = "%032x" % random.getrandbits(128)  # the right length, from a generator that can be predicted
        sessions[session_id] = {"user": user}
        return session_id

    status, message = verdict(catalog()["login_without_fixation"], login_without_fixation)
    assert status == INCORRECT and "secrets module" in message, message


def test_rotation_outcome_failures_show_now_ms() -> None:
    from authkit.course.exercises.nb04 import NOW

    status, message = verdict(catalog()["rotation_outcome"], lambda *args, **kwargs: "ok")
    assert status == INCORRECT and f"now_ms={NOW}" in message, message


NOTEBOOK_CELLS = [
    "from authkit.course import exercise\nsq = exercise(\"square\")",
    "import math\n\ndef square(x):\n    ### BEGIN SOLUTION\n    y = x * x\n    return y\n    ### END SOLUTION",
    "sq.check()",
    "def other(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION",
]


def test_the_model_answer_is_the_code_between_the_markers_of_the_cell_that_defines_it() -> None:
    from authkit.course.answers import solution_region, solution_source

    assert solution_source(NOTEBOOK_CELLS, "square") == NOTEBOOK_CELLS[1]
    assert solution_region(NOTEBOOK_CELLS[1]) == "    y = x * x\n    return y", "verbatim, indentation kept"
    assert solution_source(NOTEBOOK_CELLS, "other") == NOTEBOOK_CELLS[3]
    assert solution_source(NOTEBOOK_CELLS, "missing") is None
    # an answer that is not a def: the first cell with markers after the declaration
    cells = ["p = exercise(\"prediction\")", "### BEGIN SOLUTION\nanswer = 3\n### END SOLUTION"]
    assert solution_region(solution_source(cells, "prediction")) == "answer = 3"


@pytest.mark.parametrize("spec", CATALOG, ids=lambda s: s.name)
def test_solution_prints_the_notebooks_own_model_answer(spec: Spec, capsys: pytest.CaptureFixture[str]) -> None:
    from authkit.course.answers import model_answer

    answer = model_answer(spec.name, spec.notebook)
    assert answer, f"{spec.name}: no solution markers in notebook {spec.notebook}"
    Exercise(spec, {}).solution()
    printed = capsys.readouterr().out
    assert printed == answer + "\n"
    assert "### BEGIN SOLUTION" not in printed and "### END SOLUTION" not in printed
