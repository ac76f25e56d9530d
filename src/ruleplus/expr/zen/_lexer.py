"""Tokens of the ZEN expression language (GoRules zen-engine).

Written by hand because the language is small and its lexical rules are unusual (``not in`` is
one token, template strings nest expressions, ``..`` and ``.`` share a prefix); the rules follow
zen's own lexer so that the same text splits the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

from ruleplus.errors import ExpressionSyntaxError

__all__ = ["MAX_SOURCE", "Token", "tokenize"]

MAX_SOURCE = 20_000
"""Longest expression text accepted, in characters."""

_BRACKETS = "()[]{}"
_OPERATORS = "+-*/%^,:!"
_KEYWORDS = {"and": "and", "or": "or", "in": "in"}


@dataclass(frozen=True, slots=True)
class Token:
    """One token: ``kind`` is ``num``, ``str``, ``name``, ``op``, ``bool`` or ``tpl``."""

    kind: str
    value: str
    pos: int


def _is_alpha(ch: str) -> bool:
    return ch.isalpha() or ch in "_$#"


def _is_alnum(ch: str) -> bool:
    return ch.isalnum() or ch in "_$#"


def tokenize(source: str) -> list[Token]:
    """Split ``source`` into tokens.

    Template strings become a ``tpl`` token whose value is the raw body; the parser splits it.

    Raises
    ------
    ExpressionSyntaxError
        An unknown character or an unterminated string.
    """
    if len(source) > MAX_SOURCE:
        raise ExpressionSyntaxError(
            f"expression is too long ({len(source)} characters, at most {MAX_SOURCE})"
        )
    out: list[Token] = []
    i, n = 0, len(source)
    while i < n:
        ch = source[i]
        if ch in " \t\r\n":
            i += 1
        elif ch in "'\"":
            end = source.find(ch, i + 1)
            if end < 0:
                raise ExpressionSyntaxError("unterminated string", expression=source, column=i)
            out.append(Token("str", source[i + 1 : end], i))
            i = end + 1
        elif ch == "`":
            j, depth = i + 1, 0
            while j < n and (source[j] != "`" or depth):
                if source.startswith("${", j) and depth == 0:
                    depth = 1
                    j += 2
                    continue
                if depth and source[j] == "}":
                    depth = 0
                j += 1
            out.append(Token("tpl", source[i + 1 : j], i))
            i = j + 1
        elif ch.isdigit():
            j = i + 1
            seen_dot = False
            while j < n and (source[j].isdigit() or source[j] in "_."):
                if source[j] == ".":
                    if seen_dot or source.startswith("..", j):
                        break
                    seen_dot = True
                j += 1
            if j < n and source[j] == "e":
                k = j + 1
                if k < n and source[k] in "+-":
                    k += 1
                if k < n and source[k].isdigit():
                    while k < n and source[k].isdigit():
                        k += 1
                    j = k
            out.append(Token("num", source[i:j].replace("_", ""), i))
            i = j
        elif ch in _BRACKETS:
            out.append(Token("op", ch, i))
            i += 1
        elif ch in "<>":
            two = source[i : i + 2]
            op = two if two in ("<=", ">=") else ch
            out.append(Token("op", op, i))
            i += len(op)
        elif ch == "!":
            op = "!=" if source.startswith("!=", i) else "!"
            out.append(Token("op", op, i))
            i += len(op)
        elif ch == "=":
            op = "==" if source.startswith("==", i) else "="
            out.append(Token("op", op, i))
            i += len(op)
        elif ch == "?":
            op = "??" if source.startswith("??", i) else "?"
            out.append(Token("op", op, i))
            i += len(op)
        elif ch == ".":
            op = ".." if source.startswith("..", i) else "."
            out.append(Token("op", op, i))
            i += len(op)
        elif ch == ";":
            out.append(Token("op", ";", i))
            i += 1
        elif ch in _OPERATORS:
            out.append(Token("op", ch, i))
            i += 1
        elif _is_alpha(ch):
            j = i + 1
            while j < n and _is_alnum(source[j]):
                j += 1
            word = source[i:j]
            if word == "not":
                if source.startswith(" in ", j):
                    out.append(Token("op", "not in", i))
                    j += 3
                else:
                    out.append(Token("op", "not", i))
            elif word in _KEYWORDS:
                out.append(Token("op", word, i))
            elif word in ("true", "false"):
                out.append(Token("bool", word, i))
            else:
                out.append(Token("name", word, i))
            i = j
        else:
            raise ExpressionSyntaxError(
                f"unexpected character {ch!r}", expression=source, column=i + 1
            )
    return out
