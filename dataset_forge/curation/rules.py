"""Selection rules: which files a check speaks against, declared once for `validate` and
`quarantine`, so "what validate warns about" and "what quarantine moves" cannot drift apart.

    RULES["unusual_mode"].test(row)        # a named rule on a row of facts
    crit = parse_criterion("width<512")    # a criterion evaluated now
    crit.test(row)
    needs(rules, criteria)                 # which facts must be measured: {"integrity", ...}

A row of facts is what the analysis functions give for one file: integrity and header facts
(`analysis.integrity.check_file`), quality scores and `flags` (`analysis.quality`), and for an
HQ file the scale status and alignment of its pair (`analysis.pairs`). Missing facts never
select a file.
"""
from __future__ import annotations

import math
import operator
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from ..analysis import quality as q
from ..analysis.integrity import BAD_STATUSES

#: modes a training pipeline reads without surprises
PLAIN_MODES = frozenset({"RGB", "L"})

INTEGRITY, QUALITY, PAIRS, ALPHA = "integrity", "quality", "pairs", "alpha"
SCORES = "scores"    # model scores (niqe, ic9600, pyiqa metrics): from a score run's CSV


@dataclass(frozen=True)
class Rule:
    name: str
    needs: str                       # which facts: integrity, quality or pairs
    help: str
    test: Callable[[dict[str, Any]], bool]


def _flagged(name: str) -> Callable[[dict[str, Any]], bool]:
    return lambda row: name in str(row.get("flags") or "").split()


def _status(name: str) -> Callable[[dict[str, Any]], bool]:
    return lambda row: row.get("status") == name


_RULES: list[Rule] = [
    Rule("integrity", INTEGRITY, "integrity status is not ok (any of: "
         + ", ".join(BAD_STATUSES) + ")",
         lambda row: row.get("status") not in (None, "ok")),
    *[Rule(s, INTEGRITY, f"integrity status {s}", _status(s)) for s in BAD_STATUSES],
    Rule("extension_mismatch", INTEGRITY, "the file name's extension does not match its content",
         lambda row: row.get("extension_ok") is False),
    Rule("unusual_mode", INTEGRITY, "colour mode other than " + ", ".join(sorted(PLAIN_MODES)),
         lambda row: row.get("mode") is not None and row["mode"] not in PLAIN_MODES),
    Rule("animated", INTEGRITY, "more than one frame",
         lambda row: (row.get("frames") or 1) > 1),
    *[Rule(c.name, QUALITY, f"quality flag {c.name}: {c.score} {c.direction} the threshold",
           _flagged(c.name)) for c in q.CHECKS],
    Rule("scale_mismatch", PAIRS, "HQ/LQ pair not at the dominant integer scale",
         lambda row: row.get("scale_status") not in (None, "ok")),
    Rule("missing_partner", PAIRS, "HQ file without an LQ partner, or LQ without HQ",
         lambda row: row.get("partner_missing") is True),
    Rule("misaligned", PAIRS, "HQ/LQ pair does not line up (SSIM or shift beyond the limits)",
         lambda row: row.get("aligned") is False),
]
RULES: dict[str, Rule] = {r.name: r for r in _RULES}


# -- criteria evaluated now: FIELD OP VALUE ---------------------------------------------------
def _megapixels(row: dict[str, Any]) -> float | None:
    if row.get("width") is None or row.get("height") is None:
        return None
    return row["width"] * row["height"] / 1e6


def _aspect(row: dict[str, Any]) -> float | None:
    if not row.get("width") or not row.get("height"):
        return None
    return row["width"] / row["height"]


#: field -> (facts it needs, how to read it from a row)
FIELDS: dict[str, tuple[str, Callable[[dict[str, Any]], Any]]] = {
    "width": (INTEGRITY, lambda r: r.get("width")),
    "height": (INTEGRITY, lambda r: r.get("height")),
    "megapixels": (INTEGRITY, _megapixels),
    "aspect": (INTEGRITY, _aspect),
    "bytes": (INTEGRITY, lambda r: r.get("bytes")),
    "format": (INTEGRITY, lambda r: r.get("content_format") or r.get("format")),
    "mode": (INTEGRITY, lambda r: r.get("mode")),
    "frames": (INTEGRITY, lambda r: r.get("frames")),
    "alpha": (INTEGRITY, lambda r: r.get("has_alpha")),
    "alpha_used": (ALPHA, lambda r: r.get("alpha_used")),
    **{s: (QUALITY, (lambda s: lambda r: r.get(s))(s)) for s in [*q.SCORE_COLUMNS, "jpeg_quality"]},
    "scale": (PAIRS, lambda r: None if r.get("scale_w") is None
              else (r["scale_w"] + r["scale_h"]) / 2),
    "ssim": (PAIRS, lambda r: r.get("ssim")),
    "shift": (PAIRS, lambda r: None if r.get("shift_x") is None
              else math.hypot(r["shift_x"], r["shift_y"])),
}
TEXT_FIELDS = frozenset({"format", "mode"})
YES_NO_FIELDS = frozenset({"alpha", "alpha_used"})
OPERATORS = {"<=": operator.le, ">=": operator.ge, "!=": operator.ne, "<": operator.lt,
             ">": operator.gt, "=": operator.eq}
_CRITERION = re.compile(r"^\s*([a-z_][a-z0-9_]*)\s*(<=|>=|!=|<|>|=)\s*(.+?)\s*$")


def _reader(name: str) -> tuple[str, Callable[[dict[str, Any]], Any]]:
    """A field's facts and reader; a name outside FIELDS is a model score column."""
    return FIELDS.get(name) or (SCORES, lambda r: r.get(name))


@dataclass(frozen=True)
class Criterion:
    field: str
    op: str
    value: Any

    @property
    def name(self) -> str:
        value = f"{self.value:g}" if isinstance(self.value, float) else self.value
        return f"{self.field}{self.op}{value}"

    @property
    def needs(self) -> str:
        return _reader(self.field)[0]

    def test(self, row: dict[str, Any]) -> bool:
        actual = _reader(self.field)[1](row)
        if actual is None or (isinstance(actual, float) and math.isnan(actual)):
            return False
        if isinstance(self.value, str):
            actual, value = str(actual).upper(), self.value.upper()
            if self.op not in ("=", "!="):
                return False
            return OPERATORS[self.op](actual, value)
        if isinstance(self.value, bool) or isinstance(actual, bool):
            return OPERATORS[self.op](bool(actual), bool(self.value))
        return OPERATORS[self.op](float(actual), float(self.value))


def _value(text: str) -> Any:
    low = text.lower()
    if low in ("true", "yes"):
        return True
    if low in ("false", "no"):
        return False
    try:
        return float(text)
    except ValueError:
        return text


def parse_criterion(text: str, score_fields: Iterable[str] = ()) -> Criterion:
    """'width<512', 'format=PNG', 'sharpness<0.4', 'alpha=yes', and with `score_fields` (the
    columns of model scores) 'niqe>8'; ValueError with one line."""
    match = _CRITERION.match(text)
    if not match:
        raise ValueError(f"{text!r} is not FIELD OP VALUE (e.g. width<512, format=PNG)")
    field, op, raw = match.groups()
    score_fields = list(score_fields)
    if field not in FIELDS and field not in score_fields:
        raise ValueError(f"{text!r}: unknown field {field!r}; one of "
                         f"{', '.join([*FIELDS, *score_fields])}")
    value = _value(raw)
    if field in TEXT_FIELDS or field in YES_NO_FIELDS:
        if op not in ("=", "!="):
            raise ValueError(f"{text!r}: {field} takes = or != (FIELD OP VALUE)")
        if field in YES_NO_FIELDS and not isinstance(value, bool):
            raise ValueError(f"{text!r}: {field} is yes or no")
        return Criterion(field, op, raw if field in TEXT_FIELDS else value)
    if not isinstance(value, float):
        raise ValueError(f"{text!r}: {field} needs a number (FIELD OP VALUE)")
    return Criterion(field, op, value)


def needs(tests: Iterable[Rule | Criterion]) -> set[str]:
    """The kinds of facts the given rules and criteria read."""
    return {t.needs for t in tests}


def matching(row: dict[str, Any], tests: Iterable[Rule | Criterion], combine: str = "any"
             ) -> list[str]:
    """Names of the tests that select `row`; empty unless any (or, with "all", every) test
    selects it."""
    tests = list(tests)
    hits = [t.name for t in tests if t.test(row)]
    if combine == "all" and len(hits) != len(tests):
        return []
    return hits
