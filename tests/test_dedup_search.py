"""The verifier's crop/turn search ranks candidates on approximate grids (cv2) and decides on
exact ones (PIL): its scores must be those of the exhaustive search wherever they can decide
anything (at least EXACT_FROM), and the approximation must stay within EPS. Generated pictures
with texture; no files needed."""
from __future__ import annotations

import numpy as np
from PIL import Image

from dataset_forge.dedup import aligned
from dataset_forge.dedup.aligned import (COARSE, DIHEDRAL, EXACT_FROM, MOVES, REFINE, View,
                                         compare_views, signature)
from dataset_forge.dedup.grids import (EPS, Grid, Stack, approx_samples, sample, similarity)
from lookalikes import colour_design, diagram, light_picture, star_field


def _view(im: Image.Image) -> View:
    return View.of(signature(im))


def test_approximate_grids_and_scores_stay_within_eps_of_the_exact_ones():
    """Every crop and turn of every mirror/turn of a few pictures: the cv2 samples differ from
    PIL's by at most one grey level, and the batched scores from `similarity` by under EPS."""
    for picture in (star_field(4), diagram(5), colour_design(6), light_picture(7)):
        view = _view(picture)
        for sym in range(len(DIHEDRAL)):
            approx = approx_samples(view.array, MOVES["a"], DIHEDRAL[sym])
            exact = np.stack([sample(view.turned(sym), s, t) for s, t in MOVES["a"]])
            assert np.abs(approx - exact).max() <= 1.0, (picture, sym)
        fixed = view.plain(0)
        exact = [similarity(Grid(sample(view.grey, s, t)), fixed) for s, t in MOVES["a"]]
        stack = Stack(approx_samples(view.array, MOVES["a"]))
        approx = np.minimum(stack.plain(fixed),
                            stack.detail_agreement(fixed, np.arange(len(MOVES["a"]))))
        assert np.abs(approx - np.array(exact)).max() < EPS, picture


def _exhaustive(a: View, b: View) -> float:
    """The search as it was before ranking: every symmetry, crop and turn scored exactly."""
    plain_a = Grid(sample(a.grey, 1.0, 0.0))
    syms = [k for k in range(len(DIHEDRAL)) if abs(np.log(
        (a.grey.width / a.grey.height) / (b.turned(k).width / b.turned(k).height)))
        <= np.log(aligned.MAX_ASPECT)]
    sym = max(syms, key=lambda k: (aligned.ncc(plain_a.plain, Grid(sample(
        b.turned(k), 1.0, 0.0)).plain), -k))
    b_grey = b.turned(sym)
    fixed = {"a": Grid(sample(b_grey, 1.0, 0.0)), "b": plain_a}
    moving = {"a": a.grey, "b": b_grey}
    best, how = similarity(plain_a, fixed["a"]), ("a", 1.0, 0.0)
    if best >= aligned.EARLY_ACCEPT:
        return best
    for side, s, t in COARSE:
        score = similarity(Grid(sample(moving[side], s, t)), fixed[side])
        if score > best:
            best, how = score, (side, s, t)
    if how[1:] != (1.0, 0.0):
        side, s, t = how
        for ds, da in REFINE:
            if s + ds <= 1.0:
                best = max(best, similarity(Grid(sample(moving[side], s + ds, t + da)),
                                            fixed[side]))
    return best


def test_the_ranked_search_finds_the_exhaustive_score():
    """Copies that need the search (a crop, turns on and between the coarse steps, a mirrored
    crop) and look-alikes: the same grey score as trying everything exactly, wherever it is
    at least EXACT_FROM; under it, never more than the exhaustive score."""
    sky, page = star_field(11), diagram(12)
    w, h = sky.size
    pairs = [(sky, sky.crop((10, 8, w - 10, h - 8)).resize(sky.size, Image.Resampling.LANCZOS)),
             (sky, sky.rotate(3, Image.Resampling.BICUBIC)),
             (sky, sky.rotate(2.2, Image.Resampling.BICUBIC)),
             (page, page.rotate(-4, Image.Resampling.BICUBIC)),
             (page, page.transpose(Image.Transpose.FLIP_LEFT_RIGHT).crop((8, 6, w - 8, h - 6))),
             (sky, star_field(13)), (page, diagram(14))]
    for one, other in pairs:
        a, b = _view(one), _view(other)
        found = aligned.align(a, b)[0]
        truth = _exhaustive(a, b)
        if truth >= EXACT_FROM:
            assert found == truth, (found, truth)
        else:
            assert found <= truth + 1e-9 and found < EXACT_FROM, (found, truth)
    assert compare_views(_view(sky), _view(star_field(13)))[0] < EXACT_FROM


def test_threads_sharing_the_per_signature_caches_get_the_serial_scores():
    """Thread-pool workers share the caches of views and grids (keyed by the signature
    arrays' identity): scores under contention equal the serial ones."""
    from concurrent.futures import ThreadPoolExecutor
    sigs = [signature(im) for im in (star_field(21), star_field(22), diagram(23),
                                     colour_design(24), light_picture(25))]
    sigs.append(signature(star_field(21).rotate(3, Image.Resampling.BICUBIC)))
    pairs = [(a, b) for a in sigs for b in sigs if a is not b] * 3
    serial = [aligned.score_signatures(a, b) for a, b in pairs]
    with ThreadPoolExecutor(4) as pool:
        threaded = list(pool.map(lambda p: aligned.score_signatures(*p), pairs))
    assert threaded == serial
