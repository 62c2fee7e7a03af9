"""The dedup plan: one typed record for the groups file, written and read by the same code.

    plan = Plan(meta, groups, related)
    write_plan(report_dir / "dedup_groups.json", plan)     # the engine, after a search
    plan = read_plan(path)                                 # the app's review screen, --plan
    changed = plan.changed_files()                         # files whose size or mtime moved

A group is centred on its keeper: every other member is a confirmed duplicate of the keeper
(`distance` and `verify` hold the evidence), never merely of another member. Protected members
(--reference, --against) are always kept. `related` holds confirmed pairs that link two groups
(or a group and a file kept elsewhere): reported for review, never acted on.

The file records each member's absolute path, size and modification time (ns), so a reviewed
plan can be applied later without walking, hashing or searching again, and is refused when a
file changed since. JSON layout (`dedup_groups.json`):

    {"format": "dataset-forge dedup plan", "version": 2, "meta": {...},
     "groups": [{"id", "keep", "large", "members": [{"path", "file", "bytes", "mtime_ns",
                 "width", "height", "protected", "distance", "verify", "dest", "lq", "lq_dest",
                 "lq_bytes", "lq_mtime_ns", "linked_from", "reviewed_keep", "lossless",
                 "quality", "reduced"}], "pairs": [[a, b, score, verify], ...]}],
     "related": [{"a", "b", "score", "verify"}]}
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from ..io import atomic_write

PLAN_FORMAT = "dataset-forge dedup plan"
PLAN_VERSION = 2


class PlanError(ValueError):
    """Not a dedup plan, or an unreadable one (the message is one line)."""


@dataclass
class PlanMember:
    path: str                       # as shown to users (relative to the input where possible)
    file: str                       # absolute path on disk
    bytes: int
    mtime_ns: int
    width: int = 0
    height: int = 0
    protected: bool = False         # --reference / --against: always kept
    distance: float | None = None   # search score to the keeper (None for the keeper)
    verify: float | None = None     # verifier score to the keeper
    dest: str = ""                  # destination relative to --dest
    lq: str | None = None           # HQ/LQ runs: the LQ partner (absolute), moved along
    lq_dest: str = ""
    lq_bytes: int | None = None
    lq_mtime_ns: int | None = None
    linked_from: str | None = None  # a link left out of the search points here: never acted on
    reviewed_keep: bool = False     # a reviewer kept it besides the keeper (the app's review)
    lossless: bool | None = None    # the encoding stores pixels exactly (None: not known)
    quality: int | None = None      # a JPEG's estimated quality (`encoding.py`)
    reduced: bool = False           # palette, bilevel or animated: ranks after true colour

    @property
    def pixels(self) -> int:
        return self.width * self.height

    @property
    def mtime(self) -> float:
        return self.mtime_ns / 1e9


@dataclass
class PlanGroup:
    id: int
    members: list[PlanMember]
    keep: int                                   # index of the keeper (the group's centre)
    large: bool = False                         # more members than the run's bound
    pairs: list[tuple[int, int, float, float | None]] = field(default_factory=list)

    def is_kept(self, k: int) -> bool:
        """The keeper, protected members, files a link points to, and members a reviewer
        kept."""
        m = self.members[k]
        return k == self.keep or m.protected or bool(m.linked_from) or m.reviewed_keep

    @property
    def kept(self) -> list[int]:
        return [k for k in range(len(self.members)) if self.is_kept(k)]

    @property
    def dropped(self) -> list[int]:
        return [k for k in range(len(self.members)) if not self.is_kept(k)]

    @property
    def keeper(self) -> PlanMember:
        return self.members[self.keep]


@dataclass
class RelatedPair:
    a: str
    b: str
    score: float
    verify: float | None = None


@dataclass
class Plan:
    meta: dict[str, Any]
    groups: list[PlanGroup]
    related: list[RelatedPair] = field(default_factory=list)

    def changed_files(self) -> list[str]:
        """Files (members and LQ partners) whose size or modification time differ from the plan,
        or that are gone."""
        changed = []
        for g in self.groups:
            for m in g.members:
                checks = [(m.file, m.bytes, m.mtime_ns)]
                if m.lq:
                    checks.append((m.lq, m.lq_bytes, m.lq_mtime_ns))
                for path, size, mtime_ns in checks:
                    try:
                        st = os.stat(path)
                    except OSError:
                        changed.append(path)
                        continue
                    if st.st_size != size or st.st_mtime_ns != mtime_ns:
                        changed.append(path)
        return changed


OMIT_FALSE = {"reviewed_keep", "reduced"}    # written only when set


def _group_json(g: PlanGroup) -> dict[str, Any]:
    return {"id": g.id, "keep": g.keep, "large": g.large,
            "members": [{k: v for k, v in asdict(m).items()
                         if v is not None and v != "" and not (k in OMIT_FALSE and v is False)}
                        for m in g.members],
            "pairs": [list(p) for p in g.pairs]}


def write_plan(path: Path, plan: Plan) -> Path:
    """Write the plan atomically, one group per line (large plans stream)."""
    with atomic_write(path, "w", encoding="utf-8") as fh:
        fh.write('{"format": ' + json.dumps(PLAN_FORMAT) + f', "version": {PLAN_VERSION}, '
                 '"meta": ' + json.dumps(plan.meta, default=str) + ',\n"groups": [\n')
        for n, g in enumerate(plan.groups):
            fh.write((",\n" if n else "") + json.dumps(_group_json(g)))
        fh.write('\n],\n"related": [\n')
        for n, r in enumerate(plan.related):
            fh.write((",\n" if n else "") + json.dumps(asdict(r)))
        fh.write("\n]}\n")
    return path


MEMBER_FIELDS = {f.name for f in fields(PlanMember)}


def _member(data: dict[str, Any]) -> PlanMember:
    unknown = set(data) - MEMBER_FIELDS
    if unknown:
        raise PlanError(f"unknown member field(s) {', '.join(sorted(unknown))}")
    return PlanMember(**data)


def read_plan(path: str | Path) -> Plan:
    """The plan in `path`; PlanError (one line) when it is not one this version reads."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise PlanError(f"{path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise PlanError(f"{path}: not a dedup plan (not JSON)") from None
    if not isinstance(data, dict) or data.get("format") != PLAN_FORMAT:
        raise PlanError(f"{path}: not a dedup plan (dedup_groups.json written by dedup)")
    if data.get("version") != PLAN_VERSION:
        raise PlanError(f"{path}: plan version {data.get('version')} is not {PLAN_VERSION}; "
                        "run dedup again to make a new one")
    try:
        groups = []
        for g in data["groups"]:
            members = [_member(m) for m in g["members"]]
            keep = int(g["keep"])
            if not 0 <= keep < len(members):
                raise PlanError(f"group {g['id']}: keep {keep} is not a member")
            groups.append(PlanGroup(int(g["id"]), members, keep, bool(g.get("large", False)),
                                    [tuple(p) for p in g.get("pairs", [])]))
        related = [RelatedPair(**r) for r in data.get("related", [])]
    except PlanError as exc:
        raise PlanError(f"{path}: {exc}") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise PlanError(f"{path}: malformed dedup plan ({type(exc).__name__}: {exc})") from None
    return Plan(dict(data.get("meta") or {}), groups, related)
