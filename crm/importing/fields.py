"""The customer fields a column can be imported into, and the headers (Chinese and English, as
in template 1 of the source documents: 客户编号 客户名称 所属行业 联系人* 职位 联系方式(脱敏) ...)
that map to each of them."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

CODE = "code"
NAME = "name"
INDUSTRY = "industry"
SIZE = "size"
SOURCE = "source"
DEMAND_TYPE = "demand_type"
STAGE = "stage"
GRADE = "grade"
REGION = "region"
ROUTE = "route"
NOTES = "notes"
TAGS = "tags"
CONTACT = "contact"
TITLE = "title"
PHONE = "phone"
EMAIL = "email"
OWNER = "owner"
CREATED = "created"
LAST_FOLLOW_UP = "last_follow_up"

FIELDS: tuple[str, ...] = (
    CODE,
    NAME,
    CONTACT,
    PHONE,
    TITLE,
    EMAIL,
    INDUSTRY,
    SIZE,
    SOURCE,
    DEMAND_TYPE,
    STAGE,
    GRADE,
    REGION,
    ROUTE,
    NOTES,
    TAGS,
    OWNER,
    CREATED,
    LAST_FOLLOW_UP,
)
CHOICE_FIELDS = (INDUSTRY, SIZE, SOURCE, DEMAND_TYPE, REGION, ROUTE)  # free text, ≤ 64
DATE_FIELDS = (CREATED, LAST_FOLLOW_UP)

_SYNONYMS: dict[str, tuple[str, ...]] = {
    CODE: (
        "客户编号", "客户编码", "客户代码", "客户号", "编号", "编码", "代码",
        "code", "customer code", "customer no", "customer number", "customer id", "client code",
        "id", "no",
    ),
    NAME: (
        "客户名称", "客户名", "客户", "公司名称", "公司名", "公司", "企业名称", "企业", "单位名称",
        "单位", "名称", "客户全称",
        "name", "customer", "customer name", "company", "company name", "client", "client name",
        "account", "account name", "organization", "organisation",
    ),
    CONTACT: (
        "联系人", "联系人姓名", "联系人名称", "姓名", "对接人",
        "contact", "contact name", "contact person", "person",
    ),
    PHONE: (
        "联系方式", "联系电话", "电话", "电话号码", "手机", "手机号", "手机号码", "移动电话",
        "phone", "phone number", "mobile", "mobile phone", "tel", "telephone", "cell",
    ),
    TITLE: ("职位", "职务", "岗位", "头衔", "title", "job title", "position", "role"),
    EMAIL: ("邮箱", "电子邮箱", "电子邮件", "邮件", "email", "e mail", "mail", "email address"),
    INDUSTRY: ("所属行业", "行业", "行业类别", "industry", "sector", "vertical"),
    SIZE: (
        "企业规模", "规模", "公司规模", "人员规模", "人数", "员工人数",
        "size", "company size", "employees", "headcount",
    ),
    SOURCE: (
        "客户来源", "来源", "线索来源", "渠道", "获客渠道",
        "source", "lead source", "channel", "origin",
    ),
    DEMAND_TYPE: (
        "需求类型", "需求", "需求类别", "意向产品",
        "demand", "demand type", "need", "needs", "requirement", "interest",
    ),
    STAGE: (
        "合作阶段", "阶段", "客户阶段", "销售阶段", "客户状态", "状态",
        "stage", "status", "pipeline stage", "sales stage",
    ),
    GRADE: ("客户等级", "等级", "客户级别", "级别", "grade", "level", "tier", "rating", "class"),
    REGION: ("区域", "地区", "所在地区", "省份", "城市", "region", "area", "territory", "city"),
    ROUTE: ("路序", "线路", "拜访路线", "route", "visit route"),
    NOTES: (
        "备注", "说明", "描述", "备注说明",
        "notes", "note", "remark", "remarks", "comment", "comments", "description",
    ),
    TAGS: ("标签", "客户标签", "标记", "tags", "tag", "labels", "label"),
    OWNER: (
        "负责人", "归属人", "所属销售", "归属销售", "销售", "销售代表", "业务员", "客户经理",
        "owner", "sales rep", "rep", "account manager", "salesperson", "assigned to",
    ),
    CREATED: (
        "建档日期", "创建日期", "创建时间", "录入日期", "录入时间", "建档时间",
        "created", "created at", "created on", "date created", "creation date",
    ),
    LAST_FOLLOW_UP: (
        "最近跟进", "最近跟进日期", "最近跟进时间", "最后跟进", "最后跟进日期", "上次跟进",
        "上次联系", "last follow up", "last follow up date", "last contact", "last contacted",
    ),
}  # fmt: skip

_BRACKETS = re.compile(r"[(\[【<].*?[)\]】>]")
_NOISE = re.compile(r"[\s*_\-:.#/]+")


def header_key(header: str) -> str:
    """How a header is compared: full-width folded, case-folded, remarks in brackets dropped
    ("联系方式（脱敏）" → "联系方式", "联系人*" → "联系人", "E-mail" → "e mail")."""
    text = unicodedata.normalize("NFKC", header).casefold().strip()
    stripped = _BRACKETS.sub("", text).strip()
    text = stripped or text
    return _NOISE.sub(" ", text).strip()


_BY_KEY: dict[str, str] = {
    header_key(synonym): field for field, synonyms in _SYNONYMS.items() for synonym in synonyms
}


def field_for(header: str) -> str | None:
    """The field a header names, if it names one."""
    key = header_key(header)
    if not key:
        return None
    found = _BY_KEY.get(key) or _BY_KEY.get(key.replace(" ", ""))
    if found is not None:
        return found
    return _BY_KEY.get(key.rstrip("0123456789 ")) if key[-1:].isdigit() else None


def propose_mapping(headers: Sequence[str]) -> tuple[str | None, ...]:
    """A field per column (None: ignored); a field goes to its first column only."""
    taken: set[str] = set()
    mapping: list[str | None] = []
    for header in headers:
        field = field_for(header)
        if field is None or field in taken:
            mapping.append(None)
        else:
            taken.add(field)
            mapping.append(field)
    return tuple(mapping)


def score(cells: Sequence[str]) -> int:
    """How much a row looks like a header row: the distinct fields its cells name."""
    return len({field for cell in cells if cell and (field := field_for(cell)) is not None})
