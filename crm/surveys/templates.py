"""The shipped survey templates, kept as rows in code and written out as real XLSForm
workbooks (so a manager can download one, edit it in Excel and upload it again)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from io import BytesIO

from openpyxl import Workbook

from crm.surveys.form import KANO_ANSWERS
from crm.texts import Text


@dataclass(frozen=True)
class TemplateInfo:
    name: str
    title: Text


@dataclass(frozen=True)
class _Row:
    """One row of the ``survey`` sheet."""

    type: str
    name: str = ""
    zh: str = ""
    en: str = ""
    hint_zh: str = ""
    hint_en: str = ""
    required: bool = False
    relevant: str = ""
    constraint: str = ""
    message_zh: str = ""
    message_en: str = ""
    parameters: str = ""
    kano: str = ""
    tag: str = ""
    check: str = ""
    contradiction: str = ""

    def cells(self) -> tuple[str, ...]:
        return (
            self.type,
            self.name,
            self.zh,
            self.en,
            self.hint_zh,
            self.hint_en,
            "yes" if self.required else "",
            self.relevant,
            self.constraint,
            self.message_zh,
            self.message_en,
            self.parameters,
            self.kano,
            self.tag,
            self.check,
            self.contradiction,
        )


SURVEY_HEADERS = (
    "type",
    "name",
    "label::Chinese (zh)",
    "label::English (en)",
    "hint::Chinese (zh)",
    "hint::English (en)",
    "required",
    "relevant",
    "constraint",
    "constraint_message::Chinese (zh)",
    "constraint_message::English (en)",
    "parameters",
    "x_kano",
    "x_tag",
    "x_check",
    "x_contradiction",
)
CHOICE_HEADERS = ("list_name", "name", "label::Chinese (zh)", "label::English (en)", "x_tag")
SETTINGS_HEADERS = (
    "form_title::Chinese (zh)",
    "form_title::English (en)",
    "form_id",
    "version",
    "default_language",
    "x_consent::Chinese (zh)",
    "x_consent::English (en)",
    "x_minutes",
    "x_target",
    "x_speeder_ratio",
    "x_min_seconds",
    "x_retention_days",
)
QUOTA_HEADERS = ("field", "value", "limit")

# (list_name, name, zh, en, x_tag)
_Choice = tuple[str, str, str, str, str]


@dataclass(frozen=True)
class _Template:
    info: TemplateInfo
    settings: Mapping[str, str | int | float]
    survey: tuple[_Row, ...]
    choices: tuple[_Choice, ...]
    quotas: tuple[tuple[str, str, int], ...] = ()


def _begin(name: str, zh: str, en: str, relevant: str = "") -> _Row:
    return _Row("begin group", name, zh, en, relevant=relevant)


_END = _Row("end group")

_CONSENT_ZH = "您的回答仅用于改进我们的产品和服务，不会对外公开，也不会用于推销。"
_CONSENT_EN = (
    "Your answers are used only to improve our products and service; they are never shared "
    "and never used for sales calls."
)


def _settings(
    form_id: str, zh: str, en: str, minutes: int, target: int
) -> dict[str, str | int | float]:
    return {
        "form_title::Chinese (zh)": zh,
        "form_title::English (en)": en,
        "form_id": form_id,
        "version": "1",
        "default_language": "zh",
        "x_consent::Chinese (zh)": _CONSENT_ZH,
        "x_consent::English (en)": _CONSENT_EN,
        "x_minutes": minutes,
        "x_target": target,
        "x_speeder_ratio": 0.4,
        "x_min_seconds": minutes * 20,
        "x_retention_days": 365,
    }


_AGREEMENT: tuple[_Choice, ...] = (
    ("agreement", "strongly_disagree", "非常不同意", "Strongly disagree", ""),
    ("agreement", "disagree", "比较不同意", "Disagree", ""),
    ("agreement", "neutral", "一般", "Neither agree nor disagree", ""),
    ("agreement", "agree", "比较同意", "Agree", ""),
    ("agreement", "strongly_agree", "非常同意", "Strongly agree", ""),
)

_INDUSTRY: tuple[_Choice, ...] = (
    ("industry", "manufacturing", "制造业", "Manufacturing", ""),
    ("industry", "retail", "零售", "Retail", ""),
    ("industry", "finance", "金融", "Finance", ""),
    ("industry", "internet", "互联网 / 电商", "Internet / e-commerce", ""),
    ("industry", "education", "教育", "Education", ""),
    ("industry", "other", "其他", "Other", ""),
)

_COMPANY_SIZE: tuple[_Choice, ...] = (
    ("company_size", "small", "50 人以下", "Fewer than 50 people", ""),
    ("company_size", "medium", "50–200 人", "50–200 people", ""),
    ("company_size", "large", "200 人以上", "More than 200 people", ""),
)

_NO_PAIN = "count-selected(${pain_points}) > 0 and not(selected(${pain_points}, 'none'))"

NEEDS = _Template(
    TemplateInfo("needs", Text("form.template.needs")),
    _settings("kehu_needs", "客户需求调研问卷", "Customer needs survey", 6, 300),
    (
        _Row(
            "note",
            "intro",
            "感谢您抽空参与！我们想了解您对产品最核心的需求，好把服务做得更贴心。大约需要 6 分钟。",
            "Thank you for taking part! We'd like to learn what you need most from our product "
            "so we can serve you better. It takes about 6 minutes.",
        ),
        _begin("basic", "一、基本信息（选填）", "1. About you (optional)"),
        _Row("select_one industry", "industry", "您所在的行业是？", "Which industry are you in?"),
        _Row(
            "text",
            "industry_other",
            "请写一下您所在的行业",
            "Please tell us your industry",
            relevant="${industry} = 'other'",
        ),
        _Row(
            "select_one company_size",
            "company_size",
            "贵公司的规模是？",
            "How big is your company?",
        ),
        _END,
        _begin("situation", "二、现状与痛点", "2. Where things stand"),
        _Row(
            "select_multiple pain",
            "pain_points",
            "目前工作中，哪些问题最让您头疼？（可多选）",
            "Which of these problems do you run into at work? (choose any)",
            required=True,
            constraint="not(selected(., 'none') and count-selected(.) > 1)",
            message_zh="「暂无明显问题」不能和其他选项一起选，请重新选择。",
            message_en="“No real problems” can't be combined with other answers.",
        ),
        _Row(
            "text",
            "pain_detail",
            "能具体说说其中最困扰您的一个吗？",
            "Could you tell us more about the one that bothers you most?",
            relevant=_NO_PAIN,
        ),
        _Row(
            "range",
            "pain_impact",
            "这些问题对您工作的影响有多大？",
            "How much do these problems affect your work?",
            hint_zh="1 分几乎没影响，5 分影响很大",
            hint_en="1 = hardly at all, 5 = a great deal",
            required=True,
            relevant=_NO_PAIN,
            parameters="start=1 end=5 step=1",
        ),
        _END,
        _begin("needs", "三、核心需求", "3. What you need"),
        _Row(
            "select_multiple feature",
            "features",
            "您最关注产品的哪些方面？（最多选 3 项）",
            "What matters most to you in the product? (up to 3)",
            required=True,
            constraint="count-selected(.) <= 3",
            message_zh="最多选 3 项，请去掉一些再提交。",
            message_en="Please choose at most 3.",
            parameters="randomize=true",
        ),
        _Row(
            "select_one support_channel",
            "support_channel",
            "您希望通过哪种方式获得技术支持？",
            "How would you like to get technical support?",
            relevant="selected(${features}, 'tech_support')",
        ),
        _END,
        _begin("budget_time", "四、预算与时间", "4. Budget and timing"),
        _Row(
            "select_one budget",
            "budget",
            "这类产品您每年的预算大约是？",
            "Roughly what is your yearly budget for this kind of product?",
            required=True,
        ),
        _Row(
            "select_one timeline",
            "timeline",
            "您计划什么时候采购？",
            "When are you planning to buy?",
            required=True,
        ),
        _END,
        _begin("satisfaction", "五、满意度", "5. Satisfaction"),
        _Row(
            "range",
            "current_score",
            "您对目前所用同类产品的满意度打几分？",
            "How satisfied are you with the product you use today?",
            hint_zh="1 分最低，5 分最高",
            hint_en="1 = lowest, 5 = highest",
            required=True,
            parameters="start=1 end=5 step=1",
            contradiction="selected(${pain_points}, 'none') and ${current_score} = 1",
        ),
        _Row(
            "select_one agreement",
            "attention",
            "为确认您在认真作答，本题请选择「比较同意」。",
            "To show you are reading carefully, please choose “Agree” here.",
            required=True,
            check="agree",
        ),
        _END,
        _Row(
            "text",
            "suggestion",
            "您对产品改进还有什么建议？",
            "Anything else you'd like us to improve?",
        ),
    ),
    (
        *_INDUSTRY[:3],
        ("industry", "other", "其他", "Other", ""),
        *_COMPANY_SIZE,
        ("pain", "manual_entry", "手工录入多，效率低", "Too much manual data entry", ""),
        ("pain", "scattered_data", "客户资料分散在各处", "Customer data is scattered", ""),
        ("pain", "slow_followup", "跟进不及时，容易遗漏", "Follow-ups slip or get forgotten", ""),
        ("pain", "hard_reporting", "数据难统计、难分析", "Numbers are hard to analyse", ""),
        ("pain", "none", "暂无明显问题", "No real problems right now", ""),
        ("feature", "customer_records", "客户管理", "Customer records", ""),
        ("feature", "reporting", "数据报表", "Reports", ""),
        ("feature", "mobile", "移动办公", "Working on the phone", ""),
        ("feature", "price", "价格实惠", "An affordable price", "价格敏感型"),
        ("feature", "after_sales", "售后服务", "After-sales service", "服务导向型"),
        ("feature", "tech_support", "技术支持", "Technical support", "技术偏好型"),
        ("support_channel", "phone", "电话", "Phone", ""),
        ("support_channel", "online_chat", "在线客服", "Online chat", ""),
        ("support_channel", "onsite", "上门服务", "On-site visits", ""),
        ("budget", "under_10k", "1 万元以下", "Under ¥10,000", "价格敏感型"),
        ("budget", "10k_50k", "1 万–5 万元", "¥10,000–50,000", ""),
        ("budget", "50k_200k", "5 万–20 万元", "¥50,000–200,000", ""),
        ("budget", "over_200k", "20 万元以上", "Over ¥200,000", "高潜力客户"),
        ("budget", "unsure", "暂不确定", "Not sure yet", ""),
        ("timeline", "within_3_months", "3 个月内", "Within 3 months", "高潜力客户"),
        ("timeline", "within_6_months", "半年内", "Within 6 months", ""),
        ("timeline", "within_a_year", "一年内", "Within a year", ""),
        ("timeline", "no_plan", "暂无计划", "No plans yet", ""),
        *_AGREEMENT,
    ),
    (("industry", "制造业", 100), ("industry", "零售", 100), ("industry", "金融", 100)),
)


def _scale(name: str, zh: str, en: str) -> _Row:
    return _Row(
        "range",
        name,
        zh,
        en,
        hint_zh="1 分非常不满意，5 分非常满意",
        hint_en="1 = very dissatisfied, 5 = very satisfied",
        required=True,
        parameters="start=1 end=5 step=1",
    )


SATISFACTION = _Template(
    TemplateInfo("satisfaction", Text("form.template.satisfaction")),
    _settings("kehu_satisfaction", "客户满意度调查", "Customer satisfaction survey", 4, 200),
    (
        _Row(
            "note",
            "intro",
            "感谢您一直以来的支持！请花几分钟给我们的产品和服务打个分。",
            "Thank you for being with us! Please take a few minutes to rate our product and "
            "service.",
        ),
        _scale("quality", "您对产品质量满意吗？", "How satisfied are you with product quality?"),
        _scale(
            "service_attitude",
            "您对我们的服务态度满意吗？",
            "How satisfied are you with how our staff treat you?",
        ),
        _scale(
            "after_sales", "您对售后服务满意吗？", "How satisfied are you with after-sales service?"
        ),
        _scale(
            "response_speed",
            "您对我们的响应速度满意吗？",
            "How satisfied are you with how quickly we respond?",
        ),
        _Row(
            "range",
            "nps",
            "您有多大可能把我们推荐给朋友或同行？",
            "How likely are you to recommend us to a friend or colleague?",
            hint_zh="0 分完全不可能，10 分非常可能",
            hint_en="0 = not at all likely, 10 = extremely likely",
            required=True,
            parameters="start=0 end=10 step=1",
            tag="高活跃度",
            contradiction="${nps} >= 9 and ${quality} = 1 and ${service_attitude} = 1",
        ),
        _Row(
            "text",
            "nps_reason",
            "您打这个分数，主要是因为什么？",
            "What is the main reason for your score?",
        ),
        _Row(
            "select_multiple improve",
            "improve",
            "您最希望我们在哪些方面改进？（可多选）",
            "What should we improve first? (choose any)",
            relevant="${nps} <= 8",
        ),
        _Row(
            "text",
            "suggestion",
            "还有其他意见或建议吗？",
            "Any other comments or suggestions?",
        ),
    ),
    (
        ("improve", "quality", "产品质量", "Product quality", ""),
        ("improve", "service", "服务态度", "How staff treat me", ""),
        ("improve", "after_sales", "售后服务", "After-sales service", ""),
        ("improve", "speed", "响应速度", "Response speed", ""),
        ("improve", "price", "价格", "Price", "价格敏感型"),
    ),
)

_KANO_LABELS = {
    "like": ("我很喜欢", "I'd like it"),
    "expect": ("理应如此", "I expect it"),
    "neutral": ("无所谓", "I'm neutral"),
    "tolerate": ("能接受", "I can live with it"),
    "dislike": ("我不喜欢", "I'd dislike it"),
}
_KANO_FEATURES = (
    ("export", "数据导出", "data export"),
    ("mobile_approval", "移动端审批", "approvals on the phone"),
    ("ai_recommendation", "AI 智能推荐", "AI recommendations"),
)


def _kano_pair(name: str, zh: str, en: str) -> tuple[_Row, _Row]:
    functional = _Row(
        "select_one kano",
        f"{name}_functional",
        f"如果产品提供「{zh}」功能，您觉得怎么样？",
        f"If the product offers {en}, how do you feel?",
        required=True,
        kano=f"functional:{zh}",
    )
    dysfunctional = _Row(
        "select_one kano",
        f"{name}_dysfunctional",
        f"如果产品不提供「{zh}」功能，您觉得怎么样？",
        f"If the product does not offer {en}, how do you feel?",
        required=True,
        kano=f"dysfunctional:{zh}",
    )
    return functional, dysfunctional


KANO = _Template(
    TemplateInfo("kano", Text("form.template.kano")),
    _settings("kehu_kano", "功能需求 KANO 调研", "Feature priorities (KANO)", 4, 150),
    (
        _Row(
            "note",
            "intro",
            "接下来每个功能会问两次：有这个功能时、没有这个功能时，您分别怎么看。凭第一感觉选就好。",
            "Each feature comes up twice: how you'd feel if the product had it, and if it "
            "didn't. Go with your first feeling.",
        ),
        *(row for feature in _KANO_FEATURES for row in _kano_pair(*feature)),
        _Row(
            "text",
            "other_feature",
            "还有哪些功能是您希望我们提供的？",
            "Is there any other feature you'd like us to offer?",
        ),
    ),
    tuple(("kano", name, *_KANO_LABELS[name], "") for name in KANO_ANSWERS),
)

_BUSINESS = "${customer_type} = 'business'"

CUSTOMER_INFO = _Template(
    TemplateInfo("customer_info", Text("form.template.customer_info")),
    _settings("kehu_customer_info", "客户信息收集表", "Customer information form", 5, 200),
    (
        _begin("profile", "一、基本属性", "1. About you"),
        _Row("select_one age", "age", "您的年龄段是？", "Your age group?"),
        _Row("select_one gender", "gender", "您的性别是？", "Your gender?"),
        _Row(
            "select_one customer_type",
            "customer_type",
            "您是以企业还是个人身份购买？",
            "Are you buying for a business or for yourself?",
            required=True,
        ),
        _Row(
            "select_one industry",
            "industry",
            "贵公司所在的行业是？",
            "Which industry is your company in?",
            required=True,
            relevant=_BUSINESS,
        ),
        _Row(
            "select_one company_size",
            "company_size",
            "贵公司的规模是？",
            "How big is your company?",
            required=True,
            relevant=_BUSINESS,
        ),
        _Row("text", "job_title", "您的职位是？", "What is your job title?", relevant=_BUSINESS),
        _Row("select_one region", "region", "您所在的地区是？", "Where are you based?"),
        _END,
        _begin("needs", "二、需求特征", "2. What you look for"),
        _Row(
            "select_multiple reason",
            "purchase_reasons",
            "您购买本产品的核心原因是？（可多选）",
            "Why do you buy our product? (choose any)",
            required=True,
        ),
        _Row(
            "text",
            "improve_feature",
            "您最希望改进的产品功能是什么？",
            "Which feature would you most like us to improve?",
        ),
        _END,
        _begin("behaviour", "三、购买行为", "3. How you buy"),
        _Row(
            "select_one frequency",
            "frequency",
            "近 6 个月您购买了几次？",
            "How often have you bought in the last 6 months?",
            required=True,
            contradiction="${frequency} = 'never' and count-selected(${purchase_reasons}) > 0",
        ),
        _Row(
            "select_one purchase_channel",
            "purchase_channel",
            "您通常通过哪种渠道购买？",
            "Where do you usually buy?",
            relevant="${frequency} != 'never'",
        ),
        _Row(
            "select_multiple info_channel",
            "info_channels",
            "您从哪些渠道了解产品信息？（可多选）",
            "Where do you hear about products? (choose any)",
        ),
        _END,
        _begin("feedback", "四、反馈", "4. Feedback"),
        _scale(
            "satisfaction", "您对我们的产品和服务满意吗？", "How satisfied are you with us overall?"
        ),
        _Row(
            "text",
            "suggestion",
            "其他建议或需求？",
            "Any other suggestions or needs?",
        ),
        _END,
    ),
    (
        ("age", "under_25", "25 岁以下", "Under 25", ""),
        ("age", "25_34", "25–34 岁", "25–34", ""),
        ("age", "35_44", "35–44 岁", "35–44", ""),
        ("age", "45_plus", "45 岁及以上", "45 or older", ""),
        ("gender", "female", "女", "Female", ""),
        ("gender", "male", "男", "Male", ""),
        ("gender", "undisclosed", "不便透露", "Prefer not to say", ""),
        ("customer_type", "business", "企业客户", "A business", ""),
        ("customer_type", "individual", "个人客户", "Myself", ""),
        *_INDUSTRY,
        *_COMPANY_SIZE,
        ("region", "north", "华北", "North China", ""),
        ("region", "east", "华东", "East China", ""),
        ("region", "south", "华南", "South China", ""),
        ("region", "central", "华中", "Central China", ""),
        ("region", "west", "西部", "Western China", ""),
        ("region", "overseas", "海外", "Outside China", ""),
        ("reason", "value", "性价比高", "Good value for money", "价格敏感型"),
        ("reason", "brand", "品牌口碑", "The brand", ""),
        ("reason", "features", "功能好用", "The features", "技术偏好型"),
        ("reason", "service", "服务周到", "The service", "服务导向型"),
        ("frequency", "never", "还没买过", "Not yet", ""),
        ("frequency", "once", "1 次", "Once", ""),
        ("frequency", "two_three", "2–3 次", "2–3 times", ""),
        ("frequency", "four_plus", "4 次及以上", "4 times or more", "高频复购"),
        ("purchase_channel", "online", "线上商城", "Online shop", ""),
        ("purchase_channel", "store", "线下门店", "In a store", ""),
        ("purchase_channel", "sales_rep", "销售代表", "Through a sales rep", ""),
        ("purchase_channel", "distributor", "经销商", "Through a distributor", ""),
        ("info_channel", "wechat", "公众号", "WeChat official accounts", ""),
        ("info_channel", "ecommerce", "电商平台", "E-commerce platforms", ""),
        ("info_channel", "referral", "朋友推荐", "Friends' recommendations", ""),
        ("info_channel", "exhibition", "行业展会", "Trade shows", ""),
        ("info_channel", "social", "社交媒体", "Social media", ""),
    ),
)

_ALL = (NEEDS, SATISFACTION, KANO, CUSTOMER_INFO)
TEMPLATES: tuple[TemplateInfo, ...] = tuple(template.info for template in _ALL)


def template_workbook(name: str) -> bytes:
    """The template's .xlsx; raises ``KeyError`` for an unknown name."""
    template = next((t for t in _ALL if t.info.name == name), None)
    if template is None:
        raise KeyError(name)
    book = Workbook()
    survey = book.active
    assert survey is not None
    survey.title = "survey"
    survey.append(SURVEY_HEADERS)
    for row in template.survey:
        survey.append(row.cells())
    choices = book.create_sheet("choices")
    choices.append(CHOICE_HEADERS)
    for choice in template.choices:
        choices.append(choice)
    settings = book.create_sheet("settings")
    settings.append(SETTINGS_HEADERS)
    settings.append(tuple(template.settings.get(header, "") for header in SETTINGS_HEADERS))
    if template.quotas:
        quotas = book.create_sheet("quotas")
        quotas.append(QUOTA_HEADERS)
        for quota in template.quotas:
            quotas.append(quota)
    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()
