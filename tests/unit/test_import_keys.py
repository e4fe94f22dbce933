"""The import's fast search keys equal what the chat computes (``crm.text``)."""

from __future__ import annotations

import random

from crm.importing.keys import SearchKeys
from crm.text import name_keys, search_document

CITIES = [
    "北京",
    "上海",
    "广州",
    "深圳",
    "杭州",
    "南京",
    "长沙",
    "重庆",
    "西安",
    "厦门",
    "银行",
    "朝阳",
]
CHARS = "华信恒达金鼎瑞丰宏远天成长重行乐会传都藏单曾解朴区仇查"
TAILS = ["科技有限公司", "股份有限公司", "集团", "银行", "音乐传媒", "重工", "行业协会", ""]
PEOPLE = ["单田芳", "曾小贤", "解晓东", "张伟", "Ada Lovelace", "区志强", "仇英", "查良镛"]


def test_fast_keys_equal_the_reference_on_many_names() -> None:
    pick = random.Random(7)
    keys = SearchKeys()
    for number in range(3000):
        name = (
            pick.choice(CITIES)
            + "".join(pick.choice(CHARS) for _ in range(pick.randrange(1, 4)))
            + pick.choice(TAILS)
            + pick.choice(["", " Ltd", f"{number}号"])
        )
        contacts = [(pick.choice(PEOPLE), pick.choice([None, "13912345678", "+1 415 555 0100"]))]
        tags = pick.choice([[], ["国企"]])
        assert keys.name_keys(name) == name_keys(name), name
        expected = search_document(name, f"CRM{number:04d}", contacts, tags)
        assert keys.document(name, f"CRM{number:04d}", contacts, tags) == expected, name
    assert keys.mismatches == 0


def test_keys_and_document_together() -> None:
    keys = SearchKeys()
    contacts = [("单田芳", "13912345678")]
    for name in ("重庆长安汽车股份有限公司", "长沙银行", "Acme Trading Co."):
        together = keys.keys_and_document(name, "CRM0001", contacts, [])
        assert together == (name_keys(name), search_document(name, "CRM0001", contacts, []))
    assert keys.mismatches == 0
