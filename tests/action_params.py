"""Demo inputs for every registered action, shared by the cross-family tests.

An action missing here fails `test_every_registered_action_has_demo_params`, so a new action is
never silently left out of the Dask comparison or the contract checks. "OUT" stands for the
output folder a test chooses.
"""
from pathlib import Path

DEMO = Path(__file__).resolve().parent.parent / "assets" / "demo"
PAIR = {"hq": DEMO / "hq", "lq": DEMO / "lq_x2"}
ACTION_PARAMS = {
    "inventory": {"input": DEMO / "mixed"},
    "integrity": {"input": DEMO / "mixed"},
    "quality": {"input": DEMO / "hq"},
    "pairs": PAIR,
    "validate": PAIR,
    "compress": {"input": DEMO / "mixed", "output": "OUT"},
    "convert": {"input": DEMO / "hq", "output": "OUT", "format": "webp", "quality": 80},
    "resize": {"input": DEMO / "hq", "output": "OUT", "scale": 0.5},
    "crop": {**PAIR, "output": "OUT", "mode": "random", "width": 64, "height": 48, "seed": 3},
    "tile": {"input": DEMO / "hq", "output": "OUT", "tile_size": 96},
    "make-lq": {"input": DEMO / "hq", "output": "OUT", "pipeline":
                '[{"op": "gaussian_noise", "sigma": 4.0}]', "seed": 2},
    "augment": {**PAIR, "output": "OUT", "variations": 2, "seed": 1, "pipeline":
                '[{"op": "flip"}, {"op": "gaussian_noise", "sigma": 5.0}]'},
    "mixup": {"input": DEMO / "hq", "output": "OUT", "seed": 4},
    "quarantine": {"input": DEMO / "mixed", "rules": "integrity", "dest": "OUT"},
    "split": {"input": DEMO / "mixed", "output": "OUT"},
    "rename": PAIR,
    "organise": {"input": DEMO / "mixed", "by": "aspect"},
    "fix-pairs": {**PAIR, "output": "OUT"},
    "combine": {"inputs": [DEMO / "hq", DEMO / "mixed"], "output": "OUT"},
    "dedup": {"input": DEMO / "mixed", "output": "OUT", "pixels": True, "cache": "off"},
    "export": {**PAIR, "output": "OUT", "formats": "webdataset,parquet"},
    "score": {"input": DEMO / "hq"},
    "upscale": {"input": DEMO / "lq_x2", "output": "OUT",
                "model": DEMO.parent / "models" / "nearest_x2.pth"},
}
