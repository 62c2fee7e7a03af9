"""Make `import torchvision` work where its compiled extension does not load.

The registry's torchvision wheels are CUDA builds. On a CPU-only torch their C++ extension
fails to load, and `torchvision/__init__.py` then dies in `_meta_registrations` with
`RuntimeError: operator torchvision::nms does not exist` (it registers fake kernels for ops
that were never defined). open_clip and lpips import torchvision only for transforms and
model definitions, which are pure Python and work fine without the extension.

`import_torchvision()` imports torchvision normally; only on that one error it forgets the
half-imported modules, stands in an empty `torchvision._meta_registrations` (the module that
fails; it only matters for torch.compile of detection ops) and imports again. Detection ops
such as `torchvision.ops.nms` still raise their own clear error if someone calls them.
Call it before importing open_clip or lpips.
"""
from __future__ import annotations

import sys
import types

_FAILED_OP = "torchvision::"


def import_torchvision() -> types.ModuleType:
    """Import torchvision, working around a CUDA build's missing extension on CPU torch."""
    try:
        import torchvision
        return torchvision
    except RuntimeError as exc:
        if _FAILED_OP not in str(exc):
            raise
    for name in [n for n in sys.modules if n == "torchvision" or n.startswith("torchvision.")]:
        del sys.modules[name]
    sys.modules["torchvision._meta_registrations"] = types.ModuleType(
        "torchvision._meta_registrations")
    import torchvision
    return torchvision
