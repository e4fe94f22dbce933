"""The shipped templates are real workbooks that our own reader accepts without a problem."""

from __future__ import annotations

from io import BytesIO

import pytest
from openpyxl import load_workbook

from bot.i18n import Catalogue
from crm.surveys import engine
from crm.surveys.form import Answer, Form, KanoSide, QuestionType, Quota
from crm.surveys.templates import TEMPLATES, TemplateInfo, template_workbook
from crm.surveys.xlsform import parse_workbook

NAMES = [template.name for template in TEMPLATES]


def form_of(name: str) -> Form:
    return parse_workbook(template_workbook(name))


def test_the_four_templates_are_listed() -> None:
    assert NAMES == ["needs", "satisfaction", "kano", "customer_info"]


@pytest.mark.parametrize("name", NAMES)
def test_every_template_parses_in_both_languages(name: str) -> None:
    form = form_of(name)
    assert form.settings.title.keys() == {"zh", "en"}
    assert form.settings.consent.keys() == {"zh", "en"}
    assert form.answerable
    for question in form.questions:
        assert question.labels.keys() == {"zh", "en"}, question.name
        for choice in question.choices:
            assert choice.labels.keys() == {"zh", "en"}, choice.name
    assert Form.from_json(form.to_json()) == form


@pytest.mark.parametrize("name", NAMES)
def test_templates_are_ordinary_xlsx_with_the_xlsform_sheets(name: str) -> None:
    book = load_workbook(BytesIO(template_workbook(name)), read_only=True)
    assert {"survey", "choices", "settings"} <= set(book.sheetnames)
    book.close()


@pytest.mark.parametrize("template", TEMPLATES, ids=NAMES)
def test_template_titles_exist_in_the_catalogue(template: TemplateInfo) -> None:
    catalogue = Catalogue.load()
    assert catalogue.render("zh", template.title)
    assert catalogue.render("en", template.title)


def test_unknown_template_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        template_workbook("nope")


def test_needs_has_skip_logic_tags_attention_check_and_quotas() -> None:
    form = form_of("needs")
    detail = form.question("pain_detail")
    assert detail is not None
    assert detail.relevant is not None
    assert engine.next_after(form, "pain_points", {"pain_points": ("manual_entry",)}) == detail
    skipped = engine.next_after(form, "pain_points", {"pain_points": ("none",)})
    assert skipped is not None
    assert skipped.name == "features"
    budget = form.question("budget")
    assert budget is not None
    tags = {choice.name: choice.tag for choice in budget.choices}
    assert tags["under_10k"] == "价格敏感型"
    attention = form.question("attention")
    assert attention is not None
    assert attention.check == "agree"
    agree = attention.choice("agree")
    assert agree is not None
    assert agree.label("zh") == "比较同意"
    assert "比较同意" in attention.label("zh")
    assert Quota("industry", "制造业", 100) in form.quotas
    features = form.question("features")
    assert features is not None
    assert features.randomize


def test_needs_constraint_refuses_none_with_other_pains() -> None:
    form = form_of("needs")
    pains = form.question("pain_points")
    assert pains is not None
    answers: dict[str, Answer] = {}
    with pytest.raises(engine.AnswerRejected) as raised:
        engine.accept(form, pains, ("none", "manual_entry"), answers, 1, "zh")
    assert raised.value.text.key == "form.answer.constraint"


def test_satisfaction_has_nps_and_scales() -> None:
    form = form_of("satisfaction")
    nps = form.question("nps")
    assert nps is not None
    assert nps.is_nps
    assert nps.required
    scales = [q.name for q in form.questions if q.is_scale and not q.is_nps]
    assert len(scales) >= 3
    assert form.question("nps_reason") is not None


def test_kano_has_three_complete_feature_pairs() -> None:
    form = form_of("kano")
    pairs: dict[str, set[KanoSide]] = {}
    for question in form.questions:
        if question.kano is not None:
            assert question.type is QuestionType.SELECT_ONE
            pairs.setdefault(question.kano.feature, set()).add(question.kano.side)
    assert pairs == {
        feature: set(KanoSide) for feature in ("数据导出", "移动端审批", "AI 智能推荐")
    }


def test_customer_info_asks_business_questions_only_of_businesses() -> None:
    form = form_of("customer_info")
    for name in ("industry", "company_size", "region", "purchase_channel"):
        assert form.question(name) is not None, name
    after_type = engine.next_after(form, "customer_type", {"customer_type": "individual"})
    assert after_type is not None
    assert after_type.name == "region"
    business = engine.next_after(form, "customer_type", {"customer_type": "business"})
    assert business is not None
    assert business.name == "industry"
