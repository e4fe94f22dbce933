"""Open-answer keywords (jieba TF-IDF for Chinese, a plain tokenizer for English) and the
keyword → tag dictionary."""

from __future__ import annotations

import pytest

from crm.keywords import (
    DEFAULT_KEYWORD_TAGS,
    PRICE_SENSITIVE,
    QUALITY_FOCUSED,
    SERVICE_FOCUSED,
    TECH_ORIENTED,
    KeywordExtractor,
    default_extractor,
    tags_for,
)


@pytest.fixture(scope="module")
def extractor() -> KeywordExtractor:
    shared = default_extractor()
    shared.warm()
    return shared


def test_domain_words_stay_whole(extractor: KeywordExtractor) -> None:
    words = extractor.extract("希望支持私有化部署，最好能对接企业微信", top_k=10)
    assert "私有化部署" in words
    assert "企业微信" in words


def test_stop_words_and_single_characters_are_dropped(extractor: KeywordExtractor) -> None:
    words = extractor.extract("我们觉得价格太贵了，非常希望有优惠", top_k=10)
    assert "太贵" in words
    assert not {"我们", "觉得", "非常", "希望", "了"} & set(words)


def test_english_is_lowercased_and_filtered(extractor: KeywordExtractor) -> None:
    words = extractor.extract("The PRICE is too high and the API is slow, ok?", top_k=10)
    assert "price" in words
    assert "api" in words
    assert "slow" in words
    assert not {"the", "is", "too", "and", "ok"} & set(words)


def test_mixed_text_yields_both_languages(extractor: KeywordExtractor) -> None:
    words = extractor.extract("售后响应太慢 support tickets wait days", top_k=10)
    assert "售后响应" in words
    assert "support" in words


def test_weights_are_positive_and_sorted(extractor: KeywordExtractor) -> None:
    pairs = extractor.weighted("价格太贵，售后服务一般，价格需要调整", top_k=5)
    weights = [weight for _, weight in pairs]
    assert all(weight > 0 for weight in weights)
    assert weights == sorted(weights, reverse=True)
    assert len(pairs) <= 5


def test_top_sums_weights_over_texts(extractor: KeywordExtractor) -> None:
    texts = ["价格太贵", "太贵了，买不起", "售后服务不错", "还是太贵", "API 文档太少"]
    top = extractor.top(texts, top_k=3)
    assert top[0][0] == "太贵"
    assert len(top) == 3
    single = dict(extractor.weighted("价格太贵", top_k=10))["太贵"]
    assert top[0][1] > 3 * single * 0.99


def test_empty_and_blank_texts(extractor: KeywordExtractor) -> None:
    assert extractor.extract("") == []
    assert extractor.extract("   ，。!") == []
    assert extractor.top([]) == []


# --- tags --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("价格太贵了", {PRICE_SENSITIVE}),
        ("希望能和企业微信集成", {TECH_ORIENTED}),
        ("售后响应太慢", {SERVICE_FOCUSED}),
        ("系统经常卡顿，不太稳定", {QUALITY_FOCUSED}),
        ("价格高，而且售后不及时", {PRICE_SENSITIVE, SERVICE_FOCUSED}),
        ("Too EXPENSIVE for our budget", {PRICE_SENSITIVE}),
        ("Needs a better API and Slack integration", {TECH_ORIENTED}),
        ("Support was great", {SERVICE_FOCUSED}),
        ("Too many bugs", {QUALITY_FOCUSED}),
        ("挺好的，没什么意见", set()),
        ("", set()),
    ],
)
def test_default_dictionary(text: str, expected: set[str]) -> None:
    assert set(tags_for(text, DEFAULT_KEYWORD_TAGS)) == expected


def test_the_matched_keyword_is_reported_as_written_in_the_dictionary() -> None:
    assert tags_for("the api is slow", DEFAULT_KEYWORD_TAGS) == {TECH_ORIENTED: "API"}
    assert tags_for("Prices went up", DEFAULT_KEYWORD_TAGS) == {PRICE_SENSITIVE: "price"}


def test_english_keywords_start_at_a_word_boundary() -> None:
    assert tags_for("rapid rollout", {"api": "tech"}) == {}
    assert tags_for("rapid api", {"api": "tech"}) == {"tech": "api"}
    assert tags_for("接口API不好用", {"api": "tech"}) == {"tech": "api"}


def test_polite_gui_is_not_a_price_complaint() -> None:
    assert tags_for("贵公司的顾问很专业", DEFAULT_KEYWORD_TAGS) == {}


def test_longest_keyword_wins_at_one_position() -> None:
    dictionary = {"价格": "价格关注", "价格高": "价格敏感型"}
    assert tags_for("价格高", dictionary) == {"价格敏感型": "价格高"}


def test_custom_and_empty_dictionaries() -> None:
    dictionary = {"私有化": "大客户", "Excel": "数据导出"}
    assert tags_for("要私有化部署，并且能导出 excel", dictionary) == {
        "大客户": "私有化",
        "数据导出": "Excel",
    }
    assert tags_for("anything", {}) == {}


def test_dictionary_changes_are_seen() -> None:
    dictionary = {"交付": "交付关注"}
    assert tags_for("交付慢", dictionary) == {"交付关注": "交付"}
    dictionary["慢"] = "效率关注"
    assert tags_for("交付慢", dictionary) == {"交付关注": "交付", "效率关注": "慢"}


def test_scan_of_many_answers() -> None:
    answers = ["价格太贵，售后一般", "功能不错", "Support is slow", "没意见"] * 2_500
    counts: dict[str, int] = {}
    for answer in answers:
        for tag in tags_for(answer, DEFAULT_KEYWORD_TAGS):
            counts[tag] = counts.get(tag, 0) + 1
    assert counts == {PRICE_SENSITIVE: 2_500, SERVICE_FOCUSED: 5_000, TECH_ORIENTED: 2_500}


def test_default_dictionary_is_read_only() -> None:
    with pytest.raises(TypeError):
        DEFAULT_KEYWORD_TAGS["新词"] = "新标签"  # type: ignore[index]
