"""A safe evaluator for the XLSForm / XPath subset used in ``relevant``, ``constraint``,
``choice_filter`` and ``x_contradiction``: tokenizer, recursive-descent parser to a small AST,
and an evaluator with XPath 1.0 value semantics. Nothing is ever handed to ``eval``."""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache

from crm.surveys.form import Answer
from crm.texts import Text

MAX_SOURCE_LENGTH = 2_000
MAX_DEPTH = 40  # nesting of parentheses, calls and unary minus
MAX_TREE_DEPTH = 120  # depth of the finished tree (long operator chains nest too)
MAX_REGEX_SUBJECT = 200  # characters of the value ``regex()`` looks at
MAX_REGEX_PATTERN = 300
MAX_REGEX_GROUPS = 20

Value = bool | float | str


class ExpressionError(ValueError):
    """The expression cannot be parsed; ``position`` is the 0-based character offset."""

    def __init__(self, message: Text, position: int) -> None:
        super().__init__(message.key)
        self.message = message
        self.position = position


# --- tokens -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Token:
    kind: str  # ref, current, number, string, name, op, lparen, rparen, comma, end
    text: str
    position: int


_NAME = r"[^\W\d][\w.\-]*"
_TOKEN_PATTERNS = (
    ("space", r"\s+"),
    ("ref", r"\$\{\s*(" + _NAME + r")\s*\}"),
    ("number", r"\d+(?:\.\d*)?|\.\d+"),
    ("current", r"\.(?![\w.])"),
    ("string", r"'[^']*'|\"[^\"]*\""),
    ("name", _NAME),
    ("op", r"!=|<=|>=|[=<>+\-*]"),
    ("lparen", r"\("),
    ("rparen", r"\)"),
    ("comma", r","),
)
_TOKEN_RE = re.compile("|".join(f"(?P<{kind}>{pattern})" for kind, pattern in _TOKEN_PATTERNS))
_REF_NAME_RE = re.compile(r"\$\{\s*(" + _NAME + r")\s*\}")


def _tokens(source: str) -> Iterator[Token]:
    position = 0
    while position < len(source):
        match = _TOKEN_RE.match(source, position)
        if match is None:
            raise _lexical_error(source, position)
        kind = match.lastgroup or ""
        if kind != "space":
            yield Token(kind, match.group(), position)
        position = match.end()
    yield Token("end", "", len(source))


def _lexical_error(source: str, position: int) -> ExpressionError:
    char = source[position]
    if char in "'\"":
        return ExpressionError(Text("form.expression.unterminated_string"), position)
    if source.startswith("${", position):
        return ExpressionError(Text("form.expression.bad_reference"), position)
    return ExpressionError(
        Text("form.expression.unexpected_character", {"character": char}), position
    )


# --- the tree ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Literal:
    value: Value


@dataclass(frozen=True)
class Reference:
    name: str  # ${name}: an answer


@dataclass(frozen=True)
class Current:
    """``.``: the answer being checked by a constraint."""


@dataclass(frozen=True)
class Column:
    name: str  # a bare name: a column of the choice being filtered


@dataclass(frozen=True)
class Negate:
    operand: Expression


@dataclass(frozen=True)
class Binary:
    operator: str
    left: Expression
    right: Expression


@dataclass(frozen=True)
class Call:
    function: str
    arguments: tuple[Expression, ...]


Expression = Literal | Reference | Current | Column | Negate | Binary | Call


# Arity of each function: (minimum, maximum or None for any number).
FUNCTIONS: Mapping[str, tuple[int, int | None]] = {
    "not": (1, 1),
    "selected": (2, 2),
    "count-selected": (1, 1),
    "string-length": (1, 1),
    "number": (1, 1),
    "int": (1, 1),
    "round": (1, 2),
    "if": (3, 3),
    "true": (0, 0),
    "false": (0, 0),
    "concat": (1, None),
    "contains": (2, 2),
    "coalesce": (2, 2),
    "regex": (2, 2),
}

_LEVELS: tuple[frozenset[str], ...] = (
    frozenset({"or"}),
    frozenset({"and"}),
    frozenset({"=", "!="}),
    frozenset({"<", "<=", ">", ">="}),
    frozenset({"+", "-"}),
    frozenset({"*", "div", "mod"}),
)
_WORD_OPERATORS = frozenset({"or", "and", "div", "mod"})


# --- parser -----------------------------------------------------------------------------------


class _Parser:
    def __init__(self, source: str) -> None:
        self._tokens = list(_tokens(source))
        self._index = 0
        self._depth = 0

    def parse(self) -> Expression:
        if self._peek().kind == "end":
            raise ExpressionError(Text("form.expression.empty"), 0)
        tree = self._binary(0)
        token = self._peek()
        if token.kind != "end":
            raise _unexpected(token)
        if _tree_depth(tree) > MAX_TREE_DEPTH:
            raise ExpressionError(Text("form.expression.too_deep", {"limit": MAX_TREE_DEPTH}), 0)
        return tree

    def _peek(self) -> Token:
        return self._tokens[self._index]

    def _advance(self) -> Token:
        token = self._tokens[self._index]
        self._index += 1
        return token

    def _expect(self, kind: str) -> Token:
        token = self._peek()
        if token.kind != kind:
            raise _unexpected(token)
        return self._advance()

    def _enter(self, token: Token) -> None:
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise ExpressionError(
                Text("form.expression.too_deep", {"limit": MAX_DEPTH}), token.position
            )

    def _operator_at(self, level: int) -> str | None:
        token = self._peek()
        operator = token.text if token.kind in ("op", "name") else None
        if operator is not None and operator in _LEVELS[level]:
            return operator
        return None

    def _binary(self, level: int) -> Expression:
        if level == len(_LEVELS):
            return self._unary()
        left = self._binary(level + 1)
        while (operator := self._operator_at(level)) is not None:
            self._advance()
            left = Binary(operator, left, self._binary(level + 1))
        return left

    def _unary(self) -> Expression:
        token = self._peek()
        if token.kind == "op" and token.text == "-":
            self._advance()
            self._enter(token)
            operand = self._unary()
            self._depth -= 1
            return Negate(operand)
        return self._primary()

    def _primary(self) -> Expression:
        token = self._advance()
        if token.kind == "number":
            return Literal(float(token.text))
        if token.kind == "string":
            return Literal(token.text[1:-1])
        if token.kind == "ref":
            return Reference(_ref_name(token.text))
        if token.kind == "current":
            return Current()
        if token.kind == "lparen":
            self._enter(token)
            inner = self._binary(0)
            self._expect("rparen")
            self._depth -= 1
            return inner
        if token.kind == "name" and token.text not in _WORD_OPERATORS:
            if self._peek().kind == "lparen":
                return self._call(token)
            return Column(token.text)
        raise _unexpected(token)

    def _call(self, name: Token) -> Call:
        if name.text not in FUNCTIONS:
            raise ExpressionError(
                Text(
                    "form.expression.unknown_function",
                    {"name": name.text, "functions": ", ".join(FUNCTIONS)},
                ),
                name.position,
            )
        self._enter(self._expect("lparen"))
        arguments = self._arguments()
        self._depth -= 1
        _check_arity(name, arguments)
        return Call(name.text, arguments)

    def _arguments(self) -> tuple[Expression, ...]:
        if self._peek().kind == "rparen":
            self._advance()
            return ()
        arguments = [self._binary(0)]
        while self._peek().kind == "comma":
            self._advance()
            arguments.append(self._binary(0))
        self._expect("rparen")
        return tuple(arguments)


def _ref_name(text: str) -> str:
    match = _REF_NAME_RE.fullmatch(text)
    return match.group(1) if match else text


def _unexpected(token: Token) -> ExpressionError:
    if token.kind == "end":
        return ExpressionError(Text("form.expression.unexpected_end"), token.position)
    return ExpressionError(
        Text("form.expression.unexpected_token", {"token": token.text}), token.position
    )


def _check_arity(name: Token, arguments: tuple[Expression, ...]) -> None:
    least, most = FUNCTIONS[name.text]
    if least <= len(arguments) and (most is None or len(arguments) <= most):
        if name.text == "regex":
            _check_pattern(arguments[1], name.position)
        return
    expected = str(least) if least == most else f"{least}+" if most is None else f"{least}-{most}"
    raise ExpressionError(
        Text(
            "form.expression.arity",
            {"name": name.text, "expected": expected, "given": len(arguments)},
        ),
        name.position,
    )


# A group that repeats and holds a repetition itself, like (a+)+: catastrophic backtracking.
_NESTED_QUANTIFIER = re.compile(r"\((?:[^()\\]|\\.)*[+*}](?:[^()\\]|\\.)*\)\s*[+*{]")


def _too_complex(pattern: str) -> bool:
    if len(pattern) > MAX_REGEX_PATTERN or pattern.count("(") > MAX_REGEX_GROUPS:
        return True
    return _NESTED_QUANTIFIER.search(pattern) is not None


def _check_pattern(pattern: Expression, position: int) -> None:
    if not isinstance(pattern, Literal) or not isinstance(pattern.value, str):
        raise ExpressionError(Text("form.expression.regex_literal"), position)
    if _too_complex(pattern.value):
        raise ExpressionError(Text("form.expression.regex_risky"), position)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "possible nested set" and the like
            re.compile(pattern.value)
    except (re.error, RecursionError, OverflowError):
        raise ExpressionError(Text("form.expression.regex_invalid"), position) from None


def _children(node: Expression) -> tuple[Expression, ...]:
    if isinstance(node, Negate):
        return (node.operand,)
    if isinstance(node, Binary):
        return (node.left, node.right)
    if isinstance(node, Call):
        return node.arguments
    return ()


def _tree_depth(tree: Expression) -> int:
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in _children(node))
    return deepest


def _walk(tree: Expression) -> Iterator[Expression]:
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(_children(node))


# --- public parsing API ------------------------------------------------------------------------


@lru_cache(maxsize=1024)
def parse(source: str) -> Expression:
    """The tree of ``source``; raises ``ExpressionError`` with the offending position."""
    if len(source) > MAX_SOURCE_LENGTH:
        raise ExpressionError(
            Text("form.expression.too_long", {"limit": MAX_SOURCE_LENGTH}), MAX_SOURCE_LENGTH
        )
    return _Parser(source).parse()


def references(source: str) -> frozenset[str]:
    """The question names ``source`` refers to as ``${name}``."""
    return frozenset(node.name for node in _walk(parse(source)) if isinstance(node, Reference))


def columns_used(source: str) -> frozenset[str]:
    """The bare names in ``source`` (choice-sheet columns in a ``choice_filter``)."""
    return frozenset(node.name for node in _walk(parse(source)) if isinstance(node, Column))


def uses_current(source: str) -> bool:
    return any(isinstance(node, Current) for node in _walk(parse(source)))


# --- values -----------------------------------------------------------------------------------

_NUMBER_TEXT = re.compile(r"\s*-?(?:\d+(?:\.\d*)?|\.\d+)\s*")


def to_number(value: Value) -> float:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, float):
        return value
    return float(value) if _NUMBER_TEXT.fullmatch(value) else math.nan


def to_string(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return format_number(value)


def format_number(number: float) -> str:
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    if number == int(number) and abs(number) < 1e15:
        return str(int(number))
    return repr(number)


def to_boolean(value: Value) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        return value != 0 and not math.isnan(value)
    return value != ""


def answer_value(answer: Answer | None) -> str:
    """An answer as the XPath string it stands for (a missing answer is ``""``)."""
    if answer is None:
        return ""
    if isinstance(answer, tuple):
        return " ".join(answer)
    if isinstance(answer, str):
        return answer
    return format_number(float(answer))


# --- evaluation -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Scope:
    answers: Mapping[str, Answer]
    current: Answer | None
    columns: Mapping[str, str]


def evaluate(
    source: str,
    answers: Mapping[str, Answer],
    *,
    current: Answer | None = None,
    columns: Mapping[str, str] | None = None,
) -> bool | float | str:
    """The value of ``source`` given the answers so far (``.`` is ``current``, bare names are
    ``columns``)."""
    return _evaluate(parse(source), _Scope(answers, current, columns or {}))


def is_true(
    source: str,
    answers: Mapping[str, Answer],
    *,
    current: Answer | None = None,
    columns: Mapping[str, str] | None = None,
) -> bool:
    return to_boolean(evaluate(source, answers, current=current, columns=columns))


def _evaluate(node: Expression, scope: _Scope) -> Value:
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, Reference):
        return answer_value(scope.answers.get(node.name))
    if isinstance(node, Current):
        return answer_value(scope.current)
    if isinstance(node, Column):
        return scope.columns.get(node.name, "")
    if isinstance(node, Negate):
        return -to_number(_evaluate(node.operand, scope))
    if isinstance(node, Binary):
        return _binary(node, scope)
    return _FUNCTIONS[node.function](node.arguments, scope)


def _binary(node: Binary, scope: _Scope) -> Value:
    if node.operator == "or":
        return to_boolean(_evaluate(node.left, scope)) or to_boolean(_evaluate(node.right, scope))
    if node.operator == "and":
        return to_boolean(_evaluate(node.left, scope)) and to_boolean(_evaluate(node.right, scope))
    left, right = _evaluate(node.left, scope), _evaluate(node.right, scope)
    if node.operator in ("=", "!="):
        return _equals(left, right) == (node.operator == "=")
    if node.operator in ("<", "<=", ">", ">="):
        return _compare(node.operator, to_number(left), to_number(right))
    return _arithmetic(node.operator, to_number(left), to_number(right))


def _equals(left: Value, right: Value) -> bool:
    if isinstance(left, bool) or isinstance(right, bool):
        return to_boolean(left) == to_boolean(right)
    if isinstance(left, float) or isinstance(right, float):
        return to_number(left) == to_number(right)  # NaN equals nothing
    return left == right


def _compare(operator: str, left: float, right: float) -> bool:
    if operator == "<":
        return left < right
    if operator == "<=":
        return left <= right
    if operator == ">":
        return left > right
    return left >= right


def _arithmetic(operator: str, left: float, right: float) -> float:
    if operator == "+":
        return left + right
    if operator == "-":
        return left - right
    if operator == "*":
        return left * right
    if operator == "div":
        return _divide(left, right)
    return math.fmod(left, right) if right != 0 and not math.isinf(left) else math.nan


def _divide(left: float, right: float) -> float:
    if right != 0:
        return left / right
    if left == 0 or math.isnan(left):
        return math.nan
    return math.copysign(math.inf, left) * math.copysign(1.0, right)


# --- functions --------------------------------------------------------------------------------

_Arguments = tuple[Expression, ...]


def _values(arguments: _Arguments, scope: _Scope) -> list[Value]:
    return [_evaluate(argument, scope) for argument in arguments]


def _fn_not(arguments: _Arguments, scope: _Scope) -> Value:
    return not to_boolean(_evaluate(arguments[0], scope))


def _fn_selected(arguments: _Arguments, scope: _Scope) -> Value:
    chosen, wanted = (to_string(value) for value in _values(arguments, scope))
    return wanted.strip() in chosen.split()


def _fn_count_selected(arguments: _Arguments, scope: _Scope) -> Value:
    return float(len(to_string(_evaluate(arguments[0], scope)).split()))


def _fn_string_length(arguments: _Arguments, scope: _Scope) -> Value:
    return float(len(to_string(_evaluate(arguments[0], scope))))


def _fn_number(arguments: _Arguments, scope: _Scope) -> Value:
    return to_number(_evaluate(arguments[0], scope))


def _fn_int(arguments: _Arguments, scope: _Scope) -> Value:
    number = to_number(_evaluate(arguments[0], scope))
    return number if math.isnan(number) or math.isinf(number) else float(math.trunc(number))


def _fn_round(arguments: _Arguments, scope: _Scope) -> Value:
    values = _values(arguments, scope)
    number = to_number(values[0])
    digits = to_number(values[1]) if len(values) > 1 else 0.0
    if math.isnan(number) or math.isinf(number) or math.isnan(digits):
        return number
    scale = 10.0 ** max(-15, min(15, int(digits)))
    return math.floor(number * scale + 0.5) / scale


def _fn_if(arguments: _Arguments, scope: _Scope) -> Value:
    condition, when_true, when_false = arguments
    chosen = when_true if to_boolean(_evaluate(condition, scope)) else when_false
    return _evaluate(chosen, scope)


def _fn_true(arguments: _Arguments, scope: _Scope) -> Value:
    return True


def _fn_false(arguments: _Arguments, scope: _Scope) -> Value:
    return False


def _fn_concat(arguments: _Arguments, scope: _Scope) -> Value:
    return "".join(to_string(value) for value in _values(arguments, scope))


def _fn_contains(arguments: _Arguments, scope: _Scope) -> Value:
    haystack, needle = (to_string(value) for value in _values(arguments, scope))
    return needle in haystack


def _fn_coalesce(arguments: _Arguments, scope: _Scope) -> Value:
    first = _evaluate(arguments[0], scope)
    return first if to_string(first) != "" else _evaluate(arguments[1], scope)


def _fn_regex(arguments: _Arguments, scope: _Scope) -> Value:
    subject = to_string(_evaluate(arguments[0], scope))
    pattern = to_string(_evaluate(arguments[1], scope))
    if len(subject) > MAX_REGEX_SUBJECT:
        return False
    return re.fullmatch(pattern, subject) is not None


_FUNCTIONS: Mapping[str, Callable[[_Arguments, _Scope], Value]] = {
    "not": _fn_not,
    "selected": _fn_selected,
    "count-selected": _fn_count_selected,
    "string-length": _fn_string_length,
    "number": _fn_number,
    "int": _fn_int,
    "round": _fn_round,
    "if": _fn_if,
    "true": _fn_true,
    "false": _fn_false,
    "concat": _fn_concat,
    "contains": _fn_contains,
    "coalesce": _fn_coalesce,
    "regex": _fn_regex,
}
