"""``crm.text`` reads Chinese through its own cut of pypinyin's phrase dictionary, for speed;
it must give exactly what ``pypinyin.lazy_pinyin`` gives, polyphones in context included."""

from __future__ import annotations

import random

import pytest
from pypinyin import Style, lazy_pinyin

from crm.text import _pinyin, name_keys, search_document

POLYPHONES = "长重行乐还调朝和单曾解仇区查朴覃缪翟盖尉种繁员秘冼黑召都藏传会"
COMMON = "中国人民大学上海浦东发展银行华信恒达金鼎瑞丰宏远天成科技有限公司股份集团"


def reference(han: str) -> tuple[str, ...]:
    return tuple(syllable.casefold() for syllable in lazy_pinyin(han, Style.NORMAL))


@pytest.mark.parametrize(
    "han",
    [
        "重庆长安汽车股份有限公司",
        "长沙银行",
        "人行长调单",  # phrases that overlap: 人行 / 行长
        "有限责任公司",
        "中华人民共和国",
        "〇",
        "𠀀𪚲",  # extension B: outside pypinyin's run pattern on narrow builds, read plainly
    ],
)
def test_known_runs(han: str) -> None:
    assert _pinyin(han) == reference(han)


def test_many_random_runs_equal_lazy_pinyin() -> None:
    pick = random.Random(11)
    letters = POLYPHONES + COMMON
    for _ in range(20_000):
        han = "".join(pick.choice(letters) for _ in range(pick.randrange(1, 14)))
        assert _pinyin(han) == reference(han), han


def test_name_keys_of_mixed_names() -> None:
    keys = name_keys("重庆长安汽车 Co., Ltd. 2号")
    assert keys.pinyin == "chongqingchanganqiche" + "coltd2hao"
    assert keys.initials == "cqcaqc" + "cl2h"
    document = search_document("长沙银行", "CRM0001", [("单田芳", "13912345678")], ["国企"])
    assert document.split() == [
        "长沙银行",
        "changshayinhang",
        "csyh",
        "单田芳",
        "dantianfang",
        "dtf",
        "shantianfang",
        "stf",
        "13912345678",
        "国企",
        "crm0001",
    ]
