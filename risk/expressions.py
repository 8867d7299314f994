"""CEL expressions, compiled and checked (common-expression-language: the Rust CEL
implementation; no eval, and the only thing an expression can reach is the dict of facts).

What is refused at save: a syntax error (with line:column), an identifier outside the
subject's facts schema, field access (facts are flat), a function outside
ALLOWED_FUNCTIONS, comprehension macros (their nesting is where an expression's cost
could explode), and anything too long or too deep.
"""

import re
from dataclasses import dataclass

import cel

from risk.facts import FACTS_SCHEMA

MAX_LENGTH = 2000
MAX_DEPTH = 32  # brackets nested
ALLOWED_FUNCTIONS = frozenset(
    {"size", "startsWith", "endsWith", "contains", "matches", "int", "string", "has"}
)
_OPERATOR = re.compile(r"^(_.*_|!_|-_|@in|@not_strictly_false)$")
_MACRO = re.compile(r"\.\s*(all|exists|exists_one|map|filter)\s*\(")
_FIELD = re.compile(r"\.\s*([A-Za-z_]\w*)\b(?!\s*\()")  # x.name: facts are flat
_STRING = re.compile(r"'''.*?'''|\"\"\".*?\"\"\"|'(?:\\.|[^'\\])*'|\"(?:\\.|[^\"\\])*\"", re.S)


class ExpressionInvalid(ValueError):
    """A rule's expression cannot be saved; the message says where and why."""


@dataclass(frozen=True)
class Compiled:
    source: str
    program: object  # cel.Program
    variables: frozenset[str]


def expression_compile(*, source: str, subject: str) -> Compiled:
    """Compile `source` for `subject`'s facts or raise ExpressionInvalid."""
    if not source.strip():
        raise ExpressionInvalid("The expression is empty.")
    if len(source) > MAX_LENGTH:
        raise ExpressionInvalid(f"Too long: {len(source)} characters, at most {MAX_LENGTH}.")
    code = _STRING.sub('""', source)  # what is outside string literals
    depth = deepest = 0
    for char in code:
        depth += char in "([{"
        depth -= char in ")]}"
        deepest = max(deepest, depth)
    if deepest > MAX_DEPTH:
        raise ExpressionInvalid(f"Nested {deepest} deep, at most {MAX_DEPTH}.")
    macro = _MACRO.search(code)
    if macro:
        raise ExpressionInvalid(
            f"Column {macro.start() + 1}: .{macro.group(1)}() is not allowed; "
            'test a list with `"name" in partner_lists`.'
        )
    field = _FIELD.search(code)
    if field:
        raise ExpressionInvalid(
            f"Column {field.start() + 1}: .{field.group(1)}: facts are flat values, "
            "they have no fields."
        )
    try:
        program = cel.compile(source)
    except (ValueError, RuntimeError) as exc:
        raise ExpressionInvalid(_short(str(exc))) from None
    schema = FACTS_SCHEMA[subject]
    unknown = sorted(set(program.variables()) - set(schema))
    if unknown:
        raise ExpressionInvalid(
            f"Unknown fact{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} "
            f"(column {_column(source, unknown[0])}); {subject} rules may read: "
            f"{', '.join(sorted(schema))}."
        )
    functions = sorted(
        f for f in program.functions() if not _OPERATOR.match(f) and f not in ALLOWED_FUNCTIONS
    )
    if functions:
        raise ExpressionInvalid(
            f"Function{'s' if len(functions) > 1 else ''} {', '.join(functions)} not allowed; "
            f"allowed: {', '.join(sorted(ALLOWED_FUNCTIONS))}."
        )
    return Compiled(source=source, program=program, variables=frozenset(program.variables()))


def _short(message: str) -> str:
    # The parser's message: "Failed to parse expression '<all of it>': ERROR: <input>:1:9: ..."
    message = re.sub(r"^Failed to parse expression '.*?': ", "", message, count=1, flags=re.S)
    message = re.sub(r"ERROR: <input>:(\d+):(\d+): ", r"line \1, column \2: ", message)
    return message[:600]


def _column(source: str, name: str) -> int:
    found = re.search(rf"\b{re.escape(name)}\b", source)
    return found.start() + 1 if found else 1
