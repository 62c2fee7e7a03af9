"""End-to-end speed of `dataset-forge --action dedup` (default settings: pHash with mirror,
turn and crop codes, aligned verification, groups, CSV/JSON/HTML) against imagededup's PHash
`find_duplicates`, side by side in one run, interleaved rounds, medians.

    flock /tmp/forge-bench.lock .venv/bin/python benchmarks/bench_dedup_speed.py \\
        [--input /tmp/real-images] [--rounds 3]

Both run as subprocesses, as users meet them. "Cold" = no feature cache for us (--cache off);
imagededup has none. The operating system's file cache is warm for both (one untimed read of
every file first). "Warm" = our second run with the feature cache filled by the first.
imagededup imports torch (its CNN methods) through dataset_forge.dedup.torch_compat, as on a
CPU-only torch it must; its own timer (encode + search, no imports) is printed as well.
CPU seconds (user + system, the whole process tree: workers included) are printed beside
wall seconds: on a shared machine they move less with the load than wall time does. Our
package is byte-compiled first (untimed), as an installed package is.
`--no-imagededup` times ours alone (while working on it).

"Decode floor": each tool's decoding alone over the same files on the same kind of pool (2
forked processes, chunks of FLOOR_CHUNK files, each worker returning only a size): ours is
`hashing_rgb` at the verifier's side (`aligned.SOURCE_SIDE`: the one decode our pass makes per
file), imagededup's is its own `load_image(..., target_size=(32, 32), grayscale=True)`, as its
PHash loads every image. Timed inside the process after its imports (wall; CPU of the process
and its pool workers), interleaved with the end-to-end rounds: the ratio of the floors is the
best end-to-end ratio that decoding leaves room for, measured in the same run.
`--floor-only` times the floors alone.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
POLL = 0.05             # seconds between samples of the process tree's CPU time
FLOOR_WORKERS = 2
FLOOR_CHUNK = 8
FLOOR = """
import json, multiprocessing, resource, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[3])
who, folder = sys.argv[1], Path(sys.argv[2])
if who == "ours":
    from dataset_forge.dedup.aligned import SOURCE_SIDE
    from dataset_forge.dedup.appearance import hashing_rgb
    def load(path):
        try:
            return hashing_rgb(path, SOURCE_SIDE).size
        except Exception:
            return None
else:
    from dataset_forge.dedup.torch_compat import import_torchvision
    import_torchvision()
    import logging
    logging.disable(logging.WARNING)
    from imagededup.utils.image_utils import load_image
    def load(path):
        out = load_image(path, target_size=(32, 32), grayscale=True)
        return None if out is None else out.shape
files = sorted(str(p) for p in folder.rglob("*") if p.is_file())
def cpu(who):
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime
t0, c0 = time.perf_counter(), cpu(resource.RUSAGE_SELF)
with multiprocessing.get_context("fork").Pool(int(sys.argv[4])) as pool:
    done = sum(v is not None for v in pool.imap_unordered(load, files, int(sys.argv[5])))
    pool.close()
    pool.join()
print(json.dumps({"wall": time.perf_counter() - t0, "decoded": done,
                  "cpu": cpu(resource.RUSAGE_SELF) - c0 + cpu(resource.RUSAGE_CHILDREN)}))
"""
IMAGEDEDUP = """
import json, sys, time
sys.path.insert(0, sys.argv[2])
from dataset_forge.dedup.torch_compat import import_torchvision
import_torchvision()
from imagededup.methods import PHash
t0 = time.perf_counter()
dups = PHash(verbose=False).find_duplicates(image_dir=sys.argv[1], max_distance_threshold=10)
print(json.dumps({"inner_s": time.perf_counter() - t0,
                  "pairs": sum(len(v) for v in dups.values()) // 2}))
"""


def timed(cmd: list[str], **kwargs) -> tuple[float, float, subprocess.CompletedProcess]:
    """(wall seconds, CPU seconds of the whole process tree, the finished process). Pool
    workers are children of a forkserver that nobody waits for, so getrusage misses them: the
    tree is sampled every POLL seconds instead and each process's last CPU time is summed (a
    worker's last < POLL s may be missed)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True, **kwargs)
        seen: dict[int, float] = {}
        root = psutil.Process(proc.pid)
        while proc.poll() is None:
            try:
                for p in [root, *root.children(recursive=True)]:
                    with contextlib.suppress(psutil.Error):
                        t = p.cpu_times()
                        seen[p.pid] = t.user + t.system
            except psutil.Error:
                pass
            time.sleep(POLL)
        wall = time.perf_counter() - t0
        out.seek(0), err.seek(0)
        done = subprocess.CompletedProcess(cmd, proc.returncode, out.read(), err.read())
    return wall, sum(seen.values()), done


def ours(folder: Path, out: Path, cache: str) -> tuple[float, float, dict]:
    wall, cpu, proc = timed([sys.executable, "-m", "dataset_forge", "--action", "dedup",
                             "--input", str(folder), "--cache", cache, "--output", str(out),
                             "--json"], cwd=REPO)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"dedup failed: {proc.stderr[-400:]}")
    return wall, cpu, json.loads(proc.stdout)["summary"]


def imagededup(folder: Path) -> tuple[float, float, dict]:
    wall, cpu, proc = timed([sys.executable, "-c", IMAGEDEDUP, str(folder), str(REPO)])
    if proc.returncode != 0:
        raise SystemExit(f"imagededup failed: {proc.stderr[-400:]}")
    return wall, cpu, json.loads(proc.stdout.strip().splitlines()[-1])


def decode_floor(who: str, folder: Path) -> dict:
    """{"wall", "cpu", "decoded"} of one tool's decoding alone (FLOOR)."""
    proc = subprocess.run([sys.executable, "-c", FLOOR, who, str(folder), str(REPO),
                           str(FLOOR_WORKERS), str(FLOOR_CHUNK)], capture_output=True,
                          text=True, cwd=REPO)
    if proc.returncode != 0:
        raise SystemExit(f"decode floor ({who}) failed: {proc.stderr[-400:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--input", type=Path, default=Path("/tmp/real-images"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--no-imagededup", action="store_true")
    ap.add_argument("--floor-only", action="store_true", help="only the decode floors")
    args = ap.parse_args()
    # bytecode for our package, as an installed one has (this shell may say
    # PYTHONDONTWRITEBYTECODE, which would make every run compile it from source)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "dataset_forge")],
                   check=True)
    files = [p for p in args.input.rglob("*") if p.is_file()]
    for p in files:                       # the OS file cache: warm for both tools
        p.read_bytes()
    print(f"{len(files)} files in {args.input}; load average before: "
          f"{open('/proc/loadavg').read().split()[:3]}")
    runs: dict[str, list[float]] = {k: [] for k in (
        "cold", "cold_cpu", "idd", "idd_cpu", "idd_inner", "warm", "warm_cpu",
        "floor_ours", "floor_ours_cpu", "floor_idd", "floor_idd_cpu")}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for r in range(args.rounds):
            order = ("ours", "idd") if r % 2 == 0 else ("idd", "ours")
            for who in order if not args.no_imagededup else ("ours",):
                floor = decode_floor("ours" if who == "ours" else "imagededup", args.input)
                runs[f"floor_{who}"].append(floor["wall"])
                runs[f"floor_{who}_cpu"].append(floor["cpu"])
                print(f"round {r} decode floor {who}: {floor['wall']:.1f} s, CPU "
                      f"{floor['cpu']:.1f} s ({floor['decoded']} files)", flush=True)
            if args.floor_only:
                continue
            for who in order if not args.no_imagededup else ("ours",):
                if who == "ours":
                    wall, cpu, summary = ours(args.input, tmp / f"cold{r}", "off")
                    runs["cold"].append(wall), runs["cold_cpu"].append(cpu)
                    print(f"round {r} ours cold: {wall:.1f} s, CPU {cpu:.1f} s, passes "
                          f"{summary.get('pass_seconds')}", flush=True)
                else:
                    wall, cpu, out = imagededup(args.input)
                    runs["idd"].append(wall), runs["idd_cpu"].append(cpu)
                    runs["idd_inner"].append(out["inner_s"])
                    print(f"round {r} imagededup: {wall:.1f} s, CPU {cpu:.1f} s "
                          f"(its own timer {out['inner_s']:.1f} s)", flush=True)
            cache = str(tmp / f"cache{r}.sqlite")
            ours(args.input, tmp / f"fill{r}", cache)
            wall, cpu, warm_summary = ours(args.input, tmp / f"warm{r}", cache)
            runs["warm"].append(wall), runs["warm_cpu"].append(cpu)
            print(f"round {r} ours warm: {wall:.1f} s, CPU {cpu:.1f} s (from cache "
                  f"{warm_summary['from_cache']}, decoded {warm_summary.get('decoded')}, passes "
                  f"{warm_summary.get('pass_seconds')})", flush=True)
    m = {k: statistics.median(v) if v else float("nan") for k, v in runs.items()}
    print(f"\ndecode floor, medians of {args.rounds} rounds ({FLOOR_WORKERS} processes): ours "
          f"{m['floor_ours']:.1f} s (CPU {m['floor_ours_cpu']:.1f} s), imagededup "
          f"{m['floor_idd']:.1f} s (CPU {m['floor_idd_cpu']:.1f} s): imagededup / ours "
          f"{m['floor_idd'] / m['floor_ours']:.2f}x wall, "
          f"{m['floor_idd_cpu'] / m['floor_ours_cpu']:.2f}x CPU")
    if args.floor_only:
        print(f"load average after: {open('/proc/loadavg').read().split()[:3]}")
        return
    print(f"\nmedians of {args.rounds} rounds: ours cold {m['cold']:.1f} s (CPU "
          f"{m['cold_cpu']:.1f} s), imagededup {m['idd']:.1f} s (CPU {m['idd_cpu']:.1f} s; its "
          f"own timer {m['idd_inner']:.1f} s), ours warm {m['warm']:.1f} s (CPU "
          f"{m['warm_cpu']:.1f} s)")
    print(f"imagededup / ours cold: {m['idd'] / m['cold']:.2f}x end to end (wall), "
          f"{m['idd_cpu'] / m['cold_cpu']:.2f}x in CPU seconds, "
          f"{m['idd_inner'] / m['cold']:.2f}x against its inner timer")
    print(f"side by side, imagededup / ours: end to end {m['idd'] / m['cold']:.2f}x wall, "
          f"{m['idd_cpu'] / m['cold_cpu']:.2f}x CPU; decode floor "
          f"{m['floor_idd'] / m['floor_ours']:.2f}x wall, "
          f"{m['floor_idd_cpu'] / m['floor_ours_cpu']:.2f}x CPU; the most decoding leaves "
          f"room for (imagededup end to end / our decode floor): "
          f"{m['idd'] / m['floor_ours']:.2f}x wall, {m['idd_cpu'] / m['floor_ours_cpu']:.2f}x CPU")
    print(f"ours: {summary.get('candidate_pairs', 0)} candidates, {summary['pairs']} confirmed "
          f"pairs, {summary['groups']} groups, {summary.get('decoded')} files decoded cold")
    print(f"load average after: {open('/proc/loadavg').read().split()[:3]}")
    print("JSON " + json.dumps(runs))

if __name__ == "__main__":
    main()
