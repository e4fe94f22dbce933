"""Header mapping and cell normalisation of the customer import."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import pytest

from crm.customers import Grade, Stage
from crm.importing.fields import field_for, header_key, propose_mapping, score
from crm.importing.rows import clean, parse_date, parse_grade, parse_row, parse_stage

ZONE = ZoneInfo("Asia/Shanghai")
TEMPLATE_1 = [
    "客户编号", "客户名称", "所属行业", "联系人*", "职位", "联系方式（脱敏）", "客户来源",
    "需求类型", "合作阶段", "备注",
]  # fmt: skip


def test_template_1_headers_map_to_fields() -> None:
    assert propose_mapping(TEMPLATE_1) == (
        "code", "name", "industry", "contact", "title", "phone", "source", "demand_type",
        "stage", "notes",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("Customer Name", "name"),
        ("  COMPANY ", "name"),
        ("E-mail", "email"),
        ("Ｐｈｏｎｅ", "phone"),
        ("手机号码", "phone"),
        ("Phone 2", "phone"),
        ("Contact person", "contact"),
        ("负责人", "owner"),
        ("Sales rep", "owner"),
        ("Last follow-up", "last_follow_up"),
        ("建档日期", "created"),
        ("客户等级(A/B/C)", "grade"),
        ("微信", None),
        ("", None),
    ],
)
def test_headers_in_chinese_and_english(header: str, field: str | None) -> None:
    assert field_for(header) == field


def test_a_field_goes_to_its_first_column_only() -> None:
    assert propose_mapping(["电话", "手机", "名称"]) == ("phone", None, "name")
    assert header_key("联系人*") == "联系人"
    assert score(["客户信息表", "", ""]) == 0
    assert score(TEMPLATE_1) == 10


def test_cells_are_folded_and_trimmed() -> None:
    assert clean("  ＡＢＣ科技\u3000有限公司 \n") == "ABC科技 有限公司"
    mapping = ("code", "name", "contact", "phone", "stage", "grade", "created", "email")
    record = parse_row(
        5,
        [
            "crm 001",
            " ＹＹ集团 ",
            "李娜",
            "１３９ １２３４ ５６７８",
            "成交",
            "a级",
            "45352",
            "A@B.CN",
        ],
        mapping,
        ZONE,
    )
    assert record.problems == ()
    assert record.values["code"] == "CRM001"
    assert record.values["name"] == "YY集团"
    assert record.phone == "13912345678"
    assert (record.stage, record.grade) == (Stage.DEAL, Grade.A)
    assert record.dates["created"].astimezone(ZONE).date() == date(2024, 3, 1)
    assert record.values["email"] == "a@b.cn"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+86 139-1234-5678", "13912345678"),
        ("(0086)13912345678", "13912345678"),
        ("13912345678", "13912345678"),
        ("021-6555 1234", "02165551234"),
        ("139 1234 5678 / 021 6555 1234", "13912345678"),
        ("13912345678 转 8", "13912345678"),
    ],
)
def test_phones_in_many_formats(raw: str, expected: str) -> None:
    assert parse_row(2, [raw], ("phone",), ZONE).phone == expected


@pytest.mark.parametrize(
    ("mapping", "cells", "reason"),
    [
        (("phone",), ["139****5678"], "import.reason.phone_masked"),
        (("phone",), ["abc"], "import.reason.phone"),
        (("stage",), ["差不多"], "import.reason.stage"),
        (("grade",), ["S"], "import.reason.grade"),
        (("created",), ["昨天"], "import.reason.date"),
        (("email",), ["not-an-email"], "import.reason.email"),
        (("name",), ['=HYPERLINK("http://x")'], "import.reason.formula"),
        (("name",), ["长" * 101], "import.reason.too_long"),
        (("notes",), ["长" * 2001], "import.reason.cell_too_long"),
    ],
)
def test_bad_cells_say_why(mapping: tuple[str, ...], cells: list[str], reason: str) -> None:
    record = parse_row(2, cells, mapping, ZONE)
    assert [problem.text.key for problem in record.problems] == [reason]
    assert record.problems[0].field == mapping[0]


def test_stages_grades_and_dates() -> None:
    assert parse_stage("意向客户") is Stage.INTENT
    assert parse_stage("Won") is Stage.DEAL
    assert parse_stage("lost") is Stage.LOST
    assert parse_stage("潜在") is Stage.POTENTIAL
    assert parse_grade("B 类") is Grade.B
    assert parse_grade("D") is None
    assert parse_date("2024年3月1日") == date(2024, 3, 1)
    assert parse_date("2024/3/1") == date(2024, 3, 1)
    assert parse_date("20240301") == date(2024, 3, 1)
    assert parse_date("2024-03-01 10:30:00") == date(2024, 3, 1)
    assert parse_date("45352") == date(2024, 3, 1)
    assert parse_date("2024-02-30") is None
    assert parse_date("next week") is None


def test_repeated_cells_parse_the_same_every_time() -> None:
    """Cells of columns whose values repeat (stages, dates, choices) are parsed once and
    remembered: the second row with the same cells gets the same record, problems included,
    and another time zone gets its own dates."""
    mapping = ("name", "stage", "created", "industry", "grade")
    cells = ("甲公司", "差不多", "2024/3/1", " 制造业 ", "B级")
    first = parse_row(2, cells, mapping, ZONE)
    second = parse_row(3, cells, mapping, ZONE)
    assert (first.values, first.stage, first.grade, first.dates, first.problems) == (
        second.values,
        second.stage,
        second.grade,
        second.dates,
        second.problems,
    )
    assert first.values == {"name": "甲公司", "industry": "制造业"}
    assert first.stage is None
    assert [p.field for p in first.problems] == ["stage"]
    assert first.grade is Grade.B
    utc = parse_row(4, cells, mapping, ZoneInfo("UTC"))
    assert utc.dates["created"].hour == 0
    assert first.dates["created"].hour == 16


def test_a_tags_column() -> None:
    assert field_for("标签") == field_for("客户标签") == field_for("Tags") == "tags"
    record = parse_row(2, ["重点客户、华东，#VIP;重点客户 | 老客户"], ("tags",), ZONE)
    assert record.tags == ("重点客户", "华东", "VIP", "老客户")
    assert record.problems == ()
    too_long = parse_row(3, ["好" * 33], ("tags",), ZONE)
    assert too_long.tags == ()
    assert [p.text.key for p in too_long.problems] == ["import.reason.tag_too_long"]
    many = parse_row(4, ["、".join(f"标签{n}" for n in range(21))], ("tags",), ZONE)
    assert [p.text.key for p in many.problems] == ["import.reason.too_many_tags"]
