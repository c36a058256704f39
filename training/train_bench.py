"""Training throughput (`train.py bench`): the efficient latent pass against the naive one."""

from __future__ import annotations

import time
from typing import Any, Dict, List

import numpy as np
import torch

try:
    from .batch_layout import make_batch
    from .device import amp_dtype, pick_device
    from .example_stream import BatchStream, RecordSource, encoder_for
    from .latent_pass import amp_context, latent_forward, latent_forward_naive, losses
    from .model import GPT, GPTConfig
    from .optimizer import make_optimizer
    from .train_config import max_len_of
except ImportError:  # pragma: no cover - script use
    from batch_layout import make_batch
    from device import amp_dtype, pick_device
    from example_stream import BatchStream, RecordSource, encoder_for
    from latent_pass import amp_context, latent_forward, latent_forward_naive, losses
    from model import GPT, GPTConfig
    from optimizer import make_optimizer
    from train_config import max_len_of


def bench(cfg: dict, stage: int, steps: int, warmup: int = 1, naive: bool = True, log=print) -> dict:
    """Training steps (forward, backward, optimizer) per second at `stage`, efficient vs naive
    latent pass, interleaved on the same batches. On the CPU the time is this process's CPU time
    (other people's load on a shared machine does not count), on CUDA synchronized wall time;
    medians over the steps."""
    if cfg["threads"]:
        torch.set_num_threads(int(cfg["threads"]))
    device = pick_device(cfg)
    amp = amp_dtype(cfg, device)
    enc = encoder_for(cfg)
    source = RecordSource(cfg, enc)
    stream = BatchStream(source, cfg["batch_size"], cfg["data"]["sortish_batches"], cfg["data"]["seed"],
                         max_len_of(cfg))
    batches = []
    for _ in range(warmup + steps):
        exs, _ = stream.next()
        batches.append(make_batch(exs, [stage] * len(exs), cfg["method"], cfg["c_thought"],
                                  cfg["max_latent_stage"], enc, cfg["model"]["n_positions"]).to(device))
    source.close()
    torch.manual_seed(cfg["seed"])
    model = GPT(GPTConfig.from_dict({**cfg["model"], "vocab_size": enc.vocab_size})).to(device)
    opt = make_optimizer(model, cfg, 1e-5)
    clock = time.process_time if device.type == "cpu" else time.perf_counter
    variants = [("efficient", latent_forward)] + ([("naive", latent_forward_naive)] if naive else [])
    times: Dict[str, List[float]] = {name: [] for name, _ in variants}
    for i, b in enumerate(batches):
        for name, fwd in variants:
            if device.type == "cuda":
                torch.cuda.synchronize()
            t0 = clock()
            with amp_context(amp):
                ls = losses(fwd(model, b, amp), b, cfg["bfs_loss"])
            opt.zero_grad(set_to_none=True)
            ls["loss"].backward()
            opt.step()
            if device.type == "cuda":
                torch.cuda.synchronize()
            if i >= warmup:
                times[name].append(clock() - t0)
    res: Dict[str, Any] = {"stage": stage, "batch_size": cfg["batch_size"], "steps": steps,
                           "device": str(device) + (f" ({torch.cuda.get_device_name()})"
                                                    if device.type == "cuda" else ""),
                           "threads": torch.get_num_threads(),
                           "clock": "process CPU time" if device.type == "cpu" else "wall"}
    for name, ts in times.items():
        med = float(np.median(ts))
        res[name] = {"examples_per_s": cfg["batch_size"] / med, "seconds_per_step": med}
        log(f"stage {stage} {name}: {res[name]['examples_per_s']:.1f} examples/s "
            f"({med * 1000:.0f} ms/step median, batch {cfg['batch_size']})")
    if naive:
        res["speedup"] = res["efficient"]["examples_per_s"] / res["naive"]["examples_per_s"]
        log(f"stage {stage} speedup {res['speedup']:.2f}x")
    return res
