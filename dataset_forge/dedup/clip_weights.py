"""Whether open_clip's pretrained weights can be had before anything waits for them.

open_clip downloads a tag's weights from the Hugging Face hub (or a URL) when they are not in
the local caches, and offline that meant a minute of retries before the error. `check` looks
in the caches first and, when the weights are not there and the hub cannot be reached (or
HF_HUB_OFFLINE is set), fails at once with the message a failed load gives. It reads open_clip's
table of pretrained tags from its source rather than importing it: the import brings in torch
and takes seconds.

    check("ViT-B-32", "laion2b_s34b_b79k")   # UsageError offline when the weights are missing
"""
from __future__ import annotations

import ast
import functools
import importlib.util
import os
import socket
import urllib.parse
import urllib.request
from pathlib import Path

from ..errors import UsageError

HF_FILES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")  # open_clip's names
CONNECT_TIMEOUT_S = 1.0


def load_error(weights: str, model: str, reason: str) -> UsageError:
    """The one error for CLIP weights that cannot be loaded, whatever the reason."""
    return UsageError(
        f"CLIP weights {weights!r} for {model} could not be loaded ({reason}). Without "
        f"internet, pass a local weights file: --clip-weights FILE (.pt/.bin/.safetensors from "
        f"a machine where open_clip downloaded them, found in ~/.cache/huggingface/hub), or use "
        f"--method phash, which needs no model.")


def _strings(call: ast.expr) -> dict[str, str]:
    """The string keyword arguments of a `_pcfg(url=..., hf_hub=...)` call."""
    if not isinstance(call, ast.Call):
        return {}
    return {kw.arg: kw.value.value for kw in call.keywords
            if kw.arg and isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str)}


@functools.lru_cache(maxsize=1)
def pretrained_table() -> dict[str, dict[str, dict[str, str]]]:
    """{model: {tag: {"url": ..., "hf_hub": ...}}} from open_clip's pretrained.py, unimported;
    empty when open_clip is missing or the file is not laid out as expected."""
    spec = importlib.util.find_spec("open_clip")
    if spec is None or not spec.submodule_search_locations:
        return {}
    try:
        source = (Path(list(spec.submodule_search_locations)[0]) / "pretrained.py").read_text()
        tree = ast.parse(source)
    except (OSError, SyntaxError, UnicodeDecodeError):
        return {}
    groups: dict[str, dict[str, dict[str, str]]] = {}
    table: dict[str, dict[str, dict[str, str]]] = {}
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)):
            continue
        name, value = node.targets[0].id, node.value
        if isinstance(value, ast.Call) and getattr(value.func, "id", "") == "dict":
            groups[name] = {kw.arg: _strings(kw.value) for kw in value.keywords if kw.arg}
        elif name == "_PRETRAINED" and isinstance(value, ast.Dict):
            table = {k.value: groups.get(v.id, {}) for k, v in zip(value.keys, value.values)
                     if isinstance(k, ast.Constant) and isinstance(v, ast.Name)}
    return table


def source(model: str, tag: str) -> dict[str, str] | None:
    """Where open_clip gets `tag` for `model` ({"url", "hf_hub"}), or None when unknown."""
    entry = pretrained_table().get(model, {}).get(tag.lower().replace("-", "_"))
    return entry if entry and (entry.get("hf_hub") or entry.get("url")) else None


def cached_file(entry: dict[str, str], cache_dir: str | None = None) -> Path | None:
    """The weights file in the local caches, where open_clip would look for it first: the
    Hugging Face hub cache for hub entries, ~/.cache/clip for URL ones."""
    hub = entry.get("hf_hub", "")
    if hub:
        from huggingface_hub import try_to_load_from_cache
        repo, filename = os.path.split(hub)    # "org/repo/" or "org/repo/file.bin"
        names = (os.path.splitext(filename)[0] + ".safetensors", filename) if filename \
            else HF_FILES
        for name in names:
            found = try_to_load_from_cache(repo, name, cache_dir=cache_dir)
            if isinstance(found, str):
                return Path(found)
        return None
    path = Path("~/.cache/clip").expanduser() / os.path.basename(entry["url"])
    return path if path.is_file() else None


def reachable(url: str, timeout: float = CONNECT_TIMEOUT_S) -> bool:
    """Whether a TCP connection to the URL's host (or the configured HTTPS proxy) opens."""
    proxy = urllib.request.getproxies().get("https")
    parsed = urllib.parse.urlsplit(proxy or url)
    host, port = parsed.hostname, parsed.port or (443 if parsed.scheme == "https" else 80)
    if not host:
        return True   # cannot tell: let the download try
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def offline() -> bool:
    from huggingface_hub import constants
    return bool(constants.HF_HUB_OFFLINE)


def check(model: str, weights: str) -> None:
    """Raise the load error at once when `weights` (a tag of `model`) are neither in the local
    caches nor downloadable now. Files, unknown tags and custom models are left to open_clip."""
    if Path(weights).expanduser().is_file():
        return
    entry = source(model, weights)
    if entry is None or cached_file(entry) is not None:
        return
    if entry.get("hf_hub"):
        from huggingface_hub import constants
        where = constants.ENDPOINT
        if offline():
            raise load_error(weights, model, "not in the local caches and HF_HUB_OFFLINE is set")
    else:
        where = entry["url"]
    if not reachable(where):
        host = urllib.parse.urlsplit(where).hostname
        raise load_error(weights, model, f"not in the local caches and {host} cannot be reached")
