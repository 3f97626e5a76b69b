"""A small, safe expression language for `expect`, `until`, `when` and `show`.

Python syntax, evaluated over a restricted AST: literals, names, attribute
and index access (``conn.used``, ``rows[0].pid``: attributes read dict keys),
arithmetic, comparisons (including ``in``), ``and``/``or``/``not``, the
conditional ``a if c else b`` and a few functions (len, min, max, abs, int,
float, str, round, lower, upper, any, all, sum). Nothing else: no calls on
objects, no comprehensions, no dunder access. Pure.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Mapping
from functools import lru_cache
from typing import Any


class ExpressionError(ValueError):
    """A malformed expression (load time) or one that cannot be evaluated (run time)."""


def _lower(v: Any) -> str:
    return str(v).lower()


def _upper(v: Any) -> str:
    return str(v).upper()


FUNCTIONS: dict[str, Any] = {
    "len": len, "min": min, "max": max, "abs": abs, "int": int, "float": float, "str": str,
    "round": round, "lower": _lower, "upper": _upper, "any": any, "all": all, "sum": sum,
}

_BINOPS = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
}
_CMPOPS = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
    ast.Is: lambda a, b: a is b, ast.IsNot: lambda a, b: a is not b,
}
_ALLOWED = (
    ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd,
    ast.BinOp, ast.Compare, ast.Name, ast.Load, ast.Constant, ast.Attribute, ast.Subscript,
    ast.Call, ast.List, ast.Tuple, ast.IfExp, *_BINOPS, *_CMPOPS,
)


@lru_cache(maxsize=1024)
def compile_expression(text: str) -> ast.Expression:
    """Parse and vet; raises ExpressionError naming what is not allowed."""
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("a non-empty expression")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"a valid expression ({exc.msg})") from None
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED):
            raise ExpressionError(f"an expression without {type(node).__name__}")
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            raise ExpressionError("an expression without _private names")
        if isinstance(node, ast.Name) and node.id.startswith("_"):
            raise ExpressionError("an expression without _private names")
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
                raise ExpressionError("calls only to " + ", ".join(sorted(FUNCTIONS)))
            if node.keywords:
                raise ExpressionError("function calls without keyword arguments")
    return tree


def names_used(text: str) -> set[str]:
    """The root names an expression reads (for load-time reference checks)."""
    tree = compile_expression(text)
    return {
        n.id for n in ast.walk(tree)
        if isinstance(n, ast.Name) and n.id not in FUNCTIONS and n.id not in ("True", "False", "None")
    }


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


def evaluate(text: str, context: Mapping[str, Any]) -> Any:
    """Evaluate over `context`; an unknown name or key raises ExpressionError."""
    tree = compile_expression(text)
    return _eval(tree.body, context)


def evaluate_bool(text: str, context: Mapping[str, Any]) -> bool:
    return bool(evaluate(text, context))


def _get(container: Any, key: Any, where: str) -> Any:
    try:
        if isinstance(container, Mapping):
            return container[key]
        if isinstance(container, (list, tuple, str)) and isinstance(key, int):
            return container[key]
    except (KeyError, IndexError):
        pass
    raise ExpressionError(f"{where}: no {key!r} in the captured value")


def _eval(node: ast.AST, ctx: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        if node.id in ctx:
            return ctx[node.id]
        if node.id in ("true", "false"):
            return node.id == "true"
        raise ExpressionError(f"unknown name {node.id!r}")
    if isinstance(node, ast.Attribute):
        return _get(_eval(node.value, ctx), node.attr, ast.unparse(node))
    if isinstance(node, ast.Subscript):
        return _get(_eval(node.value, ctx), _eval(node.slice, ctx), ast.unparse(node))
    if isinstance(node, ast.BoolOp):
        if isinstance(node.op, ast.And):
            result: Any = True
            for v in node.values:
                result = _eval(v, ctx)
                if not result:
                    return result
            return result
        result = False
        for v in node.values:
            result = _eval(v, ctx)
            if result:
                return result
        return result
    if isinstance(node, ast.UnaryOp):
        v = _eval(node.operand, ctx)
        if isinstance(node.op, ast.Not):
            return not v
        return -v if isinstance(node.op, ast.USub) else +v
    try:
        if isinstance(node, ast.BinOp):
            return _BINOPS[type(node.op)](_eval(node.left, ctx), _eval(node.right, ctx))
        if isinstance(node, ast.Compare):
            left = _eval(node.left, ctx)
            for op, comp in zip(node.ops, node.comparators):
                right = _eval(comp, ctx)
                if not _CMPOPS[type(op)](left, right):
                    return False
                left = right
            return True
        if isinstance(node, ast.Call):
            fn = FUNCTIONS[node.func.id]  # type: ignore[attr-defined]
            return fn(*[_eval(a, ctx) for a in node.args])
    except ExpressionError:
        raise
    except (TypeError, ValueError, ZeroDivisionError, ArithmeticError) as exc:
        raise ExpressionError(f"{ast.unparse(node)}: {exc}") from None
    if isinstance(node, ast.IfExp):
        return _eval(node.body, ctx) if _eval(node.test, ctx) else _eval(node.orelse, ctx)
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_eval(e, ctx) for e in node.elts]
    raise ExpressionError(f"unsupported {type(node).__name__}")
