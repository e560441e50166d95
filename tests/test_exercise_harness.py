"""authkit.course.exercise: one-line declaration, check/hint/solution, fallback to authkit's answer."""

from __future__ import annotations

import pytest

from authkit.course.exercise import (
    INCORRECT,
    Exercise,
    Incorrect,
    Spec,
    catalog,
    exercise,
    expect,
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
    assert capsys.readouterr().out == "Incorrect: double raised ZeroDivisionError: division by zero\n"


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


def test_expect_source_uses_reads_the_learners_source() -> None:
    from authkit.course.exercise import expect_source_uses

    def safe(a, b):
        import hmac

        return hmac.compare_digest(a, b)

    def unsafe(a, b):
        return a == b

    expect_source_uses(safe, "compare_digest", "use compare_digest")
    with pytest.raises(Incorrect, match="use compare_digest"):
        expect_source_uses(unsafe, "compare_digest", "use compare_digest")
    expect_source_uses(len, "compare_digest", "a builtin has no source: no verdict")
