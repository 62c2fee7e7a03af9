"""Dataset Forge: prepare image datasets for training, above all HQ/LQ super-resolution pairs.

The engine lives here (no Textual imports); `menus/` is the terminal app over the same engine.
"""
__version__ = "0.1.0"
