"""The training run: curriculum stages with a fresh optimizer each, periodic evaluation,
checkpoints (model.pt at stage ends, state.pt for an exact resume), metrics.jsonl, summary.json.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import random
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy as np
import torch

try:
    from . import prosqa_data as D
    from .batch_layout import make_batch
    from .batched_eval import evaluate_batched, reference_accuracy
    from .device import amp_dtype, pick_device
    from .example_stream import BatchStream, Example, RecordSource, encoder_for
    from .latent_pass import amp_context, latent_forward, losses
    from .model import GPT, GPTConfig
    from .optimizer import lr_at, make_optimizer
    from .train_config import eval_settings, max_len_of, stage_plan, training_data_text
except ImportError:  # pragma: no cover - script use
    import prosqa_data as D
    from batch_layout import make_batch
    from batched_eval import evaluate_batched, reference_accuracy
    from device import amp_dtype, pick_device
    from example_stream import BatchStream, Example, RecordSource, encoder_for
    from latent_pass import amp_context, latent_forward, losses
    from model import GPT, GPTConfig
    from optimizer import lr_at, make_optimizer
    from train_config import eval_settings, max_len_of, stage_plan, training_data_text


def _atomic_save(obj, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, str(tmp))
    os.replace(tmp, path)


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


class Trainer:
    def __init__(self, cfg: dict, out_dir: Path, log=print, stop_after_minutes: Optional[float] = None):
        self.cfg, self.out, self.log = cfg, out_dir, log
        # wall-clock limit of this invocation (a device call is limited to 10 minutes)
        # (0 means stop at once, not "no limit": a scheduler may pass what is left of a phase)
        self.stop_after_s = stop_after_minutes * 60 if stop_after_minutes is not None else None
        out_dir.mkdir(parents=True, exist_ok=True)
        if cfg["threads"]:
            torch.set_num_threads(int(cfg["threads"]))
        self.device = pick_device(cfg)
        self.amp = amp_dtype(cfg, self.device)
        self.enc = encoder_for(cfg)
        # Generator processes are forked before CUDA starts in this process.
        self.source = RecordSource(cfg, self.enc)
        self.source.start()
        torch.manual_seed(cfg["seed"])
        random.seed(cfg["seed"])
        np.random.seed(cfg["seed"])
        m = dict(cfg["model"])
        self.model = GPT(GPTConfig.from_dict({**m, "vocab_size": self.enc.vocab_size})).to(self.device)
        self.stream = BatchStream(self.source, cfg["batch_size"], cfg["data"]["sortish_batches"],
                                  cfg["data"]["seed"], max_len_of(cfg))
        self.plan = stage_plan(cfg)
        self.stage_i, self.step = 0, 0
        self.opt: Optional[torch.optim.Optimizer] = None
        self.history: List[dict] = []
        # one entry per invocation (a background segment): its minutes, examples and last eval
        self.segments: List[dict] = []
        # set by SIGTERM/SIGINT (training/segment.sh's time limit, Ctrl-C, a session ending): the
        # loop stops after the current step and saves its state, so no work since the last
        # checkpoint is lost
        self.stop_requested = False
        self.throughput: Dict[str, dict] = {}
        self.elapsed = 0.0
        ef = cfg["eval"]["file"]
        self.eval_exs: List[Example] = []
        if ef and Path(ef).exists():
            recs = D.load_records(ef)
            if cfg["eval"]["limit"]:
                recs = recs[: cfg["eval"]["limit"]]
            self.eval_exs = [self.enc.encode(r, keep_record=True) for r in recs]
        elif ef:
            self.log(f"warning: eval file {ef} not found; no periodic evaluation")

    # -- state -------------------------------------------------------------------------------
    def n_params(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def provenance(self, accuracy: List[dict]) -> dict:
        return {"created": _now(), "training_data": training_data_text(self.cfg),
                "config": self.cfg, "accuracy": accuracy,
                "training_minutes": round(self.elapsed / 60, 2), "examples_seen": self.examples_seen(),
                "segments": self.segments, "history": self.history}

    def save_model(self, accuracy: Optional[List[dict]] = None, done: bool = False) -> Path:
        state = {k: v.detach().float().cpu().clone() for k, v in self.model.state_dict().items()}
        ck = {"config": self.model.config.to_dict(), "model": state, "tokenizer": self.enc.tok.json,
              "provenance": self.provenance(accuracy or []),
              # a stage-boundary resume point: the optimizer is reset per stage anyway
              "resume": {"stage_i": self.stage_i, "step": self.step, "stream": self.stream.state(),
                         "done": done, "elapsed": self.elapsed, "history": self.history,
                         "segments": self.segments,
                         "throughput": self.throughput}}
        p = self.out / "model.pt"
        _atomic_save(ck, p)
        return p

    def save_state(self) -> None:
        st = {"model": self.model.state_dict(), "optimizer": self.opt.state_dict() if self.opt else None,
              "stage_i": self.stage_i, "step": self.step, "stream": self.stream.state(),
              "config": self.cfg, "elapsed": self.elapsed, "history": self.history,
              "segments": self.segments,
              "throughput": self.throughput,
              "rng": {"torch": torch.get_rng_state(), "python": random.getstate(),
                      "numpy": np.random.get_state(),
                      "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None}}
        _atomic_save(st, self.out / "state.pt")

    def restore(self, path: Optional[Path] = None) -> None:
        """Continue from state.pt (mid-stage, optimizer included) or from a model.pt written at a
        stage end (weights only: the next stage starts with a fresh optimizer anyway)."""
        cands = [path] if path else [self.out / "state.pt", self.out / "model.pt"]
        for p in cands:
            if p is None or not p.exists():
                continue
            try:
                ck = torch.load(str(p), map_location="cpu", weights_only=False)
            except TypeError:
                ck = torch.load(str(p), map_location="cpu")
            if "optimizer" in ck:                       # full state
                self._check_config(ck["config"])
                self.model.load_state_dict(ck["model"])
                self.stage_i, self.step = ck["stage_i"], ck["step"]
                self.stream.seek(ck["stream"])
                self.elapsed, self.history = ck["elapsed"], ck["history"]
                self.segments = ck.get("segments", [])
                self.throughput = ck.get("throughput", {})
                if ck["optimizer"] is not None and self.stage_i < len(self.plan):
                    self.opt = make_optimizer(self.model, self.cfg, self.cfg["optim"]["lr"])
                    self.opt.load_state_dict(ck["optimizer"])
                rng = ck["rng"]
                torch.set_rng_state(rng["torch"])
                random.setstate(rng["python"])
                np.random.set_state(rng["numpy"])
                if rng.get("cuda") is not None and torch.cuda.is_available():
                    torch.cuda.set_rng_state_all(rng["cuda"])
            elif "resume" in ck:                        # stage boundary
                self._check_config(ck["provenance"]["config"])
                self.model.load_state_dict(ck["model"])
                r = ck["resume"]
                self.stage_i, self.step = r["stage_i"], r["step"]
                self.stream.seek(r["stream"])
                self.elapsed, self.history = r["elapsed"], r["history"]
                self.segments = r.get("segments", [])
                self.throughput = r.get("throughput", {})
                self.opt = None
            else:
                raise ValueError(f"{p} is neither a state.pt nor a model.pt written by train.py")
            if not self.segments and self.elapsed > 0:
                # a run started before segments were recorded: its time so far as one segment
                self.segments = [{"segment": 1, "reconstructed": True, "start_examples": 0,
                                  "start_minutes": 0.0, "minutes": round(self.elapsed / 60, 2),
                                  "end_examples": self.examples_seen(),
                                  "end_minutes": round(self.elapsed / 60, 2),
                                  "last_eval": self._last_eval()}]
            self.log(f"resumed from {p}: stage index {self.stage_i}, step {self.step}")
            return
        raise FileNotFoundError(f"--resume: no state.pt or model.pt in {self.out}; run without "
                                "--resume to start, or pass the checkpoint with --resume PATH")

    def _check_config(self, old: dict) -> None:
        for key in ("method", "model", "tokenizer", "c_thought", "max_latent_stage", "batch_size", "data",
                    "examples_scale"):
            if json.dumps(old.get(key), sort_keys=True) != json.dumps(self.cfg.get(key), sort_keys=True):
                raise ValueError(f"cannot resume: config {key!r} differs from the checkpoint's "
                                 f"({old.get(key)!r} there, {self.cfg.get(key)!r} now)")

    # -- evaluation --------------------------------------------------------------------------
    def evaluate(self, k: Optional[int] = None) -> Optional[dict]:
        if not self.eval_exs:
            return None
        k0, m = eval_settings(self.cfg)
        k = k0 if k is None else k
        t = time.time()
        # float32, as the model will be exported and run by the engine
        acc, _ = evaluate_batched(self.model, self.eval_exs, k, m, self.enc, self.device, None,
                                  self.cfg["eval"]["batch_size"])
        self.model.train()
        return {"accuracy": acc, "thoughts": k, "n": len(self.eval_exs), "seconds": time.time() - t}

    def examples_seen(self) -> int:
        return int(sum(v["examples"] for v in self.throughput.values()))

    def evaluate_phase(self, k: int) -> Optional[dict]:
        """Accuracy on held-out records from the generator phase the stream is in now (the
        curriculum's small graphs say whether a phase has been learned long before the official
        set does). The held-out stream has its own seed, never used for training."""
        n = int(self.cfg["eval"].get("gen_n") or 0)
        if n <= 0 or self.source.file_examples is not None:
            return None
        gen = self.source.gen_for_chunk(self.stream.pool_start // self.source.chunk)
        key = json.dumps(gen, sort_keys=True)
        if getattr(self, "_phase_key", None) != key:
            recs = D.generate_chunk(self.cfg["data"]["seed"] + 7919, 0, D.GenConfig.from_dict(gen),
                                    n, self.source.exclude)
            self._phase_key, self._phase_exs = key, [self.enc.encode(r) for r in recs]
        _, m = eval_settings(self.cfg)
        acc, _ = evaluate_batched(self.model, self._phase_exs, k, m, self.enc, self.device, None,
                                  self.cfg["eval"]["batch_size"])
        self.model.train()
        return {"accuracy": acc, "n": len(self._phase_exs), "gen": gen}

    # -- the loop ----------------------------------------------------------------------------
    def run(self) -> dict:
        cfg, o = self.cfg, self.cfg["optim"]
        self.log(f"model: {self.n_params():,} parameters ({self.n_params() * 4 / 2**20:.2f} MiB "
                 f"float32), device {self.device}, amp {self.amp}")
        metrics = (self.out / "metrics.jsonl").open("a", encoding="utf-8")
        B = cfg["batch_size"]
        k_eval, _ = eval_settings(cfg)
        t_start = time.time() - self.elapsed
        t_invocation = time.time()
        seg = {"segment": len(self.segments) + 1, "started": _now(), "lr": self.cfg["optim"]["lr"],
               "start_examples": self.examples_seen(), "start_minutes": round(self.elapsed / 60, 2)}
        last_ckpt = time.time()
        stopped = False
        try:
            while self.stage_i < len(self.plan):
                stage, n_ex = self.plan[self.stage_i]
                steps = max(1, -(-n_ex // B))
                base_lr = (o["stage_lr"][self.stage_i] if o.get("stage_lr") else o["lr"])
                decays = o["decay_stages"] == "all" or self.stage_i == len(self.plan) - 1
                if self.opt is None or self.step == 0:
                    self.opt = make_optimizer(self.model, cfg, base_lr)   # reset per stage
                self.model.train()
                tp = self.throughput.setdefault(str(self.stage_i), {"stage": stage, "examples": 0,
                                                                     "seconds": 0.0, "data_seconds": 0.0})
                self.elapsed = time.time() - t_start
                every = cfg["eval"]["every_examples"]
                ev_steps = max(1, every // B) if every else 0
                win = self._new_window()
                while self.step < steps:
                    t0 = time.time()
                    exs, rng = self.stream.next()
                    mix = cfg["mix_prob"]
                    ss = [(rng.randint(0, stage) if (mix and rng.random() < mix) else stage) for _ in exs]
                    batch = make_batch(exs, ss, cfg["method"], cfg["c_thought"], cfg["max_latent_stage"],
                                       self.enc, cfg["model"]["n_positions"]).to(self.device)
                    win["data_s"] += time.time() - t0
                    lr = lr_at(self.step, steps, base_lr, o, decays)
                    for g in self.opt.param_groups:
                        g["lr"] = lr
                    with amp_context(self.amp):
                        ls = losses(latent_forward(self.model, batch, self.amp), batch, cfg["bfs_loss"])
                    self.opt.zero_grad(set_to_none=True)
                    ls["loss"].backward()
                    if o["grad_clip"]:
                        torch.nn.utils.clip_grad_norm_(self.model.parameters(), o["grad_clip"])
                    self.opt.step()
                    self.step += 1
                    # sums stay on the device: no host sync per step
                    for key in ("loss", "lm", "bfs", "frontier_mass"):
                        if key in ls:
                            win[key] = win[key] + ls[key].detach().float()
                    win["n"] += 1
                    win["ex"] += len(exs)
                    if self.step % cfg["log_every_steps"] == 0 or self.step == steps:
                        self._log_window(win, tp, metrics, stage, steps, lr, t_start)
                        win = self._new_window()
                    if ev_steps and self.step % ev_steps == 0 and self.step < steps:
                        self._flush_window(win, tp, t_start)
                        self._eval_and_log(metrics, stage, k_eval)
                        win = self._new_window()
                    if time.time() - last_ckpt > cfg["checkpoint_every_s"]:
                        self._flush_window(win, tp, t_start)
                        self.save_state()
                        win = self._new_window()
                        last_ckpt = time.time()
                    if (cfg["max_minutes"] and time.time() - t_start > cfg["max_minutes"] * 60) or \
                            (self.stop_after_s is not None and time.time() - t_invocation >= self.stop_after_s) or \
                            self.stop_requested:
                        self._flush_window(win, tp, t_start)
                        stopped = True
                        break
                if stopped:
                    self._close_segment(seg, t_invocation)
                    self.save_state()
                    self.log(f"stopped at stage index {self.stage_i} step {self.step} after "
                             f"{self.elapsed / 60:.1f} min in all; continue with --resume")
                    break
                self._eval_and_log(metrics, stage, k_eval, end_of_stage=True)
                self.stage_i, self.step, self.opt = self.stage_i + 1, 0, None
                self.save_model()
                self.save_state()
                last_ckpt = time.time()
        finally:
            metrics.close()
            self.source.close()
        if stopped:
            return {"stopped": True, "elapsed_min": self.elapsed / 60}
        self._close_segment(seg, t_invocation)
        return self.finish()

    def _last_eval(self) -> Optional[dict]:
        """The latest evaluation in short, for the segment log."""
        if not self.history:
            return None
        return {k: self.history[-1].get(k) for k in ("accuracy", "thoughts", "examples_seen")}

    def _close_segment(self, seg: dict, t_invocation: float) -> None:
        seg.update({"minutes": round((time.time() - t_invocation) / 60, 2),
                    "end_examples": self.examples_seen(),
                    "end_minutes": round(self.elapsed / 60, 2),
                    "last_eval": self._last_eval()})
        self.segments.append(seg)

    def _new_window(self) -> dict:
        return {"loss": 0.0, "lm": 0.0, "bfs": 0.0, "frontier_mass": 0.0, "n": 0, "ex": 0,
                "data_s": 0.0, "t": time.time()}

    def _flush_window(self, win: dict, tp: dict, t_start: float) -> float:
        """Adds the window's examples and wall time to the stage's throughput; returns seconds."""
        if self.device.type == "cuda":
            torch.cuda.synchronize()
        el = time.time() - win["t"]
        tp["examples"] += win["ex"]
        tp["seconds"] += el
        tp["data_seconds"] += win["data_s"]
        self.elapsed = time.time() - t_start
        return el

    def _log_window(self, win: dict, tp: dict, metrics, stage: int, steps: int, lr: float,
                    t_start: float) -> None:
        el = self._flush_window(win, tp, t_start)
        n = max(1, win["n"])
        rec = {"stage_i": self.stage_i, "stage": stage, "step": self.step, "steps": steps, "lr": lr}
        for key in ("loss", "lm", "bfs", "frontier_mass"):
            rec[key] = float(win[key]) / n
        rec["examples_per_s"] = win["ex"] / max(el, 1e-9)
        rec["data_share"] = win["data_s"] / max(el, 1e-9)
        rec["elapsed_min"] = self.elapsed / 60
        self.log(f"stage {stage} step {self.step}/{steps} loss {rec['loss']:.4f} "
                 f"(lm {rec['lm']:.4f} bfs {rec['bfs']:.4f} frontier mass {rec['frontier_mass']:.3f}) "
                 f"lr {lr:.2e} {rec['examples_per_s']:.0f} ex/s (data {100 * rec['data_share']:.0f}%) "
                 f"{self.elapsed / 60:.1f} min")
        metrics.write(json.dumps(rec) + "\n")
        metrics.flush()

    def _eval_and_log(self, metrics, stage: int, k: int, end_of_stage: bool = False) -> Optional[dict]:
        if self.cfg["method"] == "coconut" and stage < self.cfg["max_latent_stage"]:
            k = stage * self.cfg["c_thought"]   # the thoughts this stage trains with
        r = self.evaluate(k)
        if r is None:
            return None
        rec = {"eval": True, "stage_i": self.stage_i, "stage": stage, "step": self.step,
               "end_of_stage": end_of_stage, "elapsed_min": self.elapsed / 60,
               "examples_seen": self.examples_seen(), **r}
        phase = self.evaluate_phase(k)
        if phase is not None:
            rec["phase"] = phase
        self.history.append(rec)
        metrics.write(json.dumps(rec) + "\n"); metrics.flush()
        self.log(f"eval stage {stage} step {self.step}: accuracy {r['accuracy']:.3f} with "
                 f"{r['thoughts']} thoughts ({r['seconds']:.1f} s)"
                 + (f"; current data phase {phase['accuracy']:.3f}" if phase else ""))
        return r

    def finish(self) -> dict:
        k, m = eval_settings(self.cfg)
        acc: List[dict] = []
        summary: Dict[str, Any] = {"name": self.cfg["name"], "method": self.cfg["method"],
                                   "params": self.n_params(), "elapsed_min": self.elapsed / 60,
                                   "device": str(self.device) + (
                                       f" ({torch.cuda.get_device_name()})" if self.device.type == "cuda" else ""),
                                   "throughput": {s: {**v, "examples_per_s": v["examples"] / max(v["seconds"], 1e-9)}
                                                  for s, v in self.throughput.items()},
                                   "history": self.history,
                                   "skipped_overlong_examples_this_invocation": self.stream.skipped}
        # the final weights are safe on disk before the (slower) reference evaluation
        self.save_model(done=True)
        if self.eval_exs:
            r = self.evaluate(k)
            summary["final_batched"] = r
            value = r["accuracy"]
            if self.cfg["eval"]["reference_at_end"]:
                value = reference_accuracy(self.model, self.eval_exs, k, m, self.enc, self.device)
                summary["final_reference"] = {"accuracy": value, "thoughts": k, "n": len(self.eval_exs)}
            acc.append({"dataset": Path(self.cfg["eval"]["file"]).stem, "thoughts": k,
                        "value": round(value, 4), "n": len(self.eval_exs)})
        p = self.save_model(acc, done=True)
        summary["model"] = str(p)
        (self.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        self.log(f"done in {self.elapsed / 60:.1f} min; accuracy {acc}; wrote {p}")
        return summary
