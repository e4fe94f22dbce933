"""Answering one question at a time: skip logic, groups, filtered and shuffled choices,
answer checks, and going back to change an answer."""

from __future__ import annotations

import pytest

from crm.surveys import engine
from crm.surveys.engine import AnswerRejected
from crm.surveys.form import Answer, Form, Question
from crm.surveys.xlsform import parse_workbook
from tests.unit.test_xlsform import survey_of, workbook

HEADER = (
    "type",
    "name",
    "label",
    "required",
    "relevant",
    "constraint",
    "constraint_message::zh",
    "constraint_message::en",
    "choice_filter",
    "parameters",
)
CHOICES = [
    ["list_name", "name", "label::zh", "label::en", "region"],
    ["yes_no", "yes", "是", "Yes", ""],
    ["yes_no", "no", "否", "No", ""],
    ["pains", "slow", "慢", "Slow", ""],
    ["pains", "costly", "贵", "Costly", ""],
    ["pains", "none", "没有", "None", ""],
    ["regions", "north", "北方", "North", ""],
    ["regions", "south", "南方", "South", ""],
    ["cities", "bj", "北京", "Beijing", "north"],
    ["cities", "tj", "天津", "Tianjin", "north"],
    ["cities", "gz", "广州", "Guangzhou", "south"],
    *[["letters", letter, letter, letter, ""] for letter in "abcdefgh"],
]


def row(
    kind: str,
    name: str = "",
    *,
    required: bool = False,
    relevant: str = "",
    constraint: str = "",
    message_zh: str = "",
    message_en: str = "",
    choice_filter: str = "",
    parameters: str = "",
) -> list[str]:
    label = name.upper() if name else ""
    flag = "yes" if required else ""
    return [
        kind,
        name,
        label,
        flag,
        relevant,
        constraint,
        message_zh,
        message_en,
        choice_filter,
        parameters,
    ]


FORM: Form = parse_workbook(
    workbook(
        survey_of(
            row("note", "welcome"),
            row("select_one yes_no", "customer", required=True),
            row("begin group", "usage", relevant="${customer} = 'yes'"),
            row("select_multiple pains", "pains", required=True),
            row(
                "text",
                "pain_detail",
                relevant="count-selected(${pains}) > 0 and not(selected(${pains}, 'none'))",
            ),
            row(
                "integer",
                "years",
                constraint=". >= 0 and . <= 50",
                message_zh="请填 0 到 50 之间的年数",
                message_en="Between 0 and 50 years",
            ),
            row("end group"),
            row("select_one regions", "region"),
            row("select_one cities", "city", choice_filter="region = ${region}"),
            row("decimal", "budget"),
            row("range", "score", required=True, parameters="start=1 end=5 step=1"),
            row("select_one letters", "letter", parameters="randomize=true"),
            row("text", "comment", constraint="string-length(.) >= 2"),
            header=HEADER,
        ),
        CHOICES,
    )
)


def question(name: str) -> Question:
    found = FORM.question(name)
    assert found is not None
    return found


def walk(answers: dict[str, Answer]) -> list[str]:
    """The questions shown, in order, when answering with ``answers``."""
    shown: list[str] = []
    current = engine.first(FORM, {})
    while current is not None:
        shown.append(current.name)
        current = engine.next_after(FORM, current.name, answers)
    return shown


# --- moving through the form ------------------------------------------------------------------


def test_first_includes_notes() -> None:
    first = engine.first(FORM, {})
    assert first is not None
    assert first.name == "welcome"


def test_a_group_is_skipped_when_its_relevance_is_false() -> None:
    assert walk({"customer": "no"}) == [
        "welcome",
        "customer",
        "region",
        "city",
        "budget",
        "score",
        "letter",
        "comment",
    ]


def test_follow_up_only_when_a_pain_is_chosen() -> None:
    with_pain = walk({"customer": "yes", "pains": ("slow",)})
    assert with_pain[2:5] == ["pains", "pain_detail", "years"]
    without = walk({"customer": "yes", "pains": ("none",)})
    assert without[2:4] == ["pains", "years"]


def test_next_after_the_last_question_is_none() -> None:
    assert engine.next_after(FORM, "comment", {}) is None


def test_next_after_an_unknown_name_is_a_bug() -> None:
    with pytest.raises(ValueError, match="no_such"):
        engine.next_after(FORM, "no_such", {})


def test_position_counts_shown_answerable_questions() -> None:
    assert engine.position(FORM, "customer", {}) == (1, 7)
    answers: dict[str, Answer] = {"customer": "yes", "pains": ("slow",)}
    assert engine.position(FORM, "pain_detail", answers) == (3, 10)
    assert engine.position(FORM, "comment", answers) == (10, 10)
    assert engine.position(FORM, "years", {"customer": "no"}) == (2, 7)  # not shown now


# --- choices ----------------------------------------------------------------------------------


def test_choice_filter_uses_the_choice_columns_and_the_answers() -> None:
    city = question("city")
    north = engine.choices_for(FORM, city, {"region": "north"}, seed=1)
    assert [c.name for c in north] == ["bj", "tj"]
    south = engine.choices_for(FORM, city, {"region": "south"}, seed=1)
    assert [c.name for c in south] == ["gz"]
    assert engine.choices_for(FORM, city, {}, seed=1) == ()


def test_randomized_choices_are_a_deterministic_shuffle() -> None:
    letter = question("letter")
    first = [c.name for c in engine.choices_for(FORM, letter, {}, seed=7)]
    again = [c.name for c in engine.choices_for(FORM, letter, {}, seed=7)]
    assert first == again
    assert sorted(first) == list("abcdefgh")
    orders = {tuple(c.name for c in engine.choices_for(FORM, letter, {}, seed=s)) for s in range(8)}
    assert len(orders) > 1
    region = question("region")  # not randomized: form order whatever the seed
    assert [c.name for c in engine.choices_for(FORM, region, {}, seed=7)] == ["north", "south"]


# --- accepting answers ------------------------------------------------------------------------


def accept(
    name: str,
    raw: str | tuple[str, ...],
    answers: dict[str, Answer] | None = None,
    language: str = "zh",
) -> Answer | None:
    return engine.accept(FORM, question(name), raw, answers or {}, 3, language)


def rejected(
    name: str,
    raw: str | tuple[str, ...],
    answers: dict[str, Answer] | None = None,
    language: str = "zh",
) -> AnswerRejected:
    with pytest.raises(AnswerRejected) as raised:
        accept(name, raw, answers, language)
    return raised.value


def test_select_one() -> None:
    assert accept("customer", "yes") == "yes"
    assert accept("customer", " no ") == "no"
    problem = rejected("customer", "maybe")
    assert problem.text.key == "form.answer.not_a_choice"
    assert problem.text.vars == {"choices": "是、否"}
    assert rejected("customer", "maybe", language="en").text.vars == {"choices": "Yes、No"}


def test_select_one_respects_the_filter() -> None:
    assert accept("city", "bj", {"region": "north"}) == "bj"
    assert rejected("city", "gz", {"region": "north"}).text.key == "form.answer.not_a_choice"


def test_select_multiple_returns_form_order_without_duplicates() -> None:
    answers: dict[str, Answer] = {"customer": "yes"}
    assert accept("pains", ("costly", "slow", "costly"), answers) == ("slow", "costly")
    assert accept("pains", "costly, slow", answers) == ("slow", "costly")
    assert rejected("pains", ("slow", "cheap"), answers).text.key == "form.answer.not_a_choice"


def test_required_and_optional_empty_answers() -> None:
    assert rejected("customer", "  ").text.key == "form.answer.required"
    assert rejected("pains", ()).text.key == "form.answer.required"
    assert accept("budget", "") is None
    assert accept("comment", "   ") is None  # skipped: the constraint is not applied


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("12", 12), (" 7 ", 7), ("０", 0), ("４２", 42), ("-3", None), ("+5", 5)],
)
def test_integers_accept_full_width_digits(raw: str, expected: int | None) -> None:
    if expected is None:  # -3 parses, then fails the constraint
        assert rejected("years", raw, {"customer": "yes"}).text.key == "form.answer.constraint"
    else:
        assert accept("years", raw, {"customer": "yes"}) == expected


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("5分", "form.answer.not_a_number"),
        ("2.5", "form.answer.not_a_whole_number"),
        ("abc", "form.answer.not_a_number"),
        ("1e3", "form.answer.not_a_number"),
    ],
)
def test_integers_are_strict(raw: str, key: str) -> None:
    problem = rejected("years", raw, {"customer": "yes"})
    assert problem.text.key == key
    assert problem.text.vars == {"example": "25"}


def test_decimals() -> None:
    assert accept("budget", "3.5") == 3.5
    assert accept("budget", "３．５") == 3.5
    assert accept("budget", "10") == 10.0
    assert rejected("budget", "三").text.vars == {"example": "3.5"}


def test_range_values() -> None:
    assert accept("score", "4") == 4
    assert isinstance(accept("score", "4"), int)
    assert accept("score", "５") == 5
    problem = rejected("score", "6")
    assert problem.text.key == "form.answer.out_of_range"
    assert problem.text.vars == {"min": "1", "max": "5"}
    assert rejected("score", "2.5").text.key == "form.answer.out_of_range"
    assert rejected("score", "good").text.key == "form.answer.out_of_range"


def test_text_is_stripped_and_capped() -> None:
    assert accept("comment", "  很好用  ") == "很好用"
    problem = rejected("comment", "字" * 1_001)
    assert problem.text.key == "form.answer.too_long"
    assert problem.text.vars == {"limit": 1_000}


def test_constraint_message_in_the_respondent_language() -> None:
    answers: dict[str, Answer] = {"customer": "yes"}
    zh = rejected("years", "60", answers)
    assert zh.text.key == "form.answer.constraint"
    assert zh.text.vars == {"message": "请填 0 到 50 之间的年数"}
    en = rejected("years", "60", answers, language="en")
    assert en.text.vars == {"message": "Between 0 and 50 years"}


def test_constraint_without_a_message() -> None:
    problem = rejected("comment", "x")
    assert problem.text.key == "form.answer.constraint_failed"


def test_notes_take_no_answer() -> None:
    assert accept("welcome", "anything") is None


# --- going back and changing answers ----------------------------------------------------------


def test_prune_drops_answers_of_questions_no_longer_shown() -> None:
    answers: dict[str, Answer] = {
        "customer": "yes",
        "pains": ("slow",),
        "pain_detail": "too slow",
        "years": 3,
        "score": 4,
    }
    assert engine.prune(FORM, answers) == answers
    changed = {**answers, "pains": ("none",)}
    assert engine.prune(FORM, changed) == {
        "customer": "yes",
        "pains": ("none",),
        "years": 3,
        "score": 4,
    }


def test_prune_cascades_through_a_group() -> None:
    answers: dict[str, Answer] = {
        "customer": "no",
        "pains": ("slow",),
        "pain_detail": "too slow",
        "years": 3,
        "score": 4,
        "stale": "from an older version",
    }
    assert engine.prune(FORM, answers) == {"customer": "no", "score": 4}


def test_prune_drops_choices_the_filter_no_longer_offers() -> None:
    answers: dict[str, Answer] = {"region": "south", "city": "bj"}
    assert engine.prune(FORM, answers) == {"region": "south"}
    assert engine.prune(FORM, {"region": "north", "city": "bj"}) == {
        "region": "north",
        "city": "bj",
    }


def test_prune_repeats_until_stable() -> None:
    """Relevance that looks forward (a form not built by our reader) still settles."""
    chained = parse_workbook(
        workbook(survey_of(["text", "a", "A"], ["text", "b", "B"], ["text", "c", "C"]))
    )
    from dataclasses import replace

    a, b, c = chained.questions
    form = replace(
        chained,
        questions=(replace(a, relevant="${b} != ''"), replace(b, relevant="${c} = 'x'"), c),
    )
    assert engine.prune(form, {"a": "1", "b": "2", "c": "y"}) == {"c": "y"}
