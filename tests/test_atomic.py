"""io.atomic and io.paths: modes kept, temporaries cleaned, copies whole, overlapping outputs refused."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from dataset_forge.errors import UsageError
from dataset_forge.io import (atomic_copy, atomic_save, atomic_write, check_output,
                              leftover_temporaries, remove_leftover_temporaries)


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o7777


@pytest.mark.parametrize("bits", [0o644, 0o640, 0o600, 0o664])
def test_in_place_save_keeps_the_files_mode(tmp_path, bits):
    target = tmp_path / "a.png"
    target.write_bytes(b"old")
    os.chmod(target, bits)
    atomic_save(target, lambda fh: fh.write(b"new"))
    assert target.read_bytes() == b"new" and mode(target) == bits
    with atomic_write(target, "w") as fh:
        fh.write("text")
    assert target.read_text() == "text" and mode(target) == bits


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o077])
def test_new_files_get_the_umask_mode(tmp_path, umask):
    import dataset_forge.io.atomic as atomic
    old = os.umask(umask)
    atomic._umask.cache_clear()
    try:
        atomic_save(tmp_path / "new.bin", lambda fh: fh.write(b"x"))
        with atomic_write(tmp_path / "sub" / "new.txt", "w") as fh:
            fh.write("x")
    finally:
        os.umask(old)
        atomic._umask.cache_clear()
    assert mode(tmp_path / "new.bin") == 0o666 & ~umask
    assert mode(tmp_path / "sub" / "new.txt") == 0o666 & ~umask


def test_failed_verify_or_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "a.bin"
    target.write_bytes(b"old")

    def refuse(path: Path) -> None:
        assert path.read_bytes() == b"bad"
        raise ValueError("does not decode")

    with pytest.raises(ValueError):
        atomic_save(target, lambda fh: fh.write(b"bad"), refuse)
    with pytest.raises(RuntimeError):
        with atomic_write(target) as fh:
            fh.write(b"half")
            raise RuntimeError
    assert target.read_bytes() == b"old" and leftover_temporaries(tmp_path) == []


def test_atomic_copy_keeps_bytes_mode_and_times(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(os.urandom(3 << 20))       # more than one copy chunk
    os.chmod(src, 0o640)
    os.utime(src, (1_000_000, 1_000_000))
    dst = atomic_copy(src, tmp_path / "deep" / "dst.bin")
    assert dst.read_bytes() == src.read_bytes() and mode(dst) == 0o640
    assert dst.stat().st_mtime == 1_000_000
    assert leftover_temporaries(tmp_path) == []


def test_remove_leftover_temporaries_deletes_only_ours(tmp_path):
    (tmp_path / "sub").mkdir()
    ours = [tmp_path / ".a.png.x1.forge-tmp", tmp_path / "sub" / ".b.webp.y2.forge-tmp"]
    theirs = [tmp_path / "a.png", tmp_path / ".hidden", tmp_path / "c.forge-tmp"]
    for path in ours + theirs:
        path.write_bytes(b"x")
    assert remove_leftover_temporaries(tmp_path) == 2
    assert not any(p.exists() for p in ours) and all(p.exists() for p in theirs)
    assert remove_leftover_temporaries(tmp_path / "missing") == 0


@pytest.mark.parametrize("output,word", [("in", "is the input"), ("in/deep/out", "inside"),
                                         (".", "contains")])
def test_check_output_refuses_overlaps(tmp_path, output, word):
    (tmp_path / "in").mkdir()
    with pytest.raises(UsageError, match=word) as info:
        check_output(tmp_path / output, [None, tmp_path / "in"], flag="--dest")
    assert str(info.value).startswith("--dest ") and "\n" not in str(info.value)


def test_check_output_allows_siblings(tmp_path):
    check_output(tmp_path / "in-out", [tmp_path / "in", tmp_path / "other"])


def test_journal_after_a_torn_last_line_keeps_what_it_appends(tmp_path):
    """A kill mid-line leaves the journal's last line cut short; the next run's entries must
    not be glued onto it (and lost when read back)."""
    from dataset_forge.io import Journal
    path = tmp_path / "j.jsonl"
    with Journal(path, "fp") as journal:
        journal.mark("a")
    path.write_bytes(path.read_bytes() + b'{"key": "b", "inf')      # the kill
    with Journal(path, "fp") as journal:
        journal.mark("c")
    reread = Journal(path, "fp")
    assert reread.done("a") and reread.done("c") and len(reread) == 2
