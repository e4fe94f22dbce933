"""Reading a follow-up written in one message."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from crm.customer_service import clean_optional, mask_name, parse_amount, parse_grade
from crm.customers import Grade
from crm.errors import InvalidInput
from crm.followups import ContactMethod
from crm.log_parser import parse_log

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))  # a Wednesday


def test_the_chinese_example() -> None:
    parsed = parse_log("华信 电话 对价格有疑虑，需要竞品对比 下周三下午3点再联系", NOW)
    assert parsed.customer_fragment == "华信"
    assert parsed.method is ContactMethod.PHONE
    assert parsed.feedback == "对价格有疑虑"
    assert parsed.demand_change == "需要竞品对比"
    assert parsed.next_step == "再联系"
    assert parsed.next_at == datetime(2026, 12, 2, 15, 0, tzinfo=NOW.tzinfo)


def test_the_english_example() -> None:
    parsed = parse_log("acme visit demo went well, wants training; call back Friday 10am", NOW)
    assert (parsed.customer_fragment, parsed.method) == ("acme", ContactMethod.VISIT)
    assert parsed.feedback == "demo went well"
    assert parsed.demand_change == "wants training"
    assert parsed.next_step == "call back"
    assert parsed.next_at == datetime(2026, 11, 27, 10, 0, tzinfo=NOW.tzinfo)


@pytest.mark.parametrize(
    ("text", "fragment", "method"),
    [
        ("blue river visit all good", "blue river", ContactMethod.VISIT),
        ("电话 华信 聊了聊", "华信", ContactMethod.PHONE),
        ("华信 聊了聊", "华信", None),
        ("华信 微信 发了报价", "华信", ContactMethod.WECHAT),
        ("CRM0012 email, sent the brochure", "CRM0012", ContactMethod.EMAIL),
    ],
)
def test_customer_and_method(text: str, fragment: str, method: ContactMethod | None) -> None:
    parsed = parse_log(text, NOW)
    assert (parsed.customer_fragment, parsed.method) == (fragment, method)


def test_no_time_means_no_next_contact() -> None:
    parsed = parse_log("华信 拜访 客户很满意", NOW)
    assert (parsed.next_at, parsed.next_step, parsed.feedback) == (None, None, "客户很满意")


@pytest.mark.parametrize(
    ("raw", "amount"),
    [("50000", "50000.00"), ("5万", "50000.00"), ("¥1,234.5", "1234.50"), ("１２３", "123.00")],
)
def test_amounts(raw: str, amount: str) -> None:
    assert parse_amount(raw) == Decimal(amount)


@pytest.mark.parametrize("raw", ["", "abc", "-5", "0", "1e15", "NaN", "inf"])
def test_bad_amounts(raw: str) -> None:
    with pytest.raises(InvalidInput):
        parse_amount(raw)


def test_cleaning_and_masking() -> None:
    assert clean_optional("  华信\x07科技\u202e ", 10) == "华信科技"
    assert clean_optional("\u200b", 10) is None
    with pytest.raises(InvalidInput):
        clean_optional("长" * 11, 10)
    assert mask_name("李娜") == "李*"
    assert mask_name("Ada Lovelace") == "A***"
    assert parse_grade(" b ") is Grade.B
    assert parse_grade("") is None
    with pytest.raises(InvalidInput):
        parse_grade("S")
