"""Training-loader throughput and peak memory on real photographs: the streaming
`PairedImageDataset` reading a pair folder, WebDataset shards and an LMDB export, against a plain
map-style Dataset that opens the files with PIL, at 0 and 2 DataLoader workers and two dataset
sizes, in interleaved rounds (medians printed side by side).

    .venv/bin/python benchmarks/bench_loader.py [--sizes 240,960] [--rounds 3]
        [--source /tmp/real-images] [--work /tmp/forge-bench-loader]

Every arm does the same per-sample work: decode HQ and LQ (PNG), a 128 px HQ crop with the LQ
crop in lockstep (x4), random flip and rotation, float tensors, batches of 16. Each measurement
runs in a fresh process; peak RSS is the largest sum of the RSS of that process and its
DataLoader workers, sampled every 20 ms (shared pages count once per process); peak private is
the same sum without file-backed pages (RSS minus `shared`: the LMDB map and libraries), i.e.
the memory the loader itself allocates.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from PIL import Image

SCALE, CROP, BATCH = 4, 128, 16
ARMS = ("map-style PIL", "stream folder", "stream webdataset", "stream lmdb")


def _prepare_one(job: tuple[Path, Path, int]) -> bool:
    """A photo as an SR training pair: HQ at most `side` px (a multiple of 4), LQ = HQ / 4."""
    src, work, side = job
    name = f"{src.stem}.png"
    if (work / "lq" / name).exists():
        return True
    try:
        with Image.open(src) as im:
            im.draft("RGB", (side, side))
            im = im.convert("RGB")
            im.thumbnail((side, side), Image.Resampling.LANCZOS)
    except (OSError, ValueError):
        return False
    w, h = im.width // SCALE * SCALE, im.height // SCALE * SCALE
    if min(w, h) < CROP:
        return False
    hq = im.crop((0, 0, w, h))
    hq.save(work / "hq" / name)
    hq.resize((w // SCALE, h // SCALE), Image.Resampling.BICUBIC).save(work / "lq" / name)
    return True


def prepare(source: Path, work: Path, sizes: list[int], side: int) -> dict[int, Path]:
    """Pair sets of each size (symlinks into one prepared pool) and their exports."""
    from dataset_forge.io import iter_images
    pool_dir = work / "pool"
    (pool_dir / "hq").mkdir(parents=True, exist_ok=True)
    (pool_dir / "lq").mkdir(parents=True, exist_ok=True)
    photos = sorted(iter_images(source))
    with Pool(2) as pool:
        pool.map(_prepare_one, [(p, pool_dir, side) for p in photos], chunksize=8)
    names = sorted(p.name for p in (pool_dir / "lq").iterdir())
    sets = {}
    for n in sizes:
        if n > len(names):
            raise SystemExit(f"only {len(names)} usable photos; asked for {n}")
        root = work / f"pairs_{n}"
        for side_name in ("hq", "lq"):
            (root / side_name).mkdir(parents=True, exist_ok=True)
            for name in names[:n]:
                link = root / side_name / name
                if not link.exists():
                    link.symlink_to(pool_dir / side_name / name)
        export = work / f"export_{n}"
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "dataset_forge", "--action", "export", "--input",
                        root, "--output", export, "--formats", "webdataset,lmdb",
                        "--shard-size", "16"], check=True, stdout=subprocess.DEVNULL)
        print(f"export of {n} pairs (webdataset + lmdb, 16 MiB shards, or resumed): "
              f"{time.perf_counter() - t0:.1f} s", flush=True)
        sets[n] = root
    return sets


class MapStyle:
    """The baseline: a map-style Dataset over file paths, PIL per item."""

    def __init__(self, root: Path) -> None:
        from dataset_forge.io import pair_folders
        self.pairs = pair_folders(root / "hq", root / "lq").pairs

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, i: int):
        from dataset_forge.data import flip_rotate, paired_crop, to_tensor
        rng = np.random.default_rng()
        hq = np.asarray(Image.open(self.pairs[i][0]).convert("RGB"))
        lq = np.asarray(Image.open(self.pairs[i][1]).convert("RGB"))
        hq, lq = paired_crop(hq, lq, CROP, SCALE, rng)
        hq, lq = flip_rotate([hq, lq], rng, hflip=True, rot90=True)
        return {"hq": to_tensor(hq), "lq": to_tensor(lq)}


def _tree_rss() -> tuple[int, int]:
    """(RSS, RSS without file-backed pages) summed over this process and its workers."""
    import psutil
    me = psutil.Process()
    rss = private = 0
    for proc in [me, *me.children(recursive=True)]:
        try:
            info = proc.memory_info()
        except psutil.Error:
            continue
        rss += info.rss
        private += info.rss - info.shared
    return rss, private


def child(arm: str, work: Path, n: int, workers: int) -> None:
    """One measurement: one epoch, printed as JSON."""
    import torch
    from torch.utils.data import DataLoader
    from dataset_forge.data import PairedImageDataset
    torch.set_num_threads(1)
    peak, stop = [0, 0], threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[:] = map(max, peak, _tree_rss())
            time.sleep(0.02)

    t0 = time.perf_counter()
    common = dict(hq_size=CROP, scale=SCALE, hflip=True, rot90=True, shuffle_buffer=256)
    if arm == "map-style PIL":
        loader = DataLoader(MapStyle(work / f"pairs_{n}"), batch_size=BATCH, shuffle=True,
                            num_workers=workers)
    elif arm == "stream folder":
        loader = DataLoader(PairedImageDataset(work / f"pairs_{n}", **common), batch_size=BATCH,
                            num_workers=workers)
    elif arm == "stream webdataset":
        loader = DataLoader(PairedImageDataset(work / f"export_{n}/webdataset", **common),
                            batch_size=BATCH, num_workers=workers)
    else:
        loader = DataLoader(PairedImageDataset(work / f"export_{n}", kind="lmdb", **common),
                            batch_size=BATCH, num_workers=workers)
    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    count = 0
    for batch in loader:
        count += batch["hq"].shape[0]
    seconds = time.perf_counter() - t0
    stop.set()
    watcher.join()
    print(json.dumps({"samples": count, "seconds": seconds, "peak_mb": peak[0] / 2**20,
                      "private_mb": peak[1] / 2**20}))


def measure(arm: str, work: Path, n: int, workers: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", arm, str(work), str(n),
                          str(workers)], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], Path(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--source", type=Path, default=Path("/tmp/real-images"))
    ap.add_argument("--work", type=Path, default=Path("/tmp/forge-bench-loader"))
    ap.add_argument("--sizes", default="240,960")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--side", type=int, default=512, help="HQ longest side in px")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    prepare(args.source, args.work, sizes, args.side)
    print(f"load average before: {os.getloadavg()[0]:.2f}", flush=True)
    results: dict[tuple, list[dict]] = {}
    for r in range(args.rounds):                      # interleaved: every arm once per round
        for n in sizes:
            for workers in (0, 2):
                for arm in ARMS:
                    results.setdefault((n, workers, arm), []).append(
                        measure(arm, args.work, n, workers))
        print(f"round {r + 1}/{args.rounds} done, load {os.getloadavg()[0]:.2f}", flush=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    print("\n| pairs | workers | loader | samples/s | vs map-style | peak RSS MiB | "
          "peak private MiB |")
    print("|---|---|---|---|---|---|---|")
    for n in sizes:
        for workers in (0, 2):
            base = statistics.median(m["samples"] / m["seconds"]
                                     for m in results[(n, workers, ARMS[0])])
            for arm in ARMS:
                runs = results[(n, workers, arm)]
                rate = statistics.median(m["samples"] / m["seconds"] for m in runs)
                assert all(m["samples"] == n for m in runs), (arm, runs)
                peak = statistics.median(m["peak_mb"] for m in runs)
                private = statistics.median(m["private_mb"] for m in runs)
                print(f"| {n} | {workers} | {arm} | {rate:.1f} | {rate / base:.2f}x | "
                      f"{peak:.0f} | {private:.0f} |")


if __name__ == "__main__":
    main()
