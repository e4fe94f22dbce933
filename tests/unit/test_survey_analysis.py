"""Survey analysis: summaries, NPS, trends, cross-tabs, KANO and the summary table."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.i18n import Catalogue
from crm.keywords import PRICE_SENSITIVE, TECH_ORIENTED, default_extractor
from crm.surveys.analysis import (
    KANO_TABLE,
    KanoCategory,
    KanoResult,
    Nps,
    QuestionSummary,
    TrendBy,
    analyse,
    cross_tab,
    kano,
    kano_category,
    summarise,
    summary_table,
    top_keywords,
    trend,
)
from crm.surveys.form import (
    KANO_ANSWERS,
    Answer,
    Choice,
    Form,
    FormSettings,
    Kano,
    KanoSide,
    Question,
    QuestionType,
    RangeSpec,
)
from crm.surveys.responses import CompletedResponse, Flag, FlagKind
from crm.texts import Text

catalogue = Catalogue.load()
START = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
FLAG = Flag(FlagKind.SPEEDER, Text("analysis.flag.speeder_minimum", {"seconds": 1, "minimum": 2}))

INDUSTRY = (
    Choice("manufacturing", {"zh": "制造业", "en": "Manufacturing"}),
    Choice("retail", {"zh": "零售", "en": "Retail"}),
    Choice("finance", {"zh": "金融", "en": "Finance"}),
)
NEEDS = (
    Choice("feature_a", {"zh": "功能A", "en": "Feature A"}, tag="技术偏好型"),
    Choice("price", {"zh": "价格", "en": "Price"}, tag=PRICE_SENSITIVE),
    Choice("service", {"zh": "售后服务", "en": "Service"}),
)
KANO_CHOICES = tuple(Choice(name, {"en": name}) for name in KANO_ANSWERS)


def _q(name: str, kind: QuestionType, **extra: object) -> Question:
    labels = {"zh": f"{name}题", "en": f"{name} question"}
    return Question(name=name, type=kind, labels=labels, row=1, **extra)  # type: ignore[arg-type]


def survey_form() -> Form:
    questions = (
        _q("industry", QuestionType.SELECT_ONE, choices=INDUSTRY),
        _q("needs", QuestionType.SELECT_MULTIPLE, choices=NEEDS),
        _q("main_need", QuestionType.SELECT_ONE, choices=NEEDS),
        _q("satisfaction", QuestionType.RANGE, range=RangeSpec(1, 5, 1)),
        _q("nps", QuestionType.RANGE, range=RangeSpec(0, 10, 1)),
        _q("seats", QuestionType.INTEGER),
        _q("suggestion", QuestionType.TEXT),
        _q("intro", QuestionType.NOTE),
        _q("export_f", QuestionType.SELECT_ONE, choices=KANO_CHOICES,
           kano=Kano("export", KanoSide.FUNCTIONAL)),
        _q("export_d", QuestionType.SELECT_ONE, choices=KANO_CHOICES,
           kano=Kano("export", KanoSide.DYSFUNCTIONAL)),
    )  # fmt: skip
    return Form(FormSettings("research", {"zh": "需求调研"}, "1"), questions)


def response(
    number: int,
    answers: Mapping[str, Answer],
    *,
    when: datetime = START,
    version: int = 1,
    flagged: bool = False,
    segments: Mapping[str, str] | None = None,
) -> CompletedResponse:
    return CompletedResponse(
        id=number,
        answers=answers,
        started_at=when - timedelta(minutes=5),
        completed_at=when,
        flags=(FLAG,) if flagged else (),
        version=version,
        segments=segments or {},
    )


def _by_name(summaries: tuple[QuestionSummary, ...]) -> dict[str, QuestionSummary]:
    return {summary.question.name: summary for summary in summaries}


def _render(text: Text) -> tuple[str, str]:
    return catalogue.render("zh", text), catalogue.render("en", text)


# --- per question ----------------------------------------------------------------------------


def test_select_one_counts_and_shares() -> None:
    responses = [
        response(1, {"industry": "retail"}),
        response(2, {"industry": "retail"}),
        response(3, {"industry": "finance"}),
        response(4, {"industry": "retail"}),
        response(5, {}),
    ]
    summary = _by_name(summarise(survey_form(), responses))["industry"]
    assert summary.answered == 4
    assert [(c.choice.name, c.count, c.share) for c in summary.choices] == [
        ("manufacturing", 0, 0.0),
        ("retail", 3, 0.75),
        ("finance", 1, 0.25),
    ]
    assert summary.top_choice is not None
    assert summary.top_choice.choice.name == "retail"


def test_select_multiple_shares_are_of_respondents() -> None:
    responses = [
        response(1, {"needs": ("feature_a", "price")}),
        response(2, {"needs": ("feature_a",)}),
        response(3, {"needs": ("price", "service")}),
        response(4, {"needs": ("feature_a", "service")}),
    ]
    summary = _by_name(summarise(survey_form(), responses))["needs"]
    assert summary.answered == 4
    assert {c.choice.name: (c.count, c.share) for c in summary.choices} == {
        "feature_a": (3, 0.75),
        "price": (2, 0.5),
        "service": (2, 0.5),
    }


def test_scale_mean_median_and_full_distribution() -> None:
    values = [5, 4, 4, 2]
    responses = [response(i, {"satisfaction": v}) for i, v in enumerate(values)]
    summary = _by_name(summarise(survey_form(), responses))["satisfaction"]
    assert summary.answered == 4
    assert summary.mean == pytest.approx(3.75)
    assert summary.median == 4
    assert dict(summary.distribution) == {1.0: 0, 2.0: 1, 3.0: 0, 4.0: 2, 5.0: 1}
    assert summary.nps is None


def test_integer_distribution_has_only_seen_values() -> None:
    responses = [response(i, {"seats": v}) for i, v in enumerate([10, 50, 10])]
    summary = _by_name(summarise(survey_form(), responses))["seats"]
    assert dict(summary.distribution) == {10.0: 2, 50.0: 1}
    assert summary.mean == pytest.approx(70 / 3)
    assert summary.median == 10


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        ([10, 9, 8, 7, 6, 0], 0.0),
        ([10, 10, 9, 3], 50.0),
        ([0, 1, 2, 9], -50.0),
        ([7, 8], 0.0),
        ([10, 10], 100.0),
        ([6, 6, 6], -100.0),
    ],
)
def test_nps(scores: list[int], expected: float) -> None:
    responses = [response(i, {"nps": score}) for i, score in enumerate(scores)]
    nps = _by_name(summarise(survey_form(), responses))["nps"].nps
    assert nps is not None
    assert nps.score == pytest.approx(expected)
    assert nps.total == len(scores)


def test_nps_counts_and_empty() -> None:
    assert Nps.of([10, 9, 8, 7, 6, 0]) == Nps(promoters=2, passives=2, detractors=2)
    assert Nps.of([]).score is None


def test_text_answers_are_listed_and_notes_skipped() -> None:
    responses = [response(1, {"suggestion": " 价格太贵 "}), response(2, {"suggestion": ""})]
    summaries = _by_name(summarise(survey_form(), responses))
    assert summaries["suggestion"].texts == ("价格太贵",)
    assert summaries["suggestion"].answered == 1
    assert "intro" not in summaries


def test_flagged_responses_are_left_out_unless_asked() -> None:
    responses = [response(1, {"nps": 10}), response(2, {"nps": 0}, flagged=True)]
    assert _by_name(summarise(survey_form(), responses))["nps"].answered == 1
    with_flagged = summarise(survey_form(), responses, include_flagged=True)
    assert _by_name(with_flagged)["nps"].answered == 2


# --- trends ----------------------------------------------------------------------------------


def test_trend_per_month_with_nps() -> None:
    march, april = START, START + timedelta(days=31)
    responses = [
        response(1, {"nps": 10}, when=march),
        response(2, {"nps": 0}, when=march),
        response(3, {"nps": 9}, when=april),
        response(4, {"nps": 10}, when=april),
        response(5, {"nps": 0}, when=april, flagged=True),
        response(6, {}, when=april),
    ]
    points = trend(survey_form(), responses, "nps")
    assert [(p.period, p.answered, p.mean, p.nps) for p in points] == [
        ("2026-03", 2, 5.0, 0.0),
        ("2026-04", 2, 9.5, 100.0),
    ]


def test_trend_months_follow_the_time_zone() -> None:
    late = datetime(2026, 3, 31, 20, 0, tzinfo=UTC)  # already 1 April in Shanghai
    responses = [response(1, {"satisfaction": 4}, when=late)]
    assert trend(survey_form(), responses, "satisfaction")[0].period == "2026-03"
    shanghai = timezone(timedelta(hours=8))
    points = trend(survey_form(), responses, "satisfaction", tz=shanghai)
    assert points[0].period == "2026-04"
    assert points[0].nps is None


def test_trend_per_version() -> None:
    responses = [
        response(1, {"satisfaction": 2}, version=2),
        response(2, {"satisfaction": 4}, version=1),
        response(3, {"satisfaction": 5}, version=10),
    ]
    points = trend(survey_form(), responses, "satisfaction", by=TrendBy.VERSION)
    assert [(p.period, p.mean) for p in points] == [("1", 4.0), ("2", 2.0), ("10", 5.0)]


# --- cross-tabs ------------------------------------------------------------------------------


def test_cross_tab_of_a_select_by_industry() -> None:
    responses = [
        response(1, {"main_need": "price"}, segments={"industry": "制造业"}),
        response(2, {"main_need": "price"}, segments={"industry": "制造业"}),
        response(3, {"main_need": "feature_a"}, segments={"industry": "制造业"}),
        response(4, {"main_need": "service"}, segments={"industry": "零售"}),
        response(5, {"main_need": "price"}),
        response(6, {}, segments={"industry": "零售"}),
    ]
    table = cross_tab(survey_form(), responses, "main_need", "industry")
    assert table.rows == ("制造业", "零售", "")
    assert table.columns == ("feature_a", "price", "service")
    assert table.count("制造业", "price") == 2
    assert table.share("制造业", "price") == pytest.approx(2 / 3)
    assert table.share("零售", "service") == 1.0
    assert table.share("零售", "price") == 0.0
    assert table.respondents == {"制造业": 3, "零售": 1, "": 1}


def test_cross_tab_of_multiple_choices_shares_within_segment() -> None:
    responses = [
        response(1, {"needs": ("price", "service")}, segments={"size": "50人以下"}),
        response(2, {"needs": ("price",)}, segments={"size": "50人以下"}),
    ]
    table = cross_tab(survey_form(), responses, "needs", "size")
    assert table.share("50人以下", "price") == 1.0
    assert table.share("50人以下", "service") == 0.5


def test_cross_tab_of_a_scale_has_means() -> None:
    responses = [
        response(1, {"satisfaction": 5}, segments={"stage": "成交"}),
        response(2, {"satisfaction": 3}, segments={"stage": "成交"}),
        response(3, {"satisfaction": 2}, segments={"stage": "意向"}),
    ]
    table = cross_tab(survey_form(), responses, "satisfaction", "stage")
    assert table.columns == ("1", "2", "3", "4", "5")
    assert table.count("成交", "5") == 1
    assert table.means == {"成交": 4.0, "意向": 2.0}


def test_unknown_question_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        cross_tab(survey_form(), [], "nope", "industry")


# --- KANO ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("functional", "dysfunctional", "category"),
    [
        ("like", "like", "Q"),
        ("like", "expect", "A"),
        ("like", "tolerate", "A"),
        ("like", "dislike", "O"),
        ("expect", "dislike", "M"),
        ("neutral", "neutral", "I"),
        ("tolerate", "like", "R"),
        ("dislike", "like", "R"),
        ("dislike", "tolerate", "R"),
        ("dislike", "dislike", "Q"),
    ],
)
def test_kano_table(functional: str, dysfunctional: str, category: str) -> None:
    assert kano_category(functional, dysfunctional) == KanoCategory(category)


def test_kano_table_is_complete() -> None:
    assert len(KANO_TABLE) == 25
    assert kano_category("like", "maybe") is None


def _kano_responses(pairs: list[tuple[str, str]]) -> list[CompletedResponse]:
    return [response(i, {"export_f": f, "export_d": d}) for i, (f, d) in enumerate(pairs)]


def test_kano_counts_category_better_worse() -> None:
    pairs = [
        ("like", "neutral"),  # A
        ("like", "expect"),  # A
        ("like", "dislike"),  # O
        ("neutral", "dislike"),  # M
        ("neutral", "neutral"),  # I
        ("dislike", "like"),  # R
        ("like", "like"),  # Q
    ]
    (result,) = kano(survey_form(), [*_kano_responses(pairs), response(99, {"export_f": "like"})])
    assert result.feature == "export"
    assert dict(result.counts) == {
        KanoCategory.MUST_BE: 1,
        KanoCategory.ONE_DIMENSIONAL: 1,
        KanoCategory.ATTRACTIVE: 2,
        KanoCategory.INDIFFERENT: 1,
        KanoCategory.REVERSE: 1,
        KanoCategory.QUESTIONABLE: 1,
    }
    assert result.total == 7
    assert result.category is KanoCategory.ATTRACTIVE
    assert result.better == pytest.approx(3 / 5)  # (A + O) / (A + O + M + I)
    assert result.worse == pytest.approx(-2 / 5)  # −(O + M) / (A + O + M + I)


def _result(**counts: int) -> KanoResult:
    form = survey_form()
    functional, dysfunctional = form.questions[8], form.questions[9]
    full = {category: counts.get(category.name, 0) for category in KanoCategory}
    return KanoResult("export", functional, dysfunctional, full)


@pytest.mark.parametrize(
    ("counts", "category"),
    [
        ({"MUST_BE": 2, "ONE_DIMENSIONAL": 2, "ATTRACTIVE": 2, "INDIFFERENT": 2}, "M"),
        ({"ONE_DIMENSIONAL": 2, "ATTRACTIVE": 2, "INDIFFERENT": 2}, "O"),
        ({"ATTRACTIVE": 1, "INDIFFERENT": 1}, "A"),
        ({"INDIFFERENT": 3, "REVERSE": 3, "QUESTIONABLE": 3}, "I"),
        ({"REVERSE": 1, "QUESTIONABLE": 1}, "R"),
        ({"QUESTIONABLE": 2, "MUST_BE": 1}, "Q"),
    ],
)
def test_kano_tie_break(counts: dict[str, int], category: str) -> None:
    assert _result(**counts).category == KanoCategory(category)


def test_kano_without_core_answers() -> None:
    empty = _result()
    assert empty.category is None
    assert empty.better is None
    assert empty.worse is None
    odd = _result(REVERSE=2, QUESTIONABLE=1)
    assert odd.better is None
    assert odd.worse is None


def test_kano_needs_both_sides_of_a_pair() -> None:
    form = survey_form()
    half = Form(form.settings, form.questions[:9])
    assert kano(half, []) == ()


# --- summary table ---------------------------------------------------------------------------


def _table_responses() -> list[CompletedResponse]:
    rows: list[CompletedResponse] = []
    for i in range(10):
        rows.append(
            response(
                i,
                {
                    "main_need": "price" if i < 6 else "feature_a",
                    "nps": 2 if i < 6 else 10,
                    "satisfaction": 2,
                    "seats": 20 + i,
                    "suggestion": "售后响应太慢" if i % 2 else "希望增加数据导出功能",
                    "industry": "retail",
                    "export_f": "like",
                    "export_d": "dislike",
                },
            )
        )
    return rows


def test_summary_table_rows_and_rules() -> None:
    form = survey_form()
    responses = _table_responses()
    summaries = summarise(form, responses)
    rows = {
        row.feature or row.question.name: row
        for row in summary_table(summaries, kano(form, responses), language="zh")
    }
    assert "export_f" not in rows
    assert "export_d" not in rows

    main = rows["main_need"]
    assert main.sample == 10
    assert main.tag == PRICE_SENSITIVE
    assert _render(main.finding)[0] == "60% 的受访者选择「价格」"
    assert main.action.key == "analysis.action.pricing_offer"

    assert rows["nps"].action.key == "analysis.action.improve_service"  # NPS −20
    assert _render(rows["nps"].finding)[1] == "NPS -20 (promoters 40%, detractors 60%)"
    assert rows["satisfaction"].action.key == "analysis.action.investigate"  # 2 of 1-5
    assert rows["seats"].action.key == "analysis.action.keep"
    assert rows["industry"].action.key == "analysis.action.keep"
    assert rows["needs"].action.key == "analysis.action.collect_more"
    assert rows["needs"].finding.key == "analysis.finding.none"

    assert rows["suggestion"].tag == TECH_ORIENTED  # a 5:5 tie: the first one met wins
    assert rows["export"].finding.key == "analysis.finding.kano"
    assert rows["export"].action.key == "analysis.kano_action.one_dimensional"  # like/dislike
    assert rows["export"].topic("en") == "export_f question"

    for row in rows.values():
        _render(row.finding)
        _render(row.action)


def test_summary_table_referral_and_feature_rules() -> None:
    form = survey_form()
    responses = [response(i, {"nps": 10, "main_need": "feature_a"}) for i in range(4)]
    rows = {row.question.name: row for row in summary_table(summarise(form, responses))}
    assert rows["nps"].action.key == "analysis.action.referral"
    feature = rows["main_need"].action
    assert feature.key == "analysis.action.prioritise_feature"
    assert feature.vars["feature"] == "功能A"


def test_summary_table_keywords_for_text_questions() -> None:
    form = survey_form()
    responses = [response(i, {"suggestion": "价格太贵"}) for i in range(3)]
    summaries = summarise(form, responses)
    rows = {
        row.question.name: row
        for row in summary_table(summaries, extractor=default_extractor(), language="en")
    }
    text = rows["suggestion"]
    assert text.tag == PRICE_SENSITIVE
    assert text.action.key == "analysis.action.pricing_offer"
    assert "太贵" in _render(text.finding)[1]


def test_top_keywords_and_the_whole_analysis() -> None:
    form = survey_form()
    responses = [*_table_responses(), response(50, {"nps": 0}, flagged=True)]
    result = analyse(form, responses, extractor=default_extractor())
    assert (result.valid, result.flagged) == (10, 1)
    assert len(result.kano) == 1
    words = dict(top_keywords(result.summaries, top_k=5))
    assert "数据导出" in words
    assert top_keywords(summarise(form, [])) == []
