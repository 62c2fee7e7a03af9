"""What the discovery rule costs: walk only vs the rule (image names unread, the rest sniffed)
vs sniffing every file, side by side in interleaved rounds (medians, warm page cache).

    python benchmarks/bench_discover.py /tmp/real-images --rounds 7
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dataset_forge.io.discover import iter_files, iter_images  # noqa: E402
from dataset_forge.io.sniff import sniff_format  # noqa: E402


def walk_only(root: Path) -> int:
    return sum(1 for _ in iter_files(root))


def the_rule(root: Path) -> int:
    return sum(1 for _ in iter_images(root))


def sniff_everything(root: Path) -> int:
    return sum(1 for p in iter_files(root) if sniff_format(p, identify=False))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", type=Path)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    ways = {"walk only": walk_only, "rule (names unread, rest sniffed)": the_rule,
            "sniff every file": sniff_everything}
    times: dict[str, list[float]] = {name: [] for name in ways}
    counts = {}
    for _ in range(args.rounds):
        for name, fn in ways.items():
            t0 = time.perf_counter()
            counts[name] = fn(args.folder)
            times[name].append(time.perf_counter() - t0)
    base = statistics.median(times["walk only"])
    for name in ways:
        med = statistics.median(times[name])
        print(f"{name:<36} {counts[name]:>6} files  {med * 1000:8.1f} ms  x{med / base:5.2f}")


if __name__ == "__main__":
    main()
