"""Text keys for search and duplicate checks: normalised text, phones, pinyin, one document of
everything searchable. Pure functions, computed when a customer is written (pypinyin manages
about 5,000-7,000 names a second, too slow to run over the table at search time)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Container, Sequence
from functools import lru_cache
from typing import NamedTuple

from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

_WHITESPACE = re.compile(r"\s+")
_WORD = re.compile(r"[^\W_]+")  # runs of letters and digits, in any script (CJK included)
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]+")
_LETTER = re.compile(r"[^\W\d_]")
_NOT_DIGIT = re.compile(r"\D")
_EXTENSION = re.compile(r"(?:ext\.?|x|#|转|分机)[\s.:]*(\d*)\s*$")

MIN_PHONE_DIGITS = 5
MAX_PHONE_DIGITS = 15  # E.164

_CN_LEGAL_SUFFIXES = ("股份有限公司", "有限责任公司", "有限公司", "集团", "公司")
_EN_LEGAL_WORDS = frozenset(
    {"co", "ltd", "limited", "inc", "incorporated", "llc", "corp", "corporation", "company"}
)

# Surnames read differently from the character's everyday reading (单 shan, not dan).
# Compound surnames first.
_SURNAME_READINGS: dict[str, tuple[str, ...]] = {
    "长孙": ("zhang", "sun"),
    "尉迟": ("yu", "chi"),
    "万俟": ("mo", "qi"),
    "单于": ("chan", "yu"),
    "单": ("shan",),
    "曾": ("zeng",),
    "解": ("xie",),
    "仇": ("qiu",),
    "区": ("ou",),
    "查": ("zha",),
    "朴": ("piao",),
    "乐": ("yue",),
    "覃": ("qin",),
    "缪": ("miao",),
    "翟": ("zhai",),
    "盖": ("ge",),
    "尉": ("yu",),
    "种": ("chong",),
    "繁": ("po",),
    "员": ("yun",),
    "秘": ("bi",),
    "冼": ("xian",),
    "黑": ("he",),
    "召": ("shao",),
}


def normalize_text(text: str) -> str:
    """NFKC (full-width letters, digits and spaces become ordinary ones), case-folded, runs of
    whitespace collapsed to one space, stripped."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _WHITESPACE.sub(" ", folded).strip()


def compact_key(text: str) -> str:
    """``normalize_text`` keeping only letters and digits: "Acme Trading Co." → "acmetradingco"."""
    return "".join(_WORD.findall(normalize_text(text)))


def has_han(text: str) -> bool:
    return _HAN.search(text) is not None


# --- phones -------------------------------------------------------------------------------


def normalize_phone(raw: str) -> str | None:
    """Digits as they are dialled at home: "+86 139-1234-5678", "(0086)13912345678" and
    "１３９１２３４５６７８" all become "13912345678"; "+86 10 6552 1234" becomes the landline
    "01065521234"; other countries keep their code with a leading "+" ("+14155550100").
    An extension ("ext 12", "x12", "转12", "#12") is dropped. ``None`` for fewer than 5 digits,
    more than 15, or letters that are not an extension marker."""
    if raw.isdigit() and raw.isascii():  # the usual cell: digits only
        return _dialled(raw, international=False)
    text = normalize_text(raw)
    if not text:
        return None
    extension = _EXTENSION.search(text)
    if extension is not None and extension.start() > 0:
        text = text[: extension.start()]
    if _LETTER.search(text):
        return None
    digits = _NOT_DIGIT.sub("", text)
    if not digits.isascii():  # digits of other scripts (NFKC already made full-width ASCII)
        digits = "".join(str(unicodedata.decimal(char)) for char in digits)
    return _dialled(digits, international=text.lstrip("( ").startswith("+"))


def _dialled(digits: str, *, international: bool) -> str | None:
    if not international and digits.startswith("00"):
        international, digits = True, digits[2:]
    if international:
        if digits.startswith("86"):
            digits = _chinese_national(digits[2:])
        elif digits:
            digits = "+" + digits
    elif len(digits) == 13 and digits.startswith("861"):  # 86 typed without + or 00
        digits = digits[2:]
    count = len(digits) - digits.startswith("+")
    if count < MIN_PHONE_DIGITS or count > MAX_PHONE_DIGITS:
        return None
    return digits


def _chinese_national(number: str) -> str:
    """A Chinese number after +86: mobiles (11 digits from 1) and 400/800 service numbers stay
    as they are; a landline gets back the trunk 0 before its area code (10 → 010)."""
    if number.startswith("0") or (len(number) == 11 and number.startswith("1")):
        return number
    if number.startswith(("400", "800")) and len(number) == 10:
        return number
    return "0" + number


def mask_phone(phone: str) -> str:
    """Show the first 3 and last 4 digits, mask the rest ("139****5678"); never more than 7
    digits are shown. Numbers of 7 digits or fewer show only their last 2."""
    prefix = "+" if phone.strip().startswith("+") else ""
    digits = [char for char in phone if char.isdigit()]
    count = len(digits)
    if count == 0:
        return prefix
    if count <= 7:
        shown = 2 if count > 2 else 0
        return prefix + "*" * (count - shown) + "".join(digits[count - shown :])
    return prefix + "".join(digits[:3]) + "*" * (count - 7) + "".join(digits[-4:])


def phone_tail_key(phone: str) -> str:
    """The digits reversed, so that "ends with 5678" becomes an index-friendly prefix search
    (``phone_reversed LIKE '8765%'``)."""
    digits = phone.removeprefix("+")
    if digits.isascii() and digits.isdigit():  # a normalised phone: the usual case
        return digits[::-1]
    return "".join(char for char in reversed(phone) if char.isdigit())


# --- pinyin -------------------------------------------------------------------------------


class NameKeys(NamedTuple):
    """(A tuple: an import makes two for each of 100,000 rows, and a tuple is made several
    times faster than a frozen dataclass.)"""

    key: str  # normalised letters and digits only: equality and substring search
    pinyin: str  # toneless full pinyin, Latin words kept: "huaxinkeji", "acmetrading"
    initials: str  # first letter of each syllable or word: "hxkj", "at"


@lru_cache(maxsize=8192)  # a customer's keys and its search document ask for the same name
def name_keys(name: str) -> NameKeys:
    """Search keys of a name. Chinese goes through pypinyin with its phrase dictionary, so
    polyphones read in context (长沙 → changsha, 重庆 → chongqing); Latin words and digits
    are kept as they are ("Acme Trading" → "acmetrading", initials "at")."""
    return _keys_of_words(compact_words(name))


def _keys_of_words(words: Sequence[str]) -> NameKeys:
    return _keys_of(words, _syllables(words))


def _keys_of(words: Sequence[str], syllables: list[str]) -> NameKeys:
    return NameKeys("".join(words), "".join(syllables), "".join([s[0] for s in syllables]))


def compact_words(text: str) -> list[str]:
    return _WORD.findall(normalize_text(text))


def person_pinyins(name: str) -> list[NameKeys]:
    """Keys of a person's name: the everyday reading, plus the surname reading when the name
    starts with a surname read differently as a surname (单田芳: dantianfang and shantianfang)."""
    return list(_person_keys(name))


@lru_cache(maxsize=65536)  # contact names repeat: 王伟, 李娜 ...
def _person_keys(name: str) -> tuple[NameKeys, ...]:
    keys = name_keys(name)
    for surname, reading in _SURNAME_READINGS.items():
        if keys.key.startswith(surname) and len(keys.key) > len(surname):
            rest = name_keys(keys.key[len(surname) :])
            alternative = NameKeys(
                key=keys.key,
                pinyin="".join(reading) + rest.pinyin,
                initials="".join(syllable[0] for syllable in reading) + rest.initials,
            )
            return (keys,) if alternative == keys else (keys, alternative)
    return (keys,)


def _syllables(words: Sequence[str]) -> list[str]:
    """Pinyin syllables of Chinese runs and the other letter/digit runs as they are."""
    syllables: list[str] = []
    for word in words:
        if word.isascii():
            syllables.append(word)
            continue
        position = 0
        for han in _HAN.finditer(word):
            if han.start() > position:
                syllables.append(word[position : han.start()])
            parts = _pinyin(han.group())
            syllables.extend(parts if all(parts) else [part for part in parts if part])
            position = han.end()
        if position < len(word):
            syllables.append(word[position:])
    return syllables


@lru_cache(maxsize=65536)
def _pinyin(han: str) -> tuple[str, ...]:
    """Toneless syllables of a run of Chinese characters: what ``pypinyin.lazy_pinyin`` gives
    (its phrase dictionary reads polyphones in context), several times faster."""
    return _PinyinConverter.get().convert(han)


class _PinyinConverter:
    """``lazy_pinyin(han)`` cuts a run into the longest dictionary phrases, left to right
    (pypinyin's ``mmseg.seg``), then converts each phrase or character by itself. The cut is
    done here with plain set look-ups (pypinyin's goes through a method call per prefix), and
    each phrase is converted once and remembered: "上海", "科技" and "有限公司" recur in
    thousands of names. A run pypinyin would split first (a character outside its ranges) goes
    the plain way. ``tests/unit/test_text.py`` checks the results against ``lazy_pinyin``."""

    _instance: _PinyinConverter | None = None

    def __init__(self) -> None:
        # pypinyin loads its dictionaries when imported (about 0.3 s): only when first needed
        from pypinyin import Style, lazy_pinyin
        from pypinyin.constants import PHRASES_DICT, RE_HANS
        from pypinyin.seg import mmseg

        def plain(text: str) -> tuple[str, ...]:
            return tuple(syllable.casefold() for syllable in lazy_pinyin(text, Style.NORMAL))

        self._plain = plain
        self._word = lru_cache(maxsize=131072)(plain)
        self._phrases: Container[str] = PHRASES_DICT
        prefixes = getattr(mmseg.p_set, "_set", None)
        self._prefixes: Container[str] | None = prefixes if isinstance(prefixes, set) else None
        self._hans = RE_HANS

    @classmethod
    def get(cls) -> _PinyinConverter:
        if cls._instance is None:
            cls._instance = cls()
        return cls._instance

    def convert(self, han: str) -> tuple[str, ...]:
        if self._prefixes is None or not self._hans.match(han):
            return self._plain(han)
        word = self._word
        syllables: list[str] = []
        for part in self._cut(han, self._prefixes):
            syllables += word(part)
        return tuple(syllables)

    def _cut(self, text: str, prefixes: Container[str]) -> list[str]:
        """pypinyin's ``mmseg.seg.cut`` (``no_non_phrases=True``): at each position the longest
        dictionary phrase, else one character; when the rest of the text is a prefix of some
        phrase but holds none, its characters one by one."""
        phrases = self._phrases
        parts: list[str] = []
        start, length = 0, len(text)
        while start < length:
            stop = start + 1
            end = start + 2  # one character is a part anyway (and the prefix of any longer)
            while end <= length:
                candidate = text[start:end]
                if candidate not in prefixes:
                    break
                if candidate in phrases:
                    stop = end
                end += 1
            else:
                if stop == start + 1 and text[start:stop] not in phrases:
                    parts.extend(text[start:])
                    return parts
            parts.append(text[start:stop])
            start = stop
        return parts


# --- the search document ------------------------------------------------------------------


def search_document(
    name: str,
    code: str,
    contacts: Sequence[tuple[str, str | None]],
    tags: Sequence[str],
) -> str:
    """Everything a customer can be found by, normalised, space separated, each part once:
    name, its compact key, pinyin and initials (of the name without its legal form), contact
    names (with their pinyin and initials), contact phone digits, tag names, and the code last.
    Stored in ``customers.search_text``."""
    return with_code(document_without_code(name, contacts, tags), code)


def with_code(document: str, code: str) -> str:
    """``search_document`` from ``document_without_code``: an import computes the rest before
    its new customers get their codes."""
    part = normalize_text(code)
    if not part or part in document.split(" "):
        return document
    return f"{document} {part}" if document else part


def document_without_code(
    name: str, contacts: Sequence[tuple[str, str | None]], tags: Sequence[str]
) -> str:
    name_text = normalize_text(name)
    words = _WORD.findall(name_text)
    keys = name_keys(name)  # remembered: the caller has usually just asked for it
    return _document(name_text, words, keys, contacts, tags)


def keys_and_document(
    name: str, contacts: Sequence[tuple[str, str | None]], tags: Sequence[str]
) -> tuple[NameKeys, str]:
    """``name_keys(name)`` and ``document_without_code(name, contacts, tags)`` at once, for
    contacts whose phones are normalised (``normalize_phone``) already: an import computes
    both for every row, mostly of names seen once."""
    name_text = normalize_text(name)
    words = _WORD.findall(name_text)
    syllables = _syllables(words)
    keys = _keys_of(words, syllables)
    core = _core_keys(words, syllables, keys)
    phones = [phone for _, phone in contacts]
    return keys, _joined(name_text, keys, core, contacts, phones, tags)


def _document(
    name_text: str,
    words: list[str],
    keys: NameKeys,
    contacts: Sequence[tuple[str, str | None]],
    tags: Sequence[str],
) -> str:
    core = _core_keys(words, None, keys)
    phones = [normalize_phone(phone) if phone else None for _, phone in contacts]
    return _joined(name_text, keys, core, contacts, phones, tags)


def _joined(
    name_text: str,
    keys: NameKeys,
    core: NameKeys,
    contacts: Sequence[tuple[str, str | None]],
    phones: Sequence[str | None],  # the contacts' phones, normalised
    tags: Sequence[str],
) -> str:
    parts = [name_text, keys.key, core.pinyin, core.initials]
    for (contact_name, _), phone in zip(contacts, phones, strict=True):
        parts += _person_parts(contact_name)
        if phone:
            parts.append(phone.lstrip("+"))
    parts += [normalize_text(tag) for tag in tags]
    unique = dict.fromkeys(parts)  # each once, in order
    unique.pop("", None)
    return " ".join(unique)


def _core_keys(words: list[str], syllables: list[str] | None, keys: NameKeys) -> NameKeys:
    """Keys of the name without its legal form. Nobody types "youxiangongsi" or "yxgs", and in
    every document those would only make the index slower."""
    core_words = _without_legal_form(words)
    if not core_words or core_words == words:
        return keys
    if syllables is not None:
        tail = _legal_tail(words, core_words)
        if tail is not None:  # the core's syllables are the name's, less the legal form's
            return _keys_of(core_words, syllables[: len(syllables) - _syllable_count(tail)])
    return _keys_of_words(core_words)


@lru_cache(maxsize=1024)  # a legal form's words: a handful
def _syllable_count(words: tuple[str, ...]) -> int:
    return len(_syllables(words))


def _legal_tail(words: list[str], core_words: list[str]) -> tuple[str, ...] | None:
    """The words the legal form took off the name, when they are read apart from the core
    (the cut is not inside a run of Chinese characters, which is read as a whole)."""
    count = len(core_words)
    last, whole = core_words[-1], words[count - 1]
    if core_words[:-1] != words[: count - 1] or not whole.startswith(last):
        return None
    cut = len(last)
    if cut < len(whole) and _HAN.match(whole[cut - 1]) and _HAN.match(whole[cut]):
        return None
    return (whole[cut:], *words[count:]) if cut < len(whole) else tuple(words[count:])


@lru_cache(maxsize=65536)
def _person_parts(name: str) -> tuple[str, ...]:
    parts = [normalize_text(name)]
    for person in _person_keys(name):
        parts += [person.key, person.pinyin, person.initials]
    return tuple(parts)


# --- duplicates ---------------------------------------------------------------------------


def legal_core(name: str) -> str:
    """The compact key without legal-form endings: "华信科技有限公司" → "华信科技",
    "Acme Trading Co., Ltd." → "acmetrading". Falls back to the whole key if nothing is left."""
    return "".join(core_words(name)) or "".join(compact_words(name))


def core_words(name: str) -> list[str]:
    """The name's words (letter and digit runs, normalised) without legal-form endings;
    empty when the name is nothing but a legal form."""
    return _without_legal_form(compact_words(name))


def _without_legal_form(name_words: Sequence[str]) -> list[str]:
    words = list(name_words)
    if _EN_LEGAL_WORDS.issuperset(words):
        return []
    while words[-1] in _EN_LEGAL_WORDS:
        words.pop()
    last = words[-1]
    stripped = last.endswith(_CN_LEGAL_SUFFIXES)
    if not stripped:
        return words
    while stripped:
        stripped = False
        for suffix in _CN_LEGAL_SUFFIXES:
            if last.endswith(suffix) and len(last) > len(suffix):
                last = last[: -len(suffix)]
                stripped = True
                break
    if last in _CN_LEGAL_SUFFIXES and len(words) == 1:
        return []
    return [*words[:-1], last]


def names_look_alike(a: str, b: str) -> bool:
    """Whether a new customer's name may be a duplicate of an existing one: the same once
    legal forms are dropped, the same pinyin (a homophone typo: 华信 / 华新), or a near miss
    (rapidfuzz ratio ≥ 85, or one edit on names of 4 or more characters)."""
    core_a, core_b = legal_core(a), legal_core(b)
    if not core_a or not core_b:
        return False
    if core_a == core_b:
        return True
    pinyin_a, pinyin_b = name_keys(core_a).pinyin, name_keys(core_b).pinyin
    if pinyin_a and pinyin_a == pinyin_b:
        return True
    if fuzz.ratio(core_a, core_b) >= 85:
        return True
    return (
        min(len(core_a), len(core_b)) >= 4
        and Levenshtein.distance(core_a, core_b, score_cutoff=1) <= 1
    )
