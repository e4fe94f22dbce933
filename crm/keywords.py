"""Keywords in open answers (Chinese, English, or both mixed) and the keyword → tag dictionary
that turns "价格太贵" into the customer tag 价格敏感型.

Chinese goes through jieba's TF-IDF (its dictionary and IDF table ship inside the package;
nothing is downloaded); English through a plain tokenizer (lowercase, words of ≥ 3 letters, minus
stop words), both weighted together as TF-IDF. Loading jieba costs 1-2 s: call ``warm()`` at
start-up, not on the first user message. ``jieba.add_word`` is process-wide: the domain words
(私有化部署, 企业微信, ...) are kept whole for every jieba user in the process."""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import Any

PRICE_SENSITIVE = "价格敏感型"
TECH_ORIENTED = "技术偏好型"
SERVICE_FOCUSED = "服务关注型"
QUALITY_FOCUSED = "品质关注型"

# From the seed documents (客户标签: 价格敏感型, 技术偏好型; feedback such as "价格高",
# "功能需优化", "售后响应速度慢", "质量不稳定"). A lone 贵 is left out on purpose: 贵公司 / 贵司
# is the polite "your company", not a complaint about price.
DEFAULT_KEYWORD_TAGS: Mapping[str, str] = MappingProxyType({
    **dict.fromkeys(
        (
            "价格高", "价格贵", "太贵", "很贵", "偏贵", "较贵", "昂贵", "价格", "便宜", "预算",
            "性价比", "优惠", "折扣", "报价", "费用", "成本",
            "price", "pricing", "expensive", "cheap", "budget", "discount", "cost",
        ),
        PRICE_SENSITIVE,
    ),
    **dict.fromkeys(
        (
            "功能", "技术", "集成", "接口", "API", "定制", "私有化部署", "企业微信", "自动化",
            "数据导出", "feature", "integration", "customization", "customisation", "customize",
            "automation",
        ),
        TECH_ORIENTED,
    ),
    **dict.fromkeys(
        (
            "服务", "售后", "响应", "客服", "培训", "配送", "support", "service", "response",
            "training", "delivery",
        ),
        SERVICE_FOCUSED,
    ),
    **dict.fromkeys(
        (
            "质量", "稳定", "故障", "卡顿", "安全", "bug", "quality", "stable", "unstable",
            "stability", "crash", "reliable", "reliability",
        ),
        QUALITY_FOCUSED,
    ),
})  # fmt: skip

# Domain words jieba should keep whole (its dictionary would split most of them).
DOMAIN_WORDS: tuple[str, ...] = (
    "价格高", "价格贵", "太贵", "性价比", "私有化部署", "企业微信", "售后服务", "售后响应",
    "响应速度", "技术支持", "数据导出", "功能需优化", "配送时效", "客户画像", "定制化",
)  # fmt: skip

_ENGLISH_STOP_TEXT = """
    a about above after again against all also am an and any are aren't as at be because been
    before being below between both but by can can't cannot could did didn't do does doesn't
    doing don't down during each few for from further get got had has have having he her here
    hers herself him himself his how i if in into is isn't it it's its itself just let me more
    most much my myself need no nor not now of off on once only or other our ours ourselves out
    over own please really same she should so some still such than that the their theirs them
    themselves then there these they this those through too under until up very via want was
    we well were what when where which while who whom why will with would you your yours
    yourself yourselves"""
ENGLISH_STOP_WORDS = frozenset(_ENGLISH_STOP_TEXT.split())

_CHINESE_STOP_TEXT = """
    我们 你们 他们 她们 它们 这个 那个 这些 那些 一个 一些 没有 不是 就是 还是 但是 而且
    因为 所以 如果 可以 可能 应该 觉得 感觉 希望 非常 比较 有点 一点 目前 现在 已经 还有
    其他 其它 什么 怎么 这样 那样 之后 之前 然后 以及 或者 需要 一下 方面 问题 时候 东西
    比如 不过 自己 这里 那里 总体 整体 挺好 很多 更加 一直 不错"""
CHINESE_STOP_WORDS = frozenset(_CHINESE_STOP_TEXT.split())

_ENGLISH_WORD = re.compile(r"[a-z][a-z']*[a-z]")
_LATIN = re.compile(r"[A-Za-z][A-Za-z'\-]*")
_HAS_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_MIN_ENGLISH_LETTERS = 3


class KeywordExtractor:
    """Keywords of open answers. Thread-safe after ``warm()``; loads lazily otherwise."""

    def __init__(
        self,
        user_words: Iterable[str] = DOMAIN_WORDS,
        stop_words: Iterable[str] = ENGLISH_STOP_WORDS | CHINESE_STOP_WORDS,
    ) -> None:
        self._user_words = tuple(user_words)
        self._stop_words = frozenset(stop_words)
        self._tfidf: Any = None
        self._lock = threading.Lock()

    def warm(self) -> None:
        """Load jieba's dictionary and IDF table now (1-2 s) instead of on first use."""
        self._engine()

    def extract(self, text: str, top_k: int = 5) -> list[str]:
        return [word for word, _ in self.weighted(text, top_k)]

    def weighted(self, text: str, top_k: int = 5) -> list[tuple[str, float]]:
        """The ``top_k`` keywords of one text with their TF-IDF weights, heaviest first:
        count × IDF / number of kept words, as ``jieba.analyse.extract_tags`` computes it, with
        the English words counted alongside (at jieba's IDF, or its median for unknown ones)."""
        words = self._chinese_words(text) + self._english_words(text)
        if not words:
            return []
        engine = self._engine()
        idf, default_idf, total = engine.idf_freq, engine.median_idf, len(words)
        weights = [
            (word, float(idf.get(word, default_idf)) * count / total)
            for word, count in Counter(words).items()
        ]
        weights.sort(key=lambda pair: (-pair[1], pair[0]))
        return weights[:top_k]

    def top(self, texts: Sequence[str], top_k: int = 20) -> list[tuple[str, float]]:
        """Keywords over many answers: each text's weights summed, heaviest first."""
        totals: defaultdict[str, float] = defaultdict(float)
        for text in texts:
            for word, weight in self.weighted(text, top_k=max(top_k, 10)):
                totals[word] += weight
        ranked = sorted(totals.items(), key=lambda pair: (-pair[1], pair[0]))
        return ranked[:top_k]

    def _engine(self) -> Any:
        engine = self._tfidf
        if engine is not None:
            return engine
        with self._lock:
            if self._tfidf is None:
                self._tfidf = _load_tfidf(self._user_words)
            return self._tfidf

    def _chinese_words(self, text: str) -> list[str]:
        if not _HAS_HAN.search(text):
            return []
        han_only = _LATIN.sub(" ", text)
        words = self._engine().tokenizer.cut(han_only)
        return [word for word in words if _is_keyword(word, self._stop_words)]

    def _english_words(self, text: str) -> list[str]:
        return [
            word
            for word in _ENGLISH_WORD.findall(text.lower())
            if len(word) >= _MIN_ENGLISH_LETTERS and word not in self._stop_words
        ]


def _is_keyword(word: str, stop_words: frozenset[str]) -> bool:
    """At least two characters, one of them Han, and not a stop word."""
    return len(word) >= 2 and word not in stop_words and _HAS_HAN.search(word) is not None


def _load_tfidf(user_words: Sequence[str]) -> Any:
    """jieba's TF-IDF (its tokenizer and IDF table), with the domain words added."""
    import jieba
    import jieba.analyse

    jieba.setLogLevel(logging.WARNING)  # its "Building prefix dict" lines go to stderr
    jieba.initialize()
    for word in user_words:
        jieba.add_word(word)
    return jieba.analyse.TFIDF()


_default: KeywordExtractor | None = None
_default_lock = threading.Lock()


def default_extractor() -> KeywordExtractor:
    """One shared extractor for the process (jieba's dictionary is process-wide anyway)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = KeywordExtractor()
        return _default


# --- keyword → tag dictionary -------------------------------------------------------------


def tags_for(text: str, dictionary: Mapping[str, str]) -> dict[str, str]:
    """``{tag: the keyword that matched}`` for every tag one of whose keywords is in ``text``.

    Chinese keywords match as substrings; English ones case-insensitively from the start of a
    word (so "price" finds "Prices" but "api" does not find "rapid"). The dictionary is compiled
    once into a single trie-shaped pattern (leftmost, then longest keyword wins) and cached, so
    one pass over the text finds every keyword."""
    return _matcher_for(dictionary).tags(text, dictionary)


class KeywordMatcher:
    """A dictionary's keywords as one compiled pattern."""

    def __init__(self, keywords: Iterable[str]) -> None:
        self.by_lower = {keyword.lower(): keyword for keyword in keywords if keyword}
        source = _trie_pattern(self.by_lower) or r"(?!)"
        self.pattern = re.compile(source, re.IGNORECASE)

    def keywords(self, text: str) -> Iterator[str]:
        """Each keyword found, as written in the dictionary, in order of appearance."""
        search, position = self.pattern.search, 0
        while (match := search(text, position)) is not None:
            start = match.start()
            if start and _is_ascii_letter(text[start]) and _is_ascii_letter(text[start - 1]):
                position = start + 1  # inside an English word ("api" in "rapid")
                continue
            yield self.by_lower[match.group().lower()]
            position = match.end()

    def tags(self, text: str, dictionary: Mapping[str, str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for keyword in self.keywords(text):
            found.setdefault(dictionary[keyword], keyword)
        return found


def _is_ascii_letter(char: str) -> bool:
    return "a" <= char <= "z" or "A" <= char <= "Z"


def _trie_pattern(words: Iterable[str]) -> str:
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}  # a keyword ends here
    return _node_pattern(trie)


def _node_pattern(node: Mapping[str, Any]) -> str:
    branches = [
        re.escape(char) + _node_pattern(child) for char, child in sorted(node.items()) if char
    ]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    return f"(?:{body})?" if "" in node else body


# The compiled matcher of the dictionaries seen lately, by identity; a copy of the dictionary
# tells whether it changed since (or whether a new one reuses a dead one's id).
_matchers: dict[int, tuple[dict[str, str], KeywordMatcher]] = {}
_MAX_MATCHERS = 32


def _matcher_for(dictionary: Mapping[str, str]) -> KeywordMatcher:
    if dictionary is DEFAULT_KEYWORD_TAGS:
        return _DEFAULT_MATCHER
    cached = _matchers.get(id(dictionary))
    if cached is not None and cached[0] == dictionary:
        return cached[1]
    if len(_matchers) >= _MAX_MATCHERS:
        _matchers.clear()
    matcher = KeywordMatcher(dictionary)
    _matchers[id(dictionary)] = (dict(dictionary), matcher)
    return matcher


_DEFAULT_MATCHER = KeywordMatcher(DEFAULT_KEYWORD_TAGS)
