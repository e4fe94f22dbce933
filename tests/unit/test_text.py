"""Search keys: normalised text, phones, masks, pinyin (polyphones included), the search
document, and the duplicate check."""

from __future__ import annotations

import random

import pytest

from crm.text import (
    NameKeys,
    compact_key,
    core_words,
    document_without_code,
    keys_and_document,
    legal_core,
    mask_phone,
    name_keys,
    names_look_alike,
    normalize_phone,
    normalize_text,
    person_pinyins,
    phone_tail_key,
    search_document,
    with_code,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Acme   Trading\tCo.  ", "acme trading co."),
        ("ＡＣＭＥ　Ｔｒａｄｉｎｇ", "acme trading"),  # full-width letters and space
        ("华信科技（深圳）", "华信科技(深圳)"),  # full-width brackets
        ("Straße", "strasse"),  # casefold, not just lower
        ("line\none", "line one"),
        ("", ""),
        ("   ", ""),
    ],
)
def test_normalize_text(raw: str, expected: str) -> None:
    assert normalize_text(raw) == expected


def test_compact_key_keeps_letters_and_digits_only() -> None:
    assert compact_key("Acme Trading Co., Ltd.") == "acmetradingcoltd"
    assert compact_key("华信-科技 (深圳)") == "华信科技深圳"
    assert compact_key("😀!?") == ""


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13912345678", "13912345678"),
        ("+86 139-1234-5678", "13912345678"),
        ("+8613912345678", "13912345678"),
        ("(0086)13912345678", "13912345678"),
        ("0086 139 1234 5678", "13912345678"),
        ("86 139 1234 5678", "13912345678"),
        ("１３９１２３４５６７８", "13912345678"),  # full-width digits
        ("＋８６ １３９ １２３４ ５６７８", "13912345678"),
        ("١٣٩١٢٣٤٥٦٧٨", "13912345678"),  # Arabic-Indic digits
        ("139 1234 5678", "13912345678"),
        ("139.1234.5678", "13912345678"),
        ("(139) 1234-5678", "13912345678"),
        ("010-6552 1234", "01065521234"),
        ("(010) 65521234", "01065521234"),
        ("+86 10 6552 1234", "01065521234"),  # the trunk 0 comes back
        ("+86 (0)10 6552 1234", "01065521234"),
        ("0086-21-1234-5678", "02112345678"),
        ("400-810-8888", "4008108888"),
        ("+86 400 810 8888", "4008108888"),
        ("010-65521234 ext 808", "01065521234"),
        ("010-65521234 ext. 808", "01065521234"),
        ("010-65521234x808", "01065521234"),
        ("010-65521234转808", "01065521234"),
        ("010-65521234#808", "01065521234"),
        ("+1 415 555 0100", "+14155550100"),
        ("001 415 555 0100", "+14155550100"),
        ("+44 20 7946 0958", "+442079460958"),
        ("12345", "12345"),
        ("8613912345678", "13912345678"),  # digits only (the fast path): 86 without + or 00
        ("008613912345678", "13912345678"),
        ("0014155550100", "+14155550100"),
        ("01065521234", "01065521234"),
    ],
)
def test_normalize_phone(raw: str, expected: str) -> None:
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "1234",
        "+86 12",
        "tel 13912345678",
        "abc12345",
        "139-1234-567a",
        "call me",
        "13912345678 / 13812345678",  # two numbers: too many digits
        "1" * 16,
        "0012",  # digits only: 00 then too few
        "x12345",
    ],
)
def test_normalize_phone_refuses_what_is_not_a_phone(raw: str) -> None:
    assert normalize_phone(raw) is None


def test_normalize_phone_is_idempotent() -> None:
    for raw in ("+86 139-1234-5678", "010-6552 1234", "+1 415 555 0100", "4008108888"):
        once = normalize_phone(raw)
        assert once is not None
        assert normalize_phone(once) == once


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("13912345678", "139****5678"),
        ("01065521234", "010****1234"),
        ("+14155550100", "+141****0100"),
        ("+442079460958", "+442*****0958"),
        ("12345678", "123*5678"),
        ("1234567", "*****67"),
        ("12345", "***45"),
        ("12", "**"),
        ("", ""),
    ],
)
def test_mask_phone(phone: str, masked: str) -> None:
    assert mask_phone(phone) == masked


@pytest.mark.parametrize("phone", ["13912345678", "+442079460958", "123456789012345", "12345"])
def test_a_mask_never_shows_more_than_seven_digits(phone: str) -> None:
    masked = mask_phone(phone)
    assert sum(char.isdigit() for char in masked) <= min(7, len(phone.lstrip("+")) - 1)
    assert len(masked) == len(phone)


def test_phone_tail_key_reverses_the_digits() -> None:
    assert phone_tail_key("13912345678") == "87654321931"
    assert phone_tail_key("+14155550100") == "00105555141"
    assert phone_tail_key("13912345678").startswith(phone_tail_key("5678"))


@pytest.mark.parametrize(
    ("name", "keys"),
    [
        ("华信科技", NameKeys("华信科技", "huaxinkeji", "hxkj")),
        ("华信科技有限公司", NameKeys("华信科技有限公司", "huaxinkejiyouxiangongsi", "hxkjyxgs")),
        ("长沙华信", NameKeys("长沙华信", "changshahuaxin", "cshx")),  # not zhangsha
        ("重庆火锅", NameKeys("重庆火锅", "chongqinghuoguo", "cqhg")),  # not zhongqing
        ("中国银行", NameKeys("中国银行", "zhongguoyinhang", "zgyh")),  # not yinxing
        ("绿地集团", NameKeys("绿地集团", "lvdijituan", "ldjt")),  # ü typed as v
        ("Acme Trading", NameKeys("acmetrading", "acmetrading", "at")),
        ("ACME Trading Co., Ltd.", NameKeys("acmetradingcoltd", "acmetradingcoltd", "atcl")),
        ("3M中国", NameKeys("3m中国", "3mzhongguo", "3zg")),
        ("ＴＣＬ 科技", NameKeys("tcl科技", "tclkeji", "tkj")),
        ("", NameKeys("", "", "")),
    ],
)
def test_name_keys(name: str, keys: NameKeys) -> None:
    assert name_keys(name) == keys


def test_person_names_also_get_the_surname_reading() -> None:
    pinyins = {keys.pinyin for keys in person_pinyins("单田芳")}
    assert pinyins == {"dantianfang", "shantianfang"}
    assert {keys.initials for keys in person_pinyins("曾国藩")} == {"cgf", "zgf"}
    assert person_pinyins("王芳") == [NameKeys("王芳", "wangfang", "wf")]
    assert person_pinyins("单") == [NameKeys("单", "dan", "d")]  # a surname alone: as it is


def test_search_document_holds_everything_searchable_once() -> None:
    document = search_document(
        "深圳华信科技有限公司",
        "CRM0012",
        [("王芳", "+86 139-1234-5678"), ("John Smith", None), ("单田芳", "not a phone")],
        ["VIP", "重点客户"],
    )
    words = document.split(" ")
    for expected in (
        "深圳华信科技有限公司",
        "shenzhenhuaxinkeji",  # pinyin and initials without the legal form
        "szhxkj",
        "crm0012",
        "王芳",
        "wangfang",
        "wf",
        "13912345678",
        "john",
        "smith",
        "johnsmith",
        "js",
        "shantianfang",
        "vip",
        "重点客户",
    ):
        assert expected in words, expected
    assert document.count("深圳华信科技有限公司") == 1
    assert "youxiangongsi" not in document
    assert "yxgs" not in document
    assert document == normalize_text(document)


def test_search_document_of_an_english_customer() -> None:
    document = search_document("Acme Trading Co.", "CRM0004", [], [])
    assert document == "acme trading co. acmetradingco acmetrading at crm0004"
    assert search_document("公司", "CRM1", [], []) == "公司 gongsi gs crm1"  # all legal form


def test_core_words_drop_the_legal_form() -> None:
    assert core_words("深圳华信科技有限公司") == ["深圳华信科技"]
    assert core_words("Acme Trading Co., Ltd.") == ["acme", "trading"]
    assert core_words("Co., Ltd.") == []
    assert core_words("公司") == []


@pytest.mark.parametrize(
    ("name", "core"),
    [
        ("华信科技有限公司", "华信科技"),
        ("华信科技股份有限公司", "华信科技"),
        ("华信科技有限责任公司", "华信科技"),
        ("华信集团有限公司", "华信"),
        ("华信集团", "华信"),
        ("Acme Trading Co., Ltd.", "acmetrading"),
        ("Acme Inc.", "acme"),
        ("Acme LLC", "acme"),
        ("公司", "公司"),  # nothing left: keep it all
        ("Co., Ltd.", "coltd"),
    ],
)
def test_legal_core(name: str, core: str) -> None:
    assert legal_core(name) == core


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("华信科技", "华信科技"),
        ("华信科技", "华信科技有限公司"),
        ("华信科技股份有限公司", "华信科技有限责任公司"),
        ("华信科技", "华新科技"),  # homophone typo
        ("华信", "华新"),
        ("中国科技", "中国科枝"),  # one character wrong
        ("北京中联物流", "北京中通物流"),
        ("Acme Trading Co., Ltd.", "ACME Trading Inc."),
        ("Acme Trading", "Acme Tradng"),
        ("Blue River Foods", "Blue River Food"),
        ("ＡＣＭＥ", "acme"),
        ("华信科技", "huaxinkeji"),  # typed in pinyin
    ],
)
def test_names_that_look_alike(a: str, b: str) -> None:
    assert names_look_alike(a, b)
    assert names_look_alike(b, a)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("华信科技", "中联物流"),
        ("华信", "华为"),
        ("深圳华信科技", "北京中联物流"),
        ("Acme Trading", "Blue River Foods"),
        ("Blue River Foods", "Red River Foods"),
        ("abc", "abd"),  # one edit, but too short to call
        ("", "华信"),
        ("有限公司", "股份有限公司集团"),
    ],
)
def test_names_that_do_not_look_alike(a: str, b: str) -> None:
    assert not names_look_alike(a, b)
    assert not names_look_alike(b, a)


def test_an_imports_document_without_the_code_gets_it_after() -> None:
    contacts = [("王芳", "13912345678")]
    for code in ("CRM0012", "", "王芳"):
        whole = search_document("华信科技有限公司", code, contacts, ["VIP"])
        assert (
            with_code(document_without_code("华信科技有限公司", contacts, ["VIP"]), code) == whole
        )
    assert with_code("", "CRM0001") == "crm0001"


def test_an_imports_keys_and_document_are_the_chats() -> None:
    pick = random.Random(7)
    legal = ["有限公司", "股份有限公司", "集团", "", " Co., Ltd.", "科技有限公司"]
    for _ in range(3_000):
        core = "".join(
            pick.choice("华信恒达金鼎瑞丰长沙重庆银行科技") for _ in range(pick.randrange(1, 7))
        )
        name = core + pick.choice(["", "12", "A", " 2号"]) + pick.choice(legal)
        phone = normalize_phone(f"13{pick.randrange(10**9):09d}")
        assert phone is not None
        assert normalize_phone(phone) == phone  # the import's phones are normalised already
        contacts = [(pick.choice(["王芳", "单田芳", "曾国藩"]), phone)]
        keys, document = keys_and_document(name, contacts, ["VIP"])
        assert keys == name_keys(name), name
        assert document == document_without_code(name, contacts, ["VIP"]), name
