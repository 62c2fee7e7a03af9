"""``dataset-forge undo MANIFEST``: list, then (with --apply) replay an undo manifest.

    dataset-forge undo forge-reports/dedup-.../dedup_undo.jsonl           # dry run: what it would do
    dataset-forge undo forge-reports/dedup-.../dedup_undo.jsonl --apply   # restore the files

Like every destructive command, undo is a dry run until --apply: it moves files too.
Exit codes: 0 everything restorable was restored (or would be), 1 some steps could not be
undone (conflicts, files gone), 2 not a manifest.
"""
from __future__ import annotations

import argparse
import collections
import json

from rich.console import Console

from dataset_forge.errors import EXIT_ITEMS_FAILED, EXIT_OK, EXIT_USAGE
from dataset_forge.io.undo import CREATED_OPS, ManifestError, read_manifest, replay

PROBLEMS = ("conflict", "missing", "kept")


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser("undo", help="restore the files an applied action moved or removed",
                              description="Replay an undo manifest written by an applied action "
                                          "(newest operation first). A dry run unless --apply.")
    p.add_argument("manifest", metavar="MANIFEST", help="the *_undo.jsonl file the action wrote")
    p.add_argument("--apply", action="store_true", help="really restore; without it, only list")
    p.add_argument("--json", dest="undo_json", action="store_true",
                   help="print the steps as JSON")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    out, err = Console(), Console(stderr=True)
    try:
        header, _ = read_manifest(args.manifest)
        results = list(replay(args.manifest, apply=args.apply))
    except ManifestError as exc:
        err.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        return EXIT_USAGE
    counts: collections.Counter = collections.Counter()
    rows = []
    for step, error in results:
        status = "failed" if error else step.status
        if args.apply and not error and step.status in ("restore", "remove-created"):
            status = "restored" if step.status == "restore" else "removed"
        counts[status] += 1
        rows.append({"status": status, "op": step.op["op"], "src": step.op["src"],
                     "dst": step.op.get("dst"), "detail": error or step.reason})
    if getattr(args, "undo_json", False) or getattr(args, "json", False):
        print(json.dumps({"manifest": args.manifest, "action": header.get("action"),
                          "applied": args.apply, "counts": dict(counts), "steps": rows}, indent=2))
    else:
        verb = "undo" if args.apply else "dry run (add --apply to restore)"
        out.print(f"{header.get('action')} of {header.get('created')}: {verb}", markup=False,
                  soft_wrap=True)
        for row in rows:
            # the file the step acts on: a created copy or link is removed, anything else
            # comes back at its original path
            path = row["dst"] if row["op"] in CREATED_OPS else row["src"]
            text = f"  {row['status']:<15} {row['op']:<8} {path}"
            out.print(text + (f"  ({row['detail']})" if row["detail"] else ""), markup=False,
                      highlight=False, soft_wrap=True)
        out.print(", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "nothing to undo",
                  markup=False)
    failed = counts["failed"] + sum(counts[p] for p in PROBLEMS)
    return EXIT_ITEMS_FAILED if failed else EXIT_OK
