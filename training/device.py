"""Where training runs: the device, and the autocast dtype it computes in."""

from __future__ import annotations

from typing import Optional

import torch


def pick_device(cfg: dict) -> torch.device:
    if torch.cuda.is_available():
        torch.backends.cuda.matmul.allow_tf32 = True   # float32 evaluation on the GPU
        return torch.device("cuda")
    return torch.device("cpu")


def amp_dtype(cfg: dict, device: torch.device) -> Optional[torch.dtype]:
    """bfloat16 autocast where the config asks for it and the device has it (CUDA); else None."""
    return torch.bfloat16 if (cfg["bf16"] and device.type == "cuda") else None
