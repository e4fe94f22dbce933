"""The survey workbook, read back with openpyxl."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import openpyxl
import pytest

from bot.i18n import Catalogue
from crm.surveys.analysis import summarise
from crm.surveys.export import MAX_SHEET_NAME, SheetNames, responses_workbook
from crm.surveys.form import (
    KANO_ANSWERS,
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
START = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)
NEEDS = (
    Choice("feature_a", {"zh": "功能A", "en": "Feature A"}, tag="技术偏好型"),
    Choice("price", {"zh": "价格", "en": "Price"}, tag="价格敏感型"),
    Choice("service", {"zh": "售后服务", "en": "Service"}),
)
KANO_CHOICES = tuple(Choice(name, {"en": name}) for name in KANO_ANSWERS)
SPEEDER = Flag(
    FlagKind.SPEEDER,
    Text("analysis.flag.speeder_median", {"seconds": 20, "median": 300, "limit": 100}),
)


def _q(name: str, kind: QuestionType, label: str, **extra: object) -> Question:
    labels = {"zh": label, "en": name}
    return Question(name=name, type=kind, labels=labels, row=1, **extra)  # type: ignore[arg-type]


def _form(kano: bool = True) -> Form:
    questions = [
        _q("main_need", QuestionType.SELECT_ONE, "您最关注什么？", choices=NEEDS),
        _q("needs", QuestionType.SELECT_MULTIPLE, "您关注哪些方面？", choices=NEEDS),
        _q("nps", QuestionType.RANGE, "您向朋友推荐我们的可能性", range=RangeSpec(0, 10, 1)),
        _q("suggestion", QuestionType.TEXT, "其他建议"),
    ]
    if kano:
        questions += [
            _q("export_f", QuestionType.SELECT_ONE, "如果支持导出Excel，您觉得？",
               choices=KANO_CHOICES, kano=Kano("导出 Excel", KanoSide.FUNCTIONAL)),
            _q("export_d", QuestionType.SELECT_ONE, "如果不支持导出Excel，您觉得？",
               choices=KANO_CHOICES, kano=Kano("导出 Excel", KanoSide.DYSFUNCTIONAL)),
        ]  # fmt: skip
    return Form(FormSettings("research", {"zh": "需求调研"}, "1"), tuple(questions))


def _responses() -> list[CompletedResponse]:
    common = {"export_f": "like", "export_d": "dislike"}
    return [
        CompletedResponse(
            id=1,
            answers={
                "main_need": "price",
                "needs": ("feature_a", "service"),
                "nps": 9,
                "suggestion": '=HYPERLINK("http://evil","点我")',
                **common,
            },
            started_at=START,
            completed_at=START + timedelta(seconds=400),
            customer_id=7,
            customer_code="CRM001",
            channel="telegram",
        ),
        CompletedResponse(
            id=2,
            answers={"main_need": "feature_a", "nps": 3, "suggestion": "@SUM(A1:A3)", **common},
            started_at=START,
            completed_at=START + timedelta(seconds=20),
            flags=(SPEEDER,),
            channel="wechat",
            version=2,
        ),
        CompletedResponse(
            id=3,
            answers={"main_need": "price", "nps": 10, "suggestion": "-1+2", **common},
            started_at=START,
            completed_at=START + timedelta(seconds=300),
            channel="wechat",
        ),
    ]


def _zh(text: Text) -> str:
    return catalogue.render("zh", text)


def _book(form: Form | None = None, **options: Any) -> Any:
    form = form or _form()
    responses = _responses()
    data = responses_workbook(form, responses, summarise(form, responses), "zh", _zh, **options)
    assert data.startswith(b"PK")
    return openpyxl.load_workbook(io.BytesIO(data))


def _rows(sheet: Any) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in sheet.iter_rows(values_only=True)]


def test_sheets() -> None:
    book = _book()
    assert book.sheetnames == [
        "答卷明细",
        "1. 您最关注什么？",
        "2. 您关注哪些方面？",
        "3. 您向朋友推荐我们的可能性",
        "4. 其他建议",
        "5. 如果支持导出Excel，您觉得？",
        "6. 如果不支持导出Excel，您觉得？",
        "KANO 分析",
        "调研汇总",
    ]
    assert "KANO 分析" not in _book(_form(kano=False)).sheetnames


def test_responses_sheet() -> None:
    rows = _rows(_book()["答卷明细"])
    assert rows[0][:7] == (
        "答卷编号", "客户编号", "渠道", "问卷版本", "开始时间", "完成时间", "用时（秒）"
    )  # fmt: skip
    assert rows[0][7:11] == (
        "您最关注什么？",
        "您关注哪些方面？",
        "您向朋友推荐我们的可能性",
        "其他建议",
    )
    assert rows[0][-2:] == ("无效原因", "是否有效")
    first, second, _ = rows[1:]
    assert first[:4] == (1, "CRM001", "telegram", 1)
    assert first[4] == datetime(2026, 3, 10, 1, 0)
    assert first[6] == 400
    assert first[7:10] == ("价格", "功能A; 售后服务", 9)
    assert first[-2:] == (None, "是")
    assert second[1] is None  # anonymous: no customer code
    assert second[-2:] == ("作答过快：用时 20 秒，中位用时 300 秒，下限 100 秒", "否")


def test_formula_like_answers_stay_text() -> None:
    sheet = _book()["答卷明细"]
    cells = [sheet.cell(row=row, column=11) for row in (2, 3, 4)]
    assert [cell.value for cell in cells] == [
        '=HYPERLINK("http://evil","点我")',
        "@SUM(A1:A3)",
        "-1+2",
    ]
    assert {cell.data_type for cell in cells} == {"s"}


def test_datetimes_in_a_time_zone() -> None:
    book = _book(tz=timezone(timedelta(hours=8)))
    assert book["答卷明细"].cell(row=2, column=5).value == datetime(2026, 3, 10, 9, 0)


def test_question_sheets() -> None:
    book = _book()
    select = _rows(book["1. 您最关注什么？"])
    assert select[0][0] == "您最关注什么？"
    assert select[1][:2] == ("回答人数", 2)  # the speeder is left out
    assert select[3] == ("选项", "人数", "占比")
    assert select[4:] == [("功能A", 0, 0), ("价格", 2, 1), ("售后服务", 0, 0)]
    nps = _rows(book["3. 您向朋友推荐我们的可能性"])
    assert nps[3] == ("分值", "人数", "占比")
    assert len([row for row in nps if isinstance(row[0], int | float)]) == 11
    labels = {row[0]: row[1] for row in nps if isinstance(row[0], str)}
    assert labels["平均值"] == 9.5
    assert labels["NPS"] == 100
    text = _rows(book["4. 其他建议"])
    assert text[3][0] == "回答"
    assert [row[0] for row in text[4:]] == ['=HYPERLINK("http://evil","点我")', "-1+2"]


def test_kano_and_summary_sheets() -> None:
    book = _book()
    kano = _rows(book["KANO 分析"])
    assert kano[0][:3] == ("功能", "题目", "M 必备型")
    assert kano[0][-4:] == ("合计", "类别", "Better 系数", "Worse 系数")
    assert kano[1][:2] == ("导出 Excel", "如果支持导出Excel，您觉得？")
    assert kano[1][2:8] == (0, 2, 0, 0, 0, 0)
    assert kano[1][-4:] == (2, "期望型", 1, -1)
    summary = _rows(book["调研汇总"])
    assert summary[0] == ("调研主题", "样本量", "核心结论（占比）", "关联客户标签", "建议措施")
    main = summary[1]
    assert main[:4] == ("您最关注什么？", 2, "100% 的受访者选择「价格」", "价格敏感型")
    assert main[4].startswith("客户对价格敏感")
    assert summary[-1][0] == "如果支持导出Excel，您觉得？"


def test_english_workbook() -> None:
    form, responses = _form(), _responses()
    data = responses_workbook(
        form,
        responses,
        summarise(form, responses),
        "en",
        lambda text: catalogue.render("en", text),
    )
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert book.sheetnames[0] == "Responses"
    assert book.sheetnames[-1] == "Summary"
    assert _rows(book["Responses"])[1][7:9] == ("Price", "Feature A; Service")


@pytest.mark.parametrize(
    ("wanted", "expected"),
    [
        ("a/b:c*d?e[f]g\\h", "a_b_c_d_e_f_g_h"),
        ("'quoted'", "quoted"),
        ("", "Sheet"),
        ("x" * 40, "x" * MAX_SHEET_NAME),
        ("History", "History (2)"),
        ("line\nbreak", "line break"),
    ],
)
def test_sheet_names_are_cleaned(wanted: str, expected: str) -> None:
    assert SheetNames().add(wanted) == expected


def test_sheet_names_are_unique_ignoring_case() -> None:
    names = SheetNames()
    long = "调研" * 20
    assert names.add("Summary") == "Summary"
    assert names.add("summary") == "summary (2)"
    assert names.add("SUMMARY") == "SUMMARY (3)"
    first, second = names.add(long), names.add(long)
    assert len(first) == len(second) == MAX_SHEET_NAME
    assert second.endswith(" (2)")
