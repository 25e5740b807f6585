"""Chapter parameters the ecosystem's way: papermill's ``-p`` conversion, ``-y``/``-f`` YAML, the
listing of a chapter's parameters, and the command that reruns a notebook as it was made."""
from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

from ..config import DEVICES, PROFILES
from ..validation import check_choice
from .chapters import Chapter, parse_parameters


def parse_value(text: str):
    """Convert a ``-p name value`` value exactly as papermill's CLI does: ``True``/``False``/``None``,
    then an ``int``, then a ``float``, else the string itself (lists and dicts go through ``-y``/``-f``)."""
    if text == "True":
        return True
    if text == "False":
        return False
    if text == "None":
        return None
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def load_yaml_parameters(*, file: Path | str | None = None, text: str | None = None) -> dict:
    """Parameters from a YAML file (``-f``) and a YAML string (``-y``), the string winning, as papermill
    merges them; a clear error when either is not a mapping."""
    import yaml

    out: dict = {}
    for what, src in (("-f " + str(file), Path(file).read_text() if file else None), ("-y", text)):
        if src is None:
            continue
        try:
            data = yaml.safe_load(src)
        except yaml.YAMLError as exc:
            raise ValueError(f"{what}: not valid YAML ({exc.__class__.__name__})") from None
        if data is None:
            continue
        if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
            raise ValueError(f"{what}: parameters must be a YAML mapping of names to values, got {type(data).__name__}")
        out.update(data)
    return out


def resolve_params(chapter: Chapter, overrides: dict) -> dict:
    """The chapter's defaults updated by ``overrides``, validated before anything runs."""
    defaults = chapter.defaults
    unknown = sorted(set(overrides) - set(defaults))
    if unknown:
        raise ValueError(
            f"chapter {chapter.stem} has no parameter {', '.join(map(repr, unknown))}; "
            f"valid parameters are: {', '.join(defaults)}"
        )
    params = {**defaults, **overrides}
    check_choice("profile", params["profile"], PROFILES)
    check_choice("device", params["device"], DEVICES)
    return params


def describe_parameters(chapter: Chapter) -> list[dict]:
    """One row per parameter of a chapter: name, default, type and the description (with the valid
    choices or range) written beside it in the parameters cell."""
    text = chapter.source.read_text()
    comments = {}
    for line in text.splitlines():
        m = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)\s*=.*?#\s*(.*)$", line)
        if m and m.group(1) in chapter.defaults and m.group(1) not in comments:
            comments[m.group(1)] = m.group(2).strip()
    rows = []
    for name, value in chapter.defaults.items():
        kind = "any (None: the profile's)" if value is None else type(value).__name__
        note = comments.get(name, "")
        if name == "profile":
            note = note or "one of: " + ", ".join(PROFILES)
        elif name == "device":
            note = note or "one of: " + ", ".join(DEVICES)
        elif name == "seed":
            note = note or "an integer >= 0"
        rows.append({"name": name, "default": value, "type": kind, "description": note})
    return rows


def rerun_command(meta: dict, root: Path | None = None) -> str:
    """The command that executes a notebook again as it was made: its profile, and every other
    parameter whose value differs from the chapter's default (read from the source under ``root``).
    Scalars go through ``-p``; lists and mappings through ``-y`` (YAML), as papermill takes them."""
    defaults = {}
    if root is not None:
        try:
            defaults = parse_parameters((Path(root) / meta.get("source", "")).read_text())
        except (OSError, ValueError, SyntaxError):
            defaults = {}
    params = meta.get("parameters", {})
    args, structured = [], {}
    for k, v in params.items():
        if not (k == "profile" or k not in defaults or defaults[k] != v):
            continue
        if isinstance(v, (list, tuple, dict)):
            structured[k] = v
        elif isinstance(v, str) and parse_value(v) != v:
            structured[k] = v  # a string papermill's -p would turn into a number or a bool
        else:
            args.append(f"-p {k} {shlex.quote('None' if v is None else str(v))}")
    if structured:
        args.append("-y " + shlex.quote(json.dumps(structured)))
    return " ".join(["python -m rgsym.pipeline run", str(meta.get("chapter", "")), *args])
