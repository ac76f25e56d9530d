"""JDM function nodes in a sandboxed QuickJS (the ``quickjs`` package, an offline wheel).

zen-engine itself runs function nodes in QuickJS (rquickjs) with a 500 ms limit; here each call
gets a fresh QuickJS context (no state survives between decisions), a time limit, a memory
limit, and nothing but JSON in and out: no file, network or process access exists in plain
QuickJS. The handler receives zen's helpers: ``Big`` (a small decimal-style shim over numbers
with big.js's method names), ``env`` (empty) and ``dayjs``/``moment`` (not provided: calling
them fails with a clear error).
"""

from __future__ import annotations

import json
import re
from typing import Any

from ruleplus.errors import EvaluationError, StrategyCompileError

__all__ = ["FunctionNode", "js_available"]

TIME_LIMIT_S = 0.5
"""Longest a handler may run (zen's own limit)."""
MEMORY_LIMIT = 64 * 1024 * 1024
"""Most memory one handler's context may use, in bytes."""

_PRELUDE = r"""
const __round = (v, dp) => {
  const f = Math.pow(10, dp);
  return Math.round((v + Number.EPSILON) * f) / f;
};
function __Big(v) {
  if (!(this instanceof __Big)) return new __Big(v);
  this.v = (v instanceof __Big) ? v.v : Number(v);
  if (!isFinite(this.v)) throw new Error('Invalid number');
}
const __n = (x) => (x instanceof __Big) ? x.v : Number(x);
__Big.prototype.plus = function (x) { return new __Big(this.v + __n(x)); };
__Big.prototype.add = __Big.prototype.plus;
__Big.prototype.minus = function (x) { return new __Big(this.v - __n(x)); };
__Big.prototype.sub = __Big.prototype.minus;
__Big.prototype.times = function (x) { return new __Big(this.v * __n(x)); };
__Big.prototype.mul = __Big.prototype.times;
__Big.prototype.div = function (x) {
  const d = __n(x);
  if (d === 0) throw new Error('Division by zero');
  return new __Big(this.v / d);
};
__Big.prototype.mod = function (x) { return new __Big(this.v % __n(x)); };
__Big.prototype.pow = function (n) { return new __Big(Math.pow(this.v, n)); };
__Big.prototype.abs = function () { return new __Big(Math.abs(this.v)); };
__Big.prototype.round = function (dp) { return new __Big(__round(this.v, dp || 0)); };
__Big.prototype.cmp = function (x) {
  const o = __n(x);
  return this.v > o ? 1 : this.v < o ? -1 : 0;
};
__Big.prototype.eq = function (x) { return this.v === __n(x); };
__Big.prototype.gt = function (x) { return this.v > __n(x); };
__Big.prototype.gte = function (x) { return this.v >= __n(x); };
__Big.prototype.lt = function (x) { return this.v < __n(x); };
__Big.prototype.lte = function (x) { return this.v <= __n(x); };
__Big.prototype.toNumber = function () { return this.v; };
__Big.prototype.toFixed = function (dp) { return this.v.toFixed(dp); };
__Big.prototype.toString = function () { return String(this.v); };
__Big.prototype.toJSON = function () { return String(this.v); };
const __nodayjs = () => { throw new Error('dayjs is not available in ruleplus function nodes'); };
const __helpers = { Big: __Big, big: __Big, dayjs: __nodayjs, moment: __nodayjs, env: {} };
const console = { log: () => {}, error: () => {}, warn: () => {} };
var __out = undefined;
var __error = undefined;
"""

_EXPORT = re.compile(r"^\s*export\s+(default\s+)?", re.MULTILINE)
_IMPORT = re.compile(r"^\s*import\s+[^;\n]*;?\s*$", re.MULTILINE)


def js_available() -> bool:
    """Whether the sandboxed JavaScript engine (``quickjs``) is installed."""
    try:
        import quickjs  # type: ignore[import-untyped]  # noqa: F401
    except ImportError:
        return False
    return True


class FunctionNode:
    """A compiled-on-demand JavaScript handler.

    Parameters
    ----------
    content : str or mapping
        The node's content: the source (version 1) or ``{"source": ...}`` (version 2).
    where : str
        The node, for errors.
    """

    def __init__(self, content: Any, where: str) -> None:
        source = content.get("source") if isinstance(content, dict) else content
        if not isinstance(source, str) or "handler" not in source:
            raise StrategyCompileError(f"{where}: a function node needs a 'handler' function")
        if not js_available():
            raise StrategyCompileError(
                f"{where}: JavaScript function nodes need the sandboxed engine: "
                "pip install 'ruleplus[jdm]' (quickjs)"
            )
        self.where = where
        # ES-module syntax (version 2) as a plain script: imports are zen's helper modules,
        # which the prelude provides as globals
        self.source = _IMPORT.sub("", _EXPORT.sub("", source))

    def __call__(self, data: Any) -> Any:
        """Run the handler on JSON ``data``; returns its JSON result."""
        import quickjs

        context = quickjs.Context()
        context.set_time_limit(TIME_LIMIT_S)
        context.set_memory_limit(MEMORY_LIMIT)
        payload = json.dumps(json.dumps(data))
        script = (
            f"{_PRELUDE}\n{self.source}\n;"
            f"Promise.resolve().then(() => handler(JSON.parse({payload}), __helpers))"
            ".then((r) => { __out = JSON.stringify(r === undefined ? null : r); },"
            " (e) => { __error = String(e); });"
        )
        try:
            context.eval(script)
            for _ in range(10_000):  # a handler that keeps scheduling jobs is cut off
                if not context.execute_pending_job():
                    break
            error = context.eval("__error")
            result = context.eval("__out")
        except quickjs.JSException as exc:
            raise EvaluationError(f"{self.where}: the handler failed: {exc}") from None
        if error is not None:
            if "interrupted" in str(error):
                error = f"{error} (ran past the {TIME_LIMIT_S} s limit)"
            raise EvaluationError(f"{self.where}: the handler failed: {error}")
        if not isinstance(result, str):
            raise EvaluationError(f"{self.where}: the handler did not finish")
        return json.loads(result)
