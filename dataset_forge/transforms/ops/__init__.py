"""The operation library: geometric, colour and degradation ops, each declared once.

    from dataset_forge.transforms.ops import all_ops, get_op
    blur = get_op("gaussian_blur")
    out = blur.apply(img, {"sigma": 1.5}, rng, 1)

Pipelines (`dataset_forge.transforms.pipeline`) draw each op's field values and apply them; see
docs/transforms.md for the list of ops and their fields.
"""
from .fields import Bool, Choice, Colour, Field, FieldError, Float, Int, Str
from .registry import DEGRADE, GEOMETRIC, PHOTOMETRIC, RESAMPLE, Op, OpKind, all_ops, get_op, op

__all__ = ["Bool", "Choice", "Colour", "DEGRADE", "Field", "FieldError", "Float", "GEOMETRIC", "Int", "Op",
           "OpKind", "PHOTOMETRIC", "RESAMPLE", "Str", "all_ops", "get_op", "op"]
