"""Shared helpers of the benchmark scripts: machine description and the JSON results file that the
book's performance appendix renders."""
from __future__ import annotations

import json
import os
import platform
from datetime import datetime, timezone
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict:
    import torch

    info = {
        "platform": f"{platform.system()} {platform.machine()}",
        "cpu_cores": os.cpu_count(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
    }
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def save_result(name: str, payload: dict) -> Path:
    """Write ``benchmarks/results/<name>.json`` with the machine and a timestamp added."""
    RESULTS.mkdir(exist_ok=True)
    data = {**payload, "machine": machine(),
            "measured_at": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, indent=1, default=str) + "\n")
    print(f"wrote {path}")
    return path
