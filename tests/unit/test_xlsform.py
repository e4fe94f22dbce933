"""XLSForm workbooks → Form: what is read, and every kind of problem with its precise place."""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from io import BytesIO

import pytest
from openpyxl import Workbook

from bot.i18n import Catalogue
from crm.surveys.form import Form, KanoSide, QuestionType, Quota, RangeSpec
from crm.surveys.xlsform import MAX_PROBLEMS, WorkbookInvalid, WorkbookProblem, parse_workbook

Rows = Sequence[Sequence[object]]

SETTINGS: Rows = [["form_title", "form_id", "version"], ["Test form", "test", "3"]]
COLORS: Rows = [
    ["list_name", "name", "label"],
    ["colors", "red", "Red"],
    ["colors", "blue", "Blue"],
]
KANO_CHOICES: Rows = [
    ["list_name", "name", "label"],
    *[["kano", name, name] for name in ("like", "expect", "neutral", "tolerate", "dislike")],
]


def workbook(
    survey: Rows,
    choices: Rows | None = None,
    settings: Rows | None = SETTINGS,
    quotas: Rows | None = None,
) -> bytes:
    """An .xlsx with the given sheets (each a list of rows, the first one the headers)."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "survey"
    sheets = {"choices": choices, "settings": settings, "quotas": quotas}
    for row in survey:
        sheet.append(list(row))
    for title, rows in sheets.items():
        if rows is not None:
            extra = book.create_sheet(title)
            for row in rows:
                extra.append(list(row))
    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def problems(data: bytes) -> list[tuple[str, int | None, str | None, str]]:
    with pytest.raises(WorkbookInvalid) as raised:
        parse_workbook(data)
    return [(p.sheet, p.row, p.column, p.text.key) for p in raised.value.problems]


def only_problem(data: bytes) -> WorkbookProblem:
    with pytest.raises(WorkbookInvalid) as raised:
        parse_workbook(data)
    assert len(raised.value.problems) == 1, raised.value.problems
    return raised.value.problems[0]


def survey_of(*rows: Sequence[object], header: Sequence[str] = ("type", "name", "label")) -> Rows:
    return [list(header), *rows]


# --- what is read -----------------------------------------------------------------------------


def test_a_complete_form_is_read() -> None:
    survey = survey_of(
        ["begin group", "about", "About", "${start} = 'yes'"],
        ["select_one colors", "color", "Colour?", "", "yes", "randomize=true", "", "", ""],
        ["integer", "age", "Age", "${color} = 'red'", "TRUE", "", ". > 0", "", ""],
        ["end group"],
        ["range", "score", "Score", "", "", "start=0 end=10 step=1", "", "", "8"],
        ["note", "thanks", "Thanks"],
        header=(
            "type",
            "name",
            "label",
            "relevant",
            "required",
            "parameters",
            "constraint",
            "x_tag",
            "x_check",
        ),
    )
    survey = [survey[0], ["select_one colors", "start", "Start?"], *survey[1:]]
    choices = [
        ["list_name", "name", "label", "x_tag", "region"],
        ["colors", "red", "Red", "likes red", "north"],
        ["colors", "blue", "Blue", "", ""],
        ["colors", "yes", "Yes", "", ""],
    ]
    form = parse_workbook(workbook(survey, choices))
    assert form.settings.form_id == "test"
    assert form.settings.version == "3"
    assert form.settings.title == {"": "Test form"}
    color, age = form.question("color"), form.question("age")
    assert color is not None
    assert age is not None
    assert color.type is QuestionType.SELECT_ONE
    assert color.required
    assert color.randomize
    assert color.group == "about"
    assert color.relevant == "${start} = 'yes'"
    assert [c.name for c in color.choices] == ["red", "blue", "yes"]
    assert color.choices[0].tag == "likes red"
    assert color.choices[0].columns == {"region": "north"}
    assert age.relevant == "(${start} = 'yes') and (${color} = 'red')"
    assert age.constraint == ". > 0"
    assert age.required
    score = form.question("score")
    assert score is not None
    assert score.group is None
    assert score.range == RangeSpec(0, 10, 1)
    assert score.is_nps
    assert score.check == "8"
    assert [q.name for q in form.answerable] == ["start", "color", "age", "score"]


def test_language_columns_map_to_zh_and_en() -> None:
    survey = survey_of(
        ["text", "q", "问题", "Question", "提示", "Hint", "plain"],
        header=(
            "Type",
            " NAME ",
            "label::Chinese (zh)",
            "label::English (en)",
            "hint::zh",
            "hint::en",
            "label",
        ),
    )
    settings = [
        ["form_title::中文", "form_title::English", "x_consent::zh", "default_language"],
        ["标题", "Title", "仅用于改进服务", "English (en)"],
    ]
    form = parse_workbook(workbook(survey, settings=settings))
    question = form.questions[0]
    assert question.labels == {"zh": "问题", "en": "Question", "": "plain"}
    assert question.hints == {"zh": "提示", "en": "Hint"}
    assert form.settings.title == {"zh": "标题", "en": "Title"}
    assert form.settings.consent == {"zh": "仅用于改进服务"}
    assert form.settings.default_language == "en"
    assert form.settings.form_id == "标题"  # no form_id: the title identifies the form


def test_group_relevance_nests_and_underscore_spellings_work() -> None:
    survey = survey_of(
        ["integer", "a", "A", ""],
        ["begin_group", "outer", "", "${a} > 1"],
        ["begin group", "inner", "", "${a} < 9"],
        ["text", "b", "B", "${a} != 5"],
        ["end_group"],
        ["end group"],
        header=("type", "name", "label", "relevant"),
    )
    question = parse_workbook(workbook(survey)).question("b")
    assert question is not None
    assert question.relevant == "(${a} > 1) and (${a} < 9) and (${a} != 5)"
    assert question.group == "inner"


def test_settings_kano_and_quotas_are_read() -> None:
    survey = survey_of(
        ["select_one kano", "f", "F", "functional:数据导出"],
        ["select_one kano", "d", "D", "dysfunctional：数据导出"],
        header=("type", "name", "label", "x_kano"),
    )
    settings: Rows = [
        [
            "form_id",
            "x_minutes",
            "x_target",
            "x_speeder_ratio",
            "x_min_seconds",
            "x_retention_days",
        ],
        ["k", 8, 300, 0.5, 90, 30],
    ]
    quotas: Rows = [["field", "value", "limit"], ["industry", "制造业", 50], ["${f}", "like", 10]]
    form = parse_workbook(workbook(survey, KANO_CHOICES, settings, quotas))
    kano = form.questions[1].kano
    assert kano is not None
    assert kano.feature == "数据导出"
    assert kano.side is KanoSide.DYSFUNCTIONAL
    s = form.settings
    assert (s.minutes, s.target, s.speeder_ratio, s.min_seconds, s.retention_days) == (
        8,
        300,
        0.5,
        90,
        30,
    )
    assert form.quotas == (Quota("industry", "制造业", 50), Quota("${f}", "like", 10))


def test_blank_rows_are_skipped_and_rows_keep_their_excel_numbers() -> None:
    survey = survey_of(["text", "a", "A"], [None, None, None], ["text", "b", "B"])
    form = parse_workbook(workbook(survey))
    assert [(q.name, q.row) for q in form.questions] == [("a", 2), ("b", 4)]


def test_the_json_round_trip_is_lossless() -> None:
    survey = survey_of(
        ["select_multiple colors", "c", "C", "", "${c} != ''", "count-selected(.) < 2", "x"],
        ["range", "r", "R", "start=1 end=5", "", "", ""],
        header=(
            "type",
            "name",
            "label::zh",
            "parameters",
            "x_contradiction",
            "constraint",
            "x_tag",
        ),
    )
    form = parse_workbook(workbook(survey, COLORS, quotas=[["field", "value", "limit"]]))
    assert Form.from_json(form.to_json()) == form


# --- the file itself --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "key"),
    [
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "form.error.legacy_xls"),
        (
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + "EncryptionInfo".encode("utf-16-le"),
            "form.error.encrypted",
        ),
        (b"random bytes, not a workbook", "form.error.not_xlsx"),
        (b"PK\x03\x04 broken zip", "form.error.not_xlsx"),
        (b"", "form.error.not_xlsx"),
    ],
)
def test_files_that_are_not_xlsx_are_refused_clearly(data: bytes, key: str) -> None:
    assert problems(data) == [("", None, None, key)]


def test_a_zip_that_is_not_a_workbook_is_refused() -> None:
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "hi")
    assert problems(buffer.getvalue()) == [("", None, None, "form.error.not_xlsx")]


def test_a_zip_bomb_is_refused_before_it_is_unpacked() -> None:
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/sharedStrings.xml", b"\0" * (101 * 1024 * 1024))
    assert problems(buffer.getvalue()) == [("", None, None, "form.error.too_large")]


def test_without_a_survey_sheet() -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "问卷"
    buffer = BytesIO()
    book.save(buffer)
    assert problems(buffer.getvalue()) == [("", None, None, "form.error.no_survey_sheet")]


def test_missing_type_and_name_headers() -> None:
    data = workbook([["label"], ["Hello"]])
    assert problems(data) == [
        ("survey", 1, "type", "form.error.missing_header"),
        ("survey", 1, "name", "form.error.missing_header"),
    ]


def test_too_many_rows_and_too_long_cells() -> None:
    rows = [["text", f"q{n}", "Q"] for n in range(2_001)]
    assert ("survey", 2_002, None, "form.error.too_many_rows") in problems(
        workbook(survey_of(*rows))
    )
    long_label = survey_of(["text", "q", "x" * 2_001])
    assert problems(workbook(long_label)) == [("survey", 2, "label", "form.error.cell_too_long")]


# --- survey rows ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "column", "key"),
    [
        (["calculate", "c", "C"], "type", "form.error.unknown_type"),
        (["select_one colors or_other", "c", "C"], "type", "form.error.unknown_type"),
        (["", "c", "C"], "type", "form.error.missing_type"),
        (["select_one", "c", "C"], "type", "form.error.missing_list"),
        (["select_one sizes", "c", "C"], "type", "form.error.unknown_list"),
        (["select_one empty", "c", "C"], "type", "form.error.empty_list"),
        (["text", "", "C"], "name", "form.error.missing_name"),
        (["text", "1st", "C"], "name", "form.error.invalid_name"),
        (["text", "has space", "C"], "name", "form.error.invalid_name"),
        (["text", "c", ""], "label", "form.error.missing_label"),
    ],
)
def test_row_problems(row: list[str], column: str, key: str) -> None:
    choices = [*COLORS, ["empty", "", "Nothing"]]
    data = workbook(survey_of(["text", "ok", "OK"], row), choices)
    found = problems(data)
    assert ("survey", 3, column, key) in found, found


def test_unknown_type_lists_the_supported_ones() -> None:
    problem = only_problem(workbook(survey_of(["text", "a", "A"], ["geopoint", "g", "Where?"])))
    assert problem.text.vars["type"] == "geopoint"
    assert "select_one <list>" in str(problem.text.vars["supported"])


def test_duplicate_name_points_at_the_first_use() -> None:
    problem = only_problem(workbook(survey_of(["text", "a", "A"], ["integer", "a", "A again"])))
    assert (problem.sheet, problem.row, problem.column) == ("survey", 3, "name")
    assert problem.text.key == "form.error.duplicate_name"
    assert problem.text.vars == {"name": "a", "first_row": 2}


def test_required_must_be_yes_or_no() -> None:
    survey = survey_of(["text", "a", "A", "maybe"], header=("type", "name", "label", "required"))
    assert problems(workbook(survey)) == [("survey", 2, "required", "form.error.bad_required")]


def test_unbalanced_groups() -> None:
    survey = survey_of(["end group"], ["text", "a", "A"], ["begin group", "g", "G"])
    assert problems(workbook(survey)) == [
        ("survey", 2, "type", "form.error.group_not_open"),
        ("survey", 4, "type", "form.error.group_not_closed"),
    ]


def test_no_answerable_question() -> None:
    survey = survey_of(["note", "hello", "Hello"])
    assert problems(workbook(survey)) == [("survey", None, None, "form.error.no_questions")]


# --- expressions and references ---------------------------------------------------------------

EXPRESSION_HEADER = ("type", "name", "label", "relevant", "constraint", "x_contradiction")


def test_syntax_error_has_the_position() -> None:
    survey = survey_of(
        ["integer", "a", "A", "", ". >> 3"],
        header=EXPRESSION_HEADER,
    )
    problem = only_problem(workbook(survey))
    assert (problem.row, problem.column, problem.text.key) == (
        2,
        "constraint",
        "form.error.expression",
    )
    assert problem.text.vars["position"] == 4


@pytest.mark.parametrize(
    ("relevant", "key"),
    [
        ("${nope} = 1", "form.error.unknown_reference"),
        ("${b} = 1", "form.error.self_reference"),
        ("${c} = 1", "form.error.forward_reference"),
        ("a = 1", "form.error.bare_name"),
        ("foo(${a})", "form.error.expression"),
    ],
)
def test_relevance_problems(relevant: str, key: str) -> None:
    survey = survey_of(
        ["integer", "a", "A", ""],
        ["integer", "b", "B", relevant],
        ["integer", "c", "C", ""],
        header=("type", "name", "label", "relevant"),
    )
    assert problems(workbook(survey)) == [("survey", 3, "relevant", key)]


def test_unknown_references_in_constraint_and_contradiction() -> None:
    survey = survey_of(
        ["integer", "a", "A", "", ". > ${zzz}", "${later} = 1 and ${nothing} = 2"],
        ["integer", "later", "L", "", "", ""],
        header=EXPRESSION_HEADER,
    )
    assert problems(workbook(survey)) == [
        ("survey", 2, "constraint", "form.error.unknown_reference"),
        ("survey", 2, "x_contradiction", "form.error.unknown_reference"),
    ]


def test_circular_relevance_reports_the_cycle() -> None:
    survey = survey_of(
        ["integer", "a", "A", "${b} = 1"],
        ["integer", "b", "B", "${a} = 1"],
        header=("type", "name", "label", "relevant"),
    )
    problem = only_problem(workbook(survey))
    assert (problem.row, problem.column, problem.text.key) == (
        2,
        "relevant",
        "form.error.relevance_cycle",
    )
    assert problem.text.vars["cycle"] == "a → b → a"


def test_group_relevance_on_its_own_question_is_a_cycle() -> None:
    survey = survey_of(
        ["begin group", "g", "", "${x} = 1"],
        ["integer", "x", "X", ""],
        ["end group", "", "", ""],
        header=("type", "name", "label", "relevant"),
    )
    problem = only_problem(workbook(survey))
    assert (problem.row, problem.text.key) == (2, "form.error.relevance_cycle")
    assert problem.text.vars["cycle"] == "g → x → g"


def test_choice_filter_columns_and_references() -> None:
    choices = [
        ["list_name", "name", "label", "region"],
        ["regions", "n", "North", ""],
        ["cities", "bj", "Beijing", "n"],
    ]
    good = survey_of(
        ["select_one regions", "region", "Region", ""],
        ["select_one cities", "city", "City", "region = ${region}"],
        header=("type", "name", "label", "choice_filter"),
    )
    city = parse_workbook(workbook(good, choices)).question("city")
    assert city is not None
    assert city.choice_filter == "region = ${region}"
    bad = survey_of(
        ["select_one cities", "city", "City", "province = ${later}"],
        ["select_one regions", "later", "Region", ""],
        header=("type", "name", "label", "choice_filter"),
    )
    assert problems(workbook(bad, choices)) == [
        ("survey", 2, "choice_filter", "form.error.unknown_column"),
        ("survey", 2, "choice_filter", "form.error.forward_reference"),
    ]


# --- parameters and ranges --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parameters", "key"),
    [
        ("start=one end=5", "form.error.range_not_number"),
        ("start=1 end=5 step=0", "form.error.range_step"),
        ("start=1 end=5 step=-1", "form.error.range_step"),
        ("start=5 end=1", "form.error.range_order"),
        ("start=5 end=5", "form.error.range_order"),
        ("start=1 end=5 step=3", "form.error.range_uneven"),
        ("start=0 end=100", "form.error.range_too_many"),
        ("start", "form.error.bad_parameters"),
        ("randomize=true", "form.error.unknown_parameter"),
    ],
)
def test_bad_ranges(parameters: str, key: str) -> None:
    survey = survey_of(
        ["range", "r", "R", parameters], header=("type", "name", "label", "parameters")
    )
    assert problems(workbook(survey)) == [("survey", 2, "parameters", key)]


def test_range_defaults_and_spaced_parameters() -> None:
    survey = survey_of(
        ["range", "a", "A", ""],
        ["range", "b", "B", "start = 1  end = 7"],
        header=("type", "name", "label", "parameters"),
    )
    form = parse_workbook(workbook(survey))
    assert [q.range for q in form.questions] == [RangeSpec(1, 10, 1), RangeSpec(1, 7, 1)]


# --- x_ columns -------------------------------------------------------------------------------

KANO_HEADER = ("type", "name", "label", "x_kano")


def test_kano_format_and_pairing() -> None:
    survey = survey_of(
        ["select_one kano", "a", "A", "functional"],
        ["select_one kano", "b", "B", "sideways:导出"],
        ["select_one kano", "c", "C", "functional:导出"],
        ["select_one kano", "d", "D", "functional:导出"],
        header=KANO_HEADER,
    )
    found = problems(workbook(survey, KANO_CHOICES))
    assert found == [
        ("survey", 2, "x_kano", "form.error.kano_format"),
        ("survey", 3, "x_kano", "form.error.kano_format"),
        ("survey", 4, "x_kano", "form.error.kano_unpaired"),
        ("survey", 5, "x_kano", "form.error.kano_duplicate"),
    ]


def test_kano_questions_need_the_five_answers() -> None:
    survey = survey_of(
        ["select_one colors", "a", "A", "functional:导出"],
        ["integer", "b", "B", "dysfunctional:导出"],
        header=KANO_HEADER,
    )
    choices = [*KANO_CHOICES, *COLORS[1:]]
    assert problems(workbook(survey, choices)) == [
        ("survey", 2, "x_kano", "form.error.kano_question"),
        ("survey", 3, "x_kano", "form.error.kano_question"),
    ]


@pytest.mark.parametrize(
    ("row", "key"),
    [
        (["select_one colors", "q", "Q", "green"], "form.error.check_not_a_choice"),
        (["range", "q", "Q", "11"], "form.error.check_not_a_choice"),
        (["integer", "q", "Q", "three"], "form.error.check_not_a_number"),
    ],
)
def test_attention_check_values(row: list[str], key: str) -> None:
    survey = survey_of(row, header=("type", "name", "label", "x_check"))
    assert problems(workbook(survey, COLORS)) == [("survey", 2, "x_check", key)]


# --- choices ----------------------------------------------------------------------------------


def test_choice_sheet_problems() -> None:
    choices = [
        ["list_name", "name", "label"],
        ["colors", "red", "Red"],
        ["colors", "red", "Red again"],
        ["", "green", "Green"],
        ["colors", "", "Nameless"],
        ["colors", "dark blue", "Dark blue"],
    ]
    data = workbook(survey_of(["select_one colors", "c", "C"]), choices)
    assert problems(data) == [
        ("choices", 3, "name", "form.error.duplicate_choice"),
        ("choices", 4, "list_name", "form.error.choice_missing_list"),
        ("choices", 5, "name", "form.error.choice_missing_name"),
        ("choices", 6, "name", "form.error.choice_name_space"),
    ]


# --- settings and quotas ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "value", "key"),
    [
        ("x_minutes", "five", "form.error.setting_whole_number"),
        ("x_minutes", 0, "form.error.setting_whole_number"),
        ("x_target", -3, "form.error.setting_whole_number"),
        ("x_retention_days", 1.5, "form.error.setting_whole_number"),
        ("x_speeder_ratio", 1, "form.error.setting_ratio"),
        ("x_speeder_ratio", "fast", "form.error.setting_ratio"),
    ],
)
def test_bad_settings(header: str, value: object, key: str) -> None:
    settings: Rows = [["form_id", header], ["f", value]]
    data = workbook(survey_of(["text", "a", "A"]), settings=settings)
    assert problems(data) == [("settings", 2, header, key)]


def test_missing_title_and_form_id() -> None:
    data = workbook(survey_of(["text", "a", "A"]), settings=None)
    assert problems(data) == [("settings", None, "form_title", "form.error.missing_title")]


def test_quota_problems() -> None:
    quotas: Rows = [
        ["field", "value", "limit"],
        ["industry", "制造业", 0],
        ["city", "北京", 10],
        ["${color}", "green", 10],
        ["${age}", "30", 10],
        ["size", "", "ten"],
    ]
    survey = survey_of(["select_one colors", "color", "C"], ["integer", "age", "Age"])
    assert problems(workbook(survey, COLORS, quotas=quotas)) == [
        ("quotas", 2, "limit", "form.error.quota_limit"),
        ("quotas", 3, "field", "form.error.quota_field"),
        ("quotas", 4, "value", "form.error.quota_choice"),
        ("quotas", 5, "field", "form.error.quota_field"),
        ("quotas", 6, "value", "form.error.quota_value"),
        ("quotas", 6, "limit", "form.error.quota_limit"),
    ]


# --- collecting and showing problems ----------------------------------------------------------


def test_all_problems_are_collected_up_to_the_cap() -> None:
    rows = [["nonsense", f"q{n}", "Q"] for n in range(30)]
    found = problems(workbook(survey_of(*rows)))
    assert len(found) == MAX_PROBLEMS
    assert [row for _, row, _, _ in found] == list(range(2, 2 + MAX_PROBLEMS))


def test_problems_render_with_their_place_in_both_languages() -> None:
    catalogue = Catalogue.load()
    problem = only_problem(workbook(survey_of(["text", "a b", "A"])))
    assert catalogue.render("en", problem.message()).startswith(
        "Sheet “survey”, row 2, column “name”: “a b” can't be used as a name"
    )
    assert catalogue.render("zh", problem.message()).startswith("「survey」表第 2 行「name」列：")
    with pytest.raises(WorkbookInvalid) as raised:
        parse_workbook(b"nope")
    assert catalogue.render("zh", raised.value.problems[0].message())
    assert catalogue.render("en", raised.value.text) == (
        "The workbook has 1 thing(s) to fix; please upload it again once they are fixed:"
    )


def test_every_problem_text_renders() -> None:
    """Variables given by the reader match the catalogue (both languages)."""
    catalogue = Catalogue.load()
    survey = survey_of(
        ["select_one colors", "c", "C", "x", "${nope} = 1", "start=1 end=5 step=3"],
        ["range", "r", "R", "", "a = 1", "start=1 end=5 step=3"],
        ["range", "s", "S", "", "regex(., '(a+)+')", "start=0 end=99"],
        header=("type", "name", "label", "required", "relevant", "parameters"),
    )
    with pytest.raises(WorkbookInvalid) as raised:
        parse_workbook(
            workbook(survey, COLORS, quotas=[["field", "value", "limit"], ["x", "", ""]])
        )
    for problem in raised.value.problems:
        for language in ("zh", "en"):
            assert catalogue.render(language, problem.message())  # MissingText if vars differ
    assert len(raised.value.problems) >= 6
