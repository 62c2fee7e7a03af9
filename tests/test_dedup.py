"""Deduplication engine: pair search, groups, keep policies, cache, file operations, undo."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from dataset_forge.dedup.cache import FeatureCache, file_stat
from dataset_forge.dedup.exact import file_digest, pixel_digest
from dataset_forge.dedup.fileops import FileOp, perform, plan_ops
from dataset_forge.dedup.groups import choose_keep, keeper_groups
from dataset_forge.dedup.index import Pairs, cosine_pairs, equal_pairs, hamming_pairs
from dataset_forge.dedup.perceptual import PerceptualHash, hash_image
from dataset_forge.dedup.plan import PlanMember
from dataset_forge.io.undo import UndoManifest, plan_undo, replay, sha256_of


def brute_hamming(codes: np.ndarray, d: int) -> set[tuple[int, int]]:
    bits = np.unpackbits(codes, axis=1).astype(np.int16)
    dist = (bits[:, None, :] != bits[None, :, :]).sum(-1)
    i, j = np.nonzero(np.triu(dist <= d, 1))
    return set(zip(i.tolist(), j.tolist()))


@pytest.mark.parametrize("strategy", ["flat", "mih"])
def test_hamming_pairs_match_brute_force(strategy):
    rng = np.random.default_rng(1)
    base = rng.integers(0, 256, (40, 8), dtype=np.uint8)
    codes = np.concatenate([base, base ^ (rng.random((40, 8)) < 0.03).astype(np.uint8)])
    found = hamming_pairs(codes, 3, strategy=strategy, block=17)
    assert set(zip(found.i.tolist(), found.j.tolist())) == brute_hamming(codes, 3)
    assert np.all(found.i < found.j) and np.all(found.score <= 3)


def test_collection_rows_are_searched_but_not_queried():
    codes = np.zeros((4, 8), np.uint8)          # rows 0, 1: collection; 2, 3: new
    found = hamming_pairs(codes, 0, first_query=2)
    assert set(zip(found.i.tolist(), found.j.tolist())) == {(0, 2), (1, 2), (0, 3), (1, 3), (2, 3)}
    digests = np.array([[1], [1], [2], [2], [1]], np.uint8)
    eq = equal_pairs(digests, first_query=2)     # group {2, 3} and {0, 1, 4}
    assert set(map(frozenset, zip(eq.i.tolist(), eq.j.tolist()))) <= {
        frozenset(p) for p in [(0, 1), (0, 4), (1, 4), (2, 3)]}
    assert {0, 1, 4} <= set(eq.i.tolist()) | set(eq.j.tolist())


def test_cosine_pairs_exact_and_ivf_find_planted_duplicates():
    rng = np.random.default_rng(2)
    emb = rng.normal(size=(3000, 32)).astype(np.float32)
    emb[1500:1510] = emb[:10] + 0.02 * rng.normal(size=(10, 32))
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    truth = {(k, 1500 + k) for k in range(10)}
    for strategy in ("exact", "ivf"):
        found = cosine_pairs(emb, 0.97, strategy=strategy, block=700)
        assert set(zip(found.i.tolist(), found.j.tolist())) == truth
        assert np.all(found.score >= 0.97)


def Member(path, size, mtime, width, height, protected=False):
    return PlanMember(path, "/" + path, size, int(mtime * 1e9), width, height, protected)


def test_groups_never_chain_and_links_between_groups_are_related():
    """A chain 0-1-2-3-4 (each pair confirmed, ends unrelated): keeper-centred groups drop only
    direct duplicates of their keeper; the pairs joining two groups are 'related'."""
    sizes = {0: 900, 1: 100, 2: 800, 3: 90, 4: 700, 5: 50, 6: 40}
    members = {r: Member(f"m{r}.png", 1, 0, sizes[r], 10) for r in sizes}
    pairs = Pairs(np.array([0, 1, 2, 3, 5]), np.array([1, 2, 3, 4, 6]), np.arange(5, dtype=np.float32))
    stars, related = keeper_groups(pairs, members.__getitem__, "resolution")
    got = {s.keeper: sorted(s.rows) for s in stars}
    assert got == {0: [0, 1], 2: [2, 3], 5: [5, 6]}          # 4 pairs only with 3: left alone
    pair_rows = {(int(pairs.i[n]), int(pairs.j[n])) for n in related}
    assert pair_rows == {(1, 2), (3, 4)}
    for s in stars:                                             # every member pairs its keeper
        for r, n in zip(s.rows[1:], s.edges):
            assert {int(pairs.i[n]), int(pairs.j[n])} == {s.keeper, r}


def test_a_linked_group_joins_only_when_every_file_is_confirmed_against_the_keeper():
    """Group {0, 1} and group {2, 3} linked by the related pair (1, 2): {2, 3} joins 0's
    group only if the verifier confirms both 2 and 3 against keeper 0."""
    sizes = {0: 900, 1: 100, 2: 800, 3: 90}
    members = {r: Member(f"m{r}.png", 1, 0, sizes[r], 10) for r in sizes}
    pairs = Pairs(np.array([0, 1, 2]), np.array([1, 2, 3]), np.zeros(3, np.float32))
    from dataset_forge.dedup.groups import absorb
    for verdicts, expect in (({2: 0.95, 3: 0.9}, {0: [0, 1, 2, 3]}),
                             ({2: 0.95, 3: None}, {0: [0, 1], 2: [2, 3]})):
        stars, related = keeper_groups(pairs, members.__getitem__, "resolution")
        asked = []

        def confirm(items, verdicts=verdicts):
            asked.extend(items)
            return [verdicts[r] for _, r in items]
        stars = absorb(stars, pairs, related, confirm)
        assert {s.keeper: sorted(s.rows) for s in stars} == expect
        assert sorted(asked) == [(0, 2), (0, 3)]


@pytest.mark.parametrize("policy,kept", [("resolution", "big.png"), ("size", "heavy.png"),
                                         ("newest", "new.png"), ("oldest", "old.png"),
                                         ("shortest-path", "a.png")])
def test_keep_policies(policy, kept):
    members = [Member("sub/big.png", 100, 5.0, 400, 300), Member("sub/heavy.png", 900, 4.0, 200, 150),
               Member("sub/new.png", 50, 9.0, 100, 75), Member("sub/old.png", 60, 1.0, 100, 75),
               Member("a.png", 10, 3.0, 50, 40)]
    assert members[choose_keep(members, policy)[0]].path.endswith(kept)


def test_reference_files_are_always_kept_and_become_keepers_first():
    members = [Member("big.png", 900, 1, 800, 600), Member("ref/small.png", 10, 1, 80, 60, True)]
    assert choose_keep(members, "resolution") == [1]
    pairs = Pairs(np.array([0]), np.array([1]), np.zeros(1, np.float32))
    stars, _ = keeper_groups(pairs, members.__getitem__, "resolution")
    assert stars[0].keeper == 1 and stars[0].rows == [1, 0]


def test_perceptual_hash_finds_resized_and_reencoded_copies(tmp_path, make_image):
    from PIL import Image
    src = make_image(tmp_path / "a.png", size=(160, 120), seed=3)
    Image.open(src).resize((80, 60)).save(tmp_path / "small.png")
    Image.open(src).save(tmp_path / "q40.jpg", quality=40)
    Image.open(src).transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(tmp_path / "flip.png")
    make_image(tmp_path / "other.png", size=(160, 120), seed=99)
    paths = [tmp_path / n for n in ("a.png", "small.png", "q40.jpg", "flip.png", "other.png")]
    for invariant, expected in ((False, {(0, 1), (0, 2), (1, 2)}),
                                (True, {(0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3)})):
        method = PerceptualHash("phash", 8, 8, invariant)
        feats = np.stack([hash_image(p, "phash", 8, invariant) for p in paths])
        found = method.find_pairs(feats)
        assert set(zip(found.i.tolist(), found.j.tolist())) == expected


def test_pixel_digest_ignores_container_but_byte_digest_does_not(tmp_path, make_image):
    from PIL import Image
    png = make_image(tmp_path / "a.png", seed=4)
    Image.open(png).save(tmp_path / "a.bmp")
    assert not np.array_equal(file_digest(png), file_digest(tmp_path / "a.bmp"))
    assert np.array_equal(pixel_digest(png), pixel_digest(tmp_path / "a.bmp"))
    assert file_digest(png).tobytes().hex() == sha256_of(png)    # reused by the undo manifest


def test_pixel_digest_keeps_alpha_and_bit_depth_but_not_the_encoder(tmp_path, make_image):
    from PIL import Image
    rgb = Image.open(make_image(tmp_path / "a.png", size=(32, 24), seed=5)).convert("RGB")
    opaque = rgb.copy()
    opaque.putalpha(255)
    opaque.save(tmp_path / "opaque.png")
    white = Image.new("RGB", rgb.size, "white")
    white.save(tmp_path / "white.png")
    white.putalpha(Image.linear_gradient("L").resize(rgb.size))   # same RGB, other alpha
    white.save(tmp_path / "white_faded.png")
    rgb.save(tmp_path / "same.webp", lossless=True)
    rgb.save(tmp_path / "same.tiff")
    digest = {p.name: pixel_digest(p).tobytes() for p in tmp_path.iterdir()}
    assert digest["opaque.png"] == digest["a.png"] == digest["same.webp"] == digest["same.tiff"]
    assert digest["white_faded.png"] != digest["white.png"]
    deep = (np.arange(32 * 24, dtype=np.uint16).reshape(24, 32) % 255) * 257   # 8-bit levels
    Image.fromarray(deep).save(tmp_path / "deep.png")
    Image.fromarray(deep + 1).save(tmp_path / "deep_plus_one.png")   # equal after 16 -> 8 bits
    assert pixel_digest(tmp_path / "deep.png").tobytes() != \
        pixel_digest(tmp_path / "deep_plus_one.png").tobytes()


def test_cache_hits_only_unchanged_files(tmp_path):
    f = tmp_path / "x.bin"
    f.write_bytes(b"one")
    with FeatureCache(tmp_path / "c.sqlite") as cache:
        cache.store("m", [(file_stat(f), b"value")])
        assert cache.lookup("m", [file_stat(f)]) == {0: b"value"}
        assert cache.lookup("other-method", [file_stat(f)]) == {}
        f.write_bytes(b"changed")
        os.utime(f, ns=(1, 1))
        assert cache.lookup("m", [file_stat(f)]) == {}
    assert FeatureCache.open("off").lookup("m", [file_stat(f)]) == {}


def test_operations_undo_byte_for_byte(tmp_path):
    src = tmp_path / "in"
    files = {}
    for name in ("a.bin", "sub/b.bin", "c.bin", "d.bin"):
        p = src / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(os.urandom(64) + name.encode())
        files[p] = p.read_bytes()
    dest = tmp_path / "out"
    manifest_path = tmp_path / "undo.jsonl"
    ops = (plan_ops([(src / "a.bin", Path("a.bin")), (src / "sub/b.bin", Path("sub/b.bin"))], "move", dest)
           + plan_ops([(src / "c.bin", Path("c.bin"))], "copy", dest)
           + plan_ops([(src / "d.bin", Path("d.bin"))], "symlink", dest))
    with UndoManifest(manifest_path, "test") as manifest:
        for op in ops:
            assert perform(op, manifest, sha256_of(op.src), op.src.stat().st_size) == "done"
        # a second run over the same copy is recognised, never overwritten
        assert perform(ops[2], manifest, sha256_of(ops[2].src), 1) == "already done"
    assert not (src / "a.bin").exists() and (dest / "sub/b.bin").read_bytes() == files[src / "sub/b.bin"]
    assert (dest / "d.bin").is_symlink()
    assert [s.status for s in plan_undo(manifest_path)] == ["remove-created", "remove-created",
                                                            "restore", "restore"]
    results = list(replay(manifest_path))
    assert all(err is None for _, err in results)
    assert {p: p.read_bytes() for p in files} == files
    assert not (dest / "c.bin").exists() and not (dest / "d.bin").exists()
    # replaying again changes nothing
    assert {s.status for s in plan_undo(manifest_path)} <= {"done", "skip"}


def test_move_never_overwrites(tmp_path):
    (tmp_path / "a").write_bytes(b"a")
    (tmp_path / "dst").mkdir()
    (tmp_path / "dst" / "a").write_bytes(b"other")
    with UndoManifest(tmp_path / "u.jsonl", "test") as manifest, pytest.raises(FileExistsError):
        perform(FileOp("move", tmp_path / "a", tmp_path / "dst" / "a"), manifest, "x", 1)
    assert (tmp_path / "a").read_bytes() == b"a" and (tmp_path / "dst" / "a").read_bytes() == b"other"


def test_trash_index_finds_newest_matching_copy_in_a_trash(tmp_path, monkeypatch):
    """A freedesktop trash written by hand (send2trash fixes its folder at import)."""
    import hashlib
    from dataset_forge.io.undo import TrashIndex
    trash = tmp_path / "share" / "Trash"
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    target, other = tmp_path / "photos" / "a.png", tmp_path / "photos" / "b.png"
    for name, original, content, date in (
            ("a.png", target, b"first", "2026-01-01T10:00:00"),
            ("a 1.png", target, b"second", "2026-01-02T10:00:00"),
            ("a 2.png", target, b"second", "2026-01-03T10:00:00"),
            ("b.png", other, b"other", "2026-01-01T10:00:00")):
        (trash / "files").mkdir(parents=True, exist_ok=True)
        (trash / "info").mkdir(exist_ok=True)
        (trash / "files" / name).write_bytes(content)
        (trash / "info" / f"{name}.trashinfo").write_text(
            f"[Trash Info]\nPath={original}\nDeletionDate={date}\n")
    digest = {c: hashlib.sha256(c).hexdigest() for c in (b"first", b"second", b"other", b"x")}
    index = TrashIndex()
    assert index.find(target, digest[b"second"]) == trash / "files" / "a 2.png"   # newest
    assert index.find(target, digest[b"first"]) == trash / "files" / "a.png"
    assert index.find(target, None) == trash / "files" / "a 2.png"
    assert index.find(other, digest[b"other"]) == trash / "files" / "b.png"
    assert index.find(target, digest[b"x"]) is None
    assert index.find(tmp_path / "photos" / "c.png", None) is None
