"""Golden glued values: bit for bit on the machine that wrote them, within float noise elsewhere.

Float32 training runs through vectorised kernels (ATen's AVX2/AVX-512 paths, MKL's per-CPU code) whose
last bits depend on the processor, and a few statistics of short smoke trainings (a median stall step)
move further. So a golden file records the machine that wrote it (:func:`machine`):

* on that machine (same fingerprint) every glued value must be **bit-identical**;
* on another, every name and every non-numeric text must match exactly, and every number (also the
  numbers inside a text or a record) to ``REL_TOL`` relative or ``ABS_TOL`` absolute; at most
  ``MAX_DRIFT_SHARE`` of a chapter's values may move further (chaotic statistics), and they are named.
"""
from __future__ import annotations

import math
import platform
import re

REL_TOL = 1e-3
ABS_TOL = 1e-9
MAX_DRIFT_SHARE = 0.05
MACHINE_KEY = "_machine"
_NUM = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?|nan|inf")


def machine() -> str:
    """What decides float32 results here: architecture, CPU model, ATen's kernel level, torch version."""
    import torch

    model = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as fh:
            model = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), model)
    except OSError:
        pass
    return f"{platform.machine()} | {model} | {torch.backends.cpu.get_cpu_capability()} | torch {torch.__version__}"


def _numbers(text: str) -> tuple[str, list[float]]:
    nums = [float(m) for m in _NUM.findall(text)]
    return _NUM.sub("#", text), nums


def close(a, b) -> bool:
    """Two glued values (``{mimetype: text}``) agree within float noise: the same texts with the numbers
    taken out, and every number within ``REL_TOL``/``ABS_TOL`` (NaN equals NaN)."""
    if a is None or b is None or set(a) != set(b):
        return False
    for k in a:
        ta, tb = ("".join(a[k]) if isinstance(a[k], list) else str(a[k]), "".join(b[k]) if isinstance(b[k], list) else str(b[k]))
        (sa, na), (sb, nb) = _numbers(ta), _numbers(tb)
        if sa != sb or len(na) != len(nb):
            return False
        for x, y in zip(na, nb):
            if math.isnan(x) and math.isnan(y):
                continue
            if not math.isclose(x, y, rel_tol=REL_TOL, abs_tol=ABS_TOL):
                return False
    return True


def compare(golden: dict, values: dict, here: str) -> tuple[list[str], list[str]]:
    """``(failures, drifted)``: what breaks the golden file, and (on another machine) the values that moved
    beyond float noise while within the allowed share."""
    made_on = golden.get(MACHINE_KEY)
    golden = {k: v for k, v in golden.items() if k != MACHINE_KEY}
    names = set(golden) | set(values)
    if made_on == here:
        return sorted(k for k in names if golden.get(k) != values.get(k)), []
    missing = sorted(k for k in names if k not in golden or k not in values)
    drifted = sorted(k for k in names - set(missing) if not close(golden[k], values[k]))
    fails = missing + (drifted if len(drifted) > MAX_DRIFT_SHARE * max(len(names), 1) else [])
    return fails, ([] if fails else drifted)
