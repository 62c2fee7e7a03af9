"""Model work on the GPU core: super-resolution models loaded from files (`sr.py`, through
spandrel) and tiled inference with seamless blending (`tiling.py`). torch and spandrel are the
optional `models` extra."""
