"""The streaming loader in-process, with real DataLoader worker processes: every sample once per
epoch across workers and ranks, reproducible epochs, HQ/LQ crops aligned by measurement,
unreadable samples counted and skipped, and torch never needed by the rest of the package."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import photo_like
from dataset_forge.actions.registry import get_action
from dataset_forge.parallel import ParallelConfig
from dataset_forge.runner import run_action
from dataset_forge.settings import Settings

torch = pytest.importorskip("torch")
from torch.utils.data import DataLoader  # noqa: E402

from dataset_forge.data import ImageDataset, PairedImageDataset  # noqa: E402

N, SCALE = 20, 4
KEYS = sorted(f"{i:02d}" for i in range(N))


def export(root: Path, **params) -> None:
    report = run_action(get_action("export"), params,
                        config=ParallelConfig(processing_type="serial"), settings=Settings())
    assert report.failed == 0 or params.get("expect_failures")


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("loader")
    for i in range(N):
        (root / "pairs/hq").mkdir(parents=True, exist_ok=True)
        (root / "pairs/lq").mkdir(parents=True, exist_ok=True)
        hq = Image.fromarray(photo_like(64, 48, seed=i))
        hq.save(root / f"pairs/hq/{i:02d}.png")
        hq.resize((64 // SCALE, 48 // SCALE), Image.BOX).save(root / f"pairs/lq/{i:02d}.png")
    pairs = dict(hq=root / "pairs/hq", lq=root / "pairs/lq")
    export(root, **pairs, output=root / "many", formats=["webdataset", "lmdb"], shard_samples=3)
    export(root, **pairs, output=root / "few", formats=["webdataset"], shard_samples=12)
    return root


SOURCES = {"pair folders": lambda d: {"source": d / "pairs"},
           "webdataset, 7 shards": lambda d: {"source": d / "many/webdataset"},
           "webdataset, 2 shards for 4 readers": lambda d: {"source": sorted(
               (d / "few/webdataset").glob("*.tar"))},
           "lmdb": lambda d: {"source": d / "many", "kind": "lmdb"}}


def keys_seen(ds_kwargs: dict, *, rank: int, epoch: int = 0, workers: int = 2) -> list[str]:
    ds = PairedImageDataset(**ds_kwargs, hq_size=16, scale=SCALE, shuffle_buffer=6, seed=3,
                            rank=rank, world_size=2, hflip=True, rot90=True)
    ds.set_epoch(epoch)
    seen = []
    for batch in DataLoader(ds, batch_size=3, num_workers=workers):
        assert batch["hq"].shape[1:] == (3, 16, 16) and batch["lq"].shape[1:] == (3, 4, 4)
        seen += batch["key"]
    return seen


@pytest.mark.parametrize("name", SOURCES)
def test_every_sample_exactly_once_across_2_workers_x_2_ranks(data, name):
    kwargs = SOURCES[name](data)
    ranks = [keys_seen(kwargs, rank=r) for r in (0, 1)]
    assert sorted(ranks[0] + ranks[1]) == KEYS
    assert ranks[0] and ranks[1] and not set(ranks[0]) & set(ranks[1])


def test_set_epoch_reshuffles_deterministically(data):
    kwargs = SOURCES["webdataset, 7 shards"](data)
    first, again = keys_seen(kwargs, rank=0, epoch=1), keys_seen(kwargs, rank=0, epoch=1)
    other = keys_seen(kwargs, rank=0, epoch=2)
    assert first == again and first != other


def as_uint8(t: torch.Tensor) -> np.ndarray:
    return (t.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)


def block_mean(image: np.ndarray) -> np.ndarray:
    """The exact box downscale by SCALE, in floating point."""
    h, w, c = image.shape
    return image.reshape(h // SCALE, SCALE, w // SCALE, SCALE, c).mean(axis=(1, 3))


def test_lq_crop_is_the_hq_crop_downscaled_by_measurement(data):
    ds = PairedImageDataset(data / "many", kind="lmdb", hq_size=32, scale=SCALE,
                            hflip=True, vflip=True, rot90=True, seed=5)
    shapes = set()
    for sample in ds:
        hq, lq = as_uint8(sample["hq"]), as_uint8(sample["lq"]).astype(float)
        assert np.abs(block_mean(hq) - lq).max() <= 1.0, sample["key"]   # rounding only
        shifted = block_mean(np.roll(hq, SCALE // 2, axis=(0, 1)))
        assert np.abs(shifted - lq).mean() > 4 * np.abs(block_mean(hq) - lq).mean() + 1
        shapes.add(hq.shape)
    assert shapes == {(32, 32, 3)} and ds.failures == 0


@pytest.mark.parametrize("kind", ["folder", "lmdb"])
def test_image_dataset_crops_every_image_once_across_ranks(data, tmp_path, kind):
    source = data / "pairs/hq"
    if kind == "lmdb":
        export(tmp_path, input=source, output=tmp_path / "single", formats=["lmdb"])
        source = tmp_path / "single/images.lmdb"
    seen = []
    for rank in (0, 1):
        ds = ImageDataset(source, crop=24, hflip=True, vflip=True, shuffle_buffer=4,
                          rank=rank, world_size=2)
        for batch in DataLoader(ds, batch_size=4, num_workers=2):
            assert batch["image"].shape[1:] == (3, 24, 24)
            seen += batch["key"]
    assert sorted(seen) == KEYS


def test_unreadable_sample_in_a_shard_is_counted_and_skipped(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for i in range(4):
        Image.fromarray(photo_like(24, 16, seed=i)).save(src / f"{i}.png")
    whole = (src / "3.png").read_bytes()
    (src / "3.png").write_bytes(whole[: len(whole) // 2])   # header fine, pixels cut short
    export(tmp_path, input=src, output=tmp_path / "out", formats=["webdataset"])
    ds = ImageDataset(tmp_path / "out")
    with pytest.warns(RuntimeWarning, match="skipped 3"):
        keys = [s["key"] for s in ds]
    assert keys == ["0", "1", "2"] and ds.failures == 1


def test_a_damaged_shard_loses_only_its_samples(data, tmp_path):
    shards = sorted((data / "many/webdataset").glob("*.tar"))
    broken = tmp_path / "broken.tar"
    broken.write_bytes(shards[0].read_bytes()[:1500])
    ds = PairedImageDataset([broken, *shards[1:]])
    with pytest.warns(RuntimeWarning):
        keys = [s["key"] for s in ds]
    assert set(keys) >= set(KEYS[3:]) and ds.failures >= 1


def test_rest_of_the_package_never_needs_torch():
    code = ("import sys; sys.modules['torch'] = None\n"
            "import dataset_forge.cli, dataset_forge.export.assemble\n"
            "from dataset_forge.actions.registry import all_actions\n"
            "assert 'export' in all_actions()\n"
            "try:\n    import dataset_forge.data\nexcept ImportError as e:\n    print(e)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "needs PyTorch" in proc.stdout


def test_an_export_with_both_shards_and_lmdb_says_which_kinds_to_pass(data):
    from dataset_forge.data import SourceError
    with pytest.raises(SourceError) as caught:
        PairedImageDataset(data / "many")
    assert str(caught.value) == (f"{data / 'many'} holds both WebDataset shards and LMDB; "
                                 "pass kind='webdataset' or kind='lmdb'")
