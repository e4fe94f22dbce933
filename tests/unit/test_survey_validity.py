"""Validity flags: speeders, straight-lining, attention checks and contradictions."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from bot.i18n import Catalogue
from crm.surveys.form import (
    Answer,
    Choice,
    Form,
    FormSettings,
    Question,
    QuestionType,
    RangeSpec,
)
from crm.surveys.responses import Flag, FlagKind
from crm.surveys.validity import flags_for, median_duration

catalogue = Catalogue.load()
LIKERT = RangeSpec(1, 5, 1)
AGREE = tuple(
    Choice(name, {"zh": zh, "en": name})
    for name, zh in (("disagree", "不同意"), ("neutral", "一般"), ("agree", "同意"))
)


def _question(name: str, kind: QuestionType = QuestionType.RANGE, **extra: object) -> Question:
    defaults: dict[str, object] = {"labels": {"zh": f"题目{name}", "en": f"Question {name}"}}
    if kind is QuestionType.RANGE:
        defaults["range"] = LIKERT
    return Question(name=name, type=kind, row=1, **{**defaults, **extra})  # type: ignore[arg-type]


def _form(*questions: Question, **settings: object) -> Form:
    return Form(
        FormSettings(form_id="f", title={"zh": "问卷"}, version="1", **settings),  # type: ignore[arg-type]
        questions,
    )


def _kinds(flags: tuple[Flag, ...]) -> list[FlagKind]:
    return [flag.kind for flag in flags]


def _render_all(flags: tuple[Flag, ...]) -> None:
    for language in catalogue.languages:
        for flag in flags:
            assert catalogue.render(language, flag.reason)


# --- median ----------------------------------------------------------------------------------


def test_median_needs_enough_durations() -> None:
    assert median_duration([100, 200, 300, 400]) is None
    assert median_duration([100, 200, 300, 400, 5_000]) == 300
    assert median_duration([10, 20], minimum_count=2) == 15
    assert median_duration([]) is None


# --- speeders --------------------------------------------------------------------------------


def test_speeder_against_the_median() -> None:
    form = _form(_question("q1"))
    flags = flags_for(form, {"q1": 3}, 48, 300)
    assert _kinds(flags) == [FlagKind.SPEEDER]
    reason = flags[0].reason
    assert reason.key == "analysis.flag.speeder_median"
    assert dict(reason.vars) == {"seconds": 48, "median": 300, "limit": 100}
    assert catalogue.render("en", reason) == (
        "Answered too fast: 48 s; the median is 300 s, the limit 100 s"
    )
    _render_all(flags)
    assert flags_for(form, {"q1": 3}, 150, 300) == ()


def test_speeder_without_a_median_uses_the_expected_time() -> None:
    form = _form(_question("q1"), minutes=6, speeder_ratio=0.5)
    flags = flags_for(form, {"q1": 3}, 120, None)
    assert _kinds(flags) == [FlagKind.SPEEDER]
    assert flags[0].reason.key == "analysis.flag.speeder_expected"
    assert dict(flags[0].reason.vars) == {"seconds": 120, "expected": 360, "limit": 180}
    assert flags_for(form, {"q1": 3}, 200, None) == ()
    _render_all(flags)


def test_speeder_under_the_absolute_minimum() -> None:
    form = _form(_question("q1"), min_seconds=180)
    flags = flags_for(form, {"q1": 3}, 150, 300)  # above 1/3 of the median, below 180 s
    assert _kinds(flags) == [FlagKind.SPEEDER]
    assert flags[0].reason.key == "analysis.flag.speeder_minimum"
    assert dict(flags[0].reason.vars) == {"seconds": 150, "minimum": 180}
    assert flags_for(form, {"q1": 3}, 181, 300) == ()
    _render_all(flags)


def test_only_one_speeder_flag_when_both_rules_apply() -> None:
    form = _form(_question("q1"), min_seconds=180)
    assert _kinds(flags_for(form, {"q1": 3}, 30, 300)) == [FlagKind.SPEEDER]


# --- straight-lining -------------------------------------------------------------------------


def _scales(count: int) -> tuple[Question, ...]:
    return tuple(_question(f"s{index}") for index in range(count))


def test_four_identical_scale_answers_are_straight_lining() -> None:
    form = _form(*_scales(5))
    answers: dict[str, Answer] = {f"s{index}": 4 for index in range(4)}
    flags = flags_for(form, answers, 600, 300)
    assert _kinds(flags) == [FlagKind.STRAIGHT_LINE]
    assert dict(flags[0].reason.vars) == {"count": 4, "value": "4"}
    _render_all(flags)


def test_three_identical_or_varied_answers_are_fine() -> None:
    form = _form(*_scales(5))
    assert flags_for(form, {"s0": 4, "s1": 4, "s2": 4}, 600, 300) == ()
    varied: dict[str, Answer] = {"s0": 4, "s1": 4, "s2": 4, "s3": 5, "s4": 4}
    assert flags_for(form, varied, 600, 300) == ()


def test_numbers_compare_as_numbers_in_straight_lining() -> None:
    form = _form(*_scales(4))
    answers: dict[str, Answer] = {"s0": 3, "s1": 3.0, "s2": "3", "s3": 3}
    assert _kinds(flags_for(form, answers, 600, 300)) == [FlagKind.STRAIGHT_LINE]


def test_scales_of_different_ranges_are_different_batteries() -> None:
    ten = RangeSpec(0, 10, 1)
    form = _form(*_scales(2), _question("n0", range=ten), _question("n1", range=ten))
    answers: dict[str, Answer] = {"s0": 5, "s1": 5, "n0": 5, "n1": 5}
    assert flags_for(form, answers, 600, 300) == ()


def test_a_matrix_of_select_one_questions_counts_too() -> None:
    matrix = tuple(
        _question(f"m{index}", QuestionType.SELECT_ONE, choices=AGREE, group="matrix")
        for index in range(4)
    )
    form = _form(*matrix)
    answers: dict[str, Answer] = {f"m{index}": "agree" for index in range(4)}
    flags = flags_for(form, answers, 600, 300)
    assert _kinds(flags) == [FlagKind.STRAIGHT_LINE]
    assert flags[0].reason.vars["value"] == "同意"  # the form's default language


def test_select_questions_in_different_groups_or_with_two_choices_do_not() -> None:
    spread = tuple(
        _question(f"m{index}", QuestionType.SELECT_ONE, choices=AGREE, group=f"g{index}")
        for index in range(4)
    )
    yes_no = tuple(
        _question(f"y{index}", QuestionType.SELECT_ONE, choices=AGREE[:2], group="g")
        for index in range(4)
    )
    answers: dict[str, Answer] = {f"m{index}": "agree" for index in range(4)}
    answers |= {f"y{index}": "neutral" for index in range(4)}
    assert flags_for(_form(*spread, *yes_no), answers, 600, 300) == ()


# --- attention checks ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("check", "answer", "flagged"),
    [
        ("3", 3, False),
        ("3", 3.0, False),
        ("3.0", 3, False),
        ("3", 2, True),
        ("agree", "agree", False),
        ("agree", "disagree", True),
    ],
)
def test_attention_check(check: str, answer: Answer, flagged: bool) -> None:
    kind = QuestionType.SELECT_ONE if check == "agree" else QuestionType.RANGE
    extra = {"choices": AGREE} if kind is QuestionType.SELECT_ONE else {}
    form = _form(_question("att", kind, check=check, **extra))
    flags = flags_for(form, {"att": answer}, 600, 300)
    assert _kinds(flags) == ([FlagKind.ATTENTION] if flagged else [])
    _render_all(flags)


def test_attention_reason_names_the_question_and_both_answers() -> None:
    form = _form(_question("att", QuestionType.SELECT_ONE, choices=AGREE, check="disagree"))
    (flag,) = flags_for(form, {"att": "agree"}, 600, 300)
    assert catalogue.render("zh", flag.reason) == (
        "注意力检测题「题目att」应答「不同意」，实际回答「同意」"
    )


def test_an_unanswered_attention_check_is_not_flagged() -> None:
    form = _form(_question("att", check="3"))
    assert flags_for(form, {}, 600, 300) == ()


def test_attention_checks_are_left_out_of_straight_lining() -> None:
    form = _form(*_scales(3), _question("att", check="4"))
    answers: dict[str, Answer] = {"s0": 4, "s1": 4, "s2": 4, "att": 4}
    assert flags_for(form, answers, 600, 300) == ()


# --- contradictions --------------------------------------------------------------------------


def _bought_form() -> Form:
    ever = (Choice("yes", {"zh": "是"}), Choice("no", {"zh": "否"}))
    return _form(
        _question("ever_bought", QuestionType.SELECT_ONE, choices=ever),
        _question(
            "times_per_week",
            QuestionType.INTEGER,
            contradiction="${ever_bought} = 'no' and . > 0",
        ),
    )


@pytest.mark.parametrize(
    ("answers", "flagged"),
    [
        ({"ever_bought": "no", "times_per_week": 1}, True),
        ({"ever_bought": "no", "times_per_week": 0}, False),
        ({"ever_bought": "yes", "times_per_week": 3}, False),
        ({"ever_bought": "no"}, False),
    ],
)
def test_contradiction(answers: Mapping[str, Answer], flagged: bool) -> None:
    flags = flags_for(_bought_form(), answers, 600, 300)
    assert _kinds(flags) == ([FlagKind.CONTRADICTION] if flagged else [])
    _render_all(flags)


def test_several_flags_at_once() -> None:
    form = Form(
        _bought_form().settings,
        (*_bought_form().questions, *_scales(4)),
    )
    answers: dict[str, Answer] = {"ever_bought": "no", "times_per_week": 2}
    answers |= {f"s{index}": 1 for index in range(4)}
    kinds = _kinds(flags_for(form, answers, 10, 300))
    assert kinds == [FlagKind.SPEEDER, FlagKind.STRAIGHT_LINE, FlagKind.CONTRADICTION]
