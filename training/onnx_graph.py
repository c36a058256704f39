"""The decoder graph of models/README.md, written node by node from a GPT's weights.

The engine's cost per thought step on the CPU is the number of kernels onnxruntime runs and the
work that grows with the cache, not arithmetic (docs/performance.md). A traced export of
training/model.py gave 129 kernels per step and recomputed the smeared keys of the whole cache on
every pass. This graph computes the same function with fewer, larger kernels:

- Smeared keys enter the scores, not the keys. With gate g per channel,
  q . ((1-g) k_j + g r_j k_{j-1}) = (q (1-g)) . k_j + r_j (q g) . k_{j-1}: both products come
  from one MatMul against the cached (raw) keys, and the second is shifted one key to the right.
  A step then costs O(T) scores instead of O(T x head_size) smeared keys, and the cache still
  holds the raw keys the contract names.
- The cache has two tiers (build_decoder): attention reads a prefix it never copies, so a step
  copies only the recent positions into its present.* outputs.
- Scores are q K^T for models with smeared keys and for small heads, K q^T (then transposed) for
  the others with heads of 64 or more. onnxruntime's MatMul packs its right operand: q K^T copies
  every row's and head's keys, transposed, before it reads them; K q^T reads the keys as they lie
  and packs only q. Once the cache leaves the CPU's caches that copy is the step's largest cost:
  a batched step of a 6 x 512 model ran x1.29 faster at 120 cached positions, x1.44 at 290, x1.1
  for one row. With 32-wide heads and short caches the packed form was 6 % faster, and the
  smeared form (two products of q per key) lost with K q^T, so those keep q K^T.
- The causal mask is one Trilu; the rotary half-rotation one MatMul by a fixed matrix.
- Only the last position leaves the graph (logits, last_hidden_state, hidden_states are
  [.., 1, ..]), which is all the engine reads; so the last layer runs its attention and MLP for
  the last position only, and the prefill skips that work for every other position.

Initializers carry the PyTorch parameter names ("gpt." + name, linear weights transposed with a
".T" suffix, the smear gate raw), so training/bench_reference.py rebuilds the PyTorch model from the
file alone; onnxruntime folds the gate arithmetic at load. training/onnx_check.py compares this
graph with PyTorch on prefill, steps and left-padded batches.
"""

from __future__ import annotations

import math
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17  # LayerNormalization
FLOAT_MAX = float(np.finfo(np.float32).max)
INT64_MAX = int(np.iinfo(np.int64).max)
# Head size from which a model without smeared keys takes its scores as K q^T (module docstring).
KEYS_FIRST_HEAD_SIZE = 64


class _Graph:
    """Nodes, initializers and fresh names: just enough bookkeeping to write a graph plainly. A
    subgraph (the thought loop's body) has its own nodes but puts its constants in the root graph,
    whose initializers it may read, and draws names from the same counter."""

    def __init__(self, root: Optional["_Graph"] = None) -> None:
        self.nodes: List[onnx.NodeProto] = []
        self.root = root or self
        if root is None:
            self.inits: List[onnx.TensorProto] = []
            self._names: set = set()
            self._n = 0

    def const(self, name: str, value) -> str:
        """An initializer; a name already given is the same constant (layers share their shapes)."""
        r = self.root
        if name in r._names:
            return name
        r._names.add(name)
        arr = np.asarray(value)
        if arr.dtype == np.float64:
            arr = arr.astype(np.float32)
        # (ascontiguousarray would turn a scalar into shape [1])
        r.inits.append(numpy_helper.from_array(arr.copy(order="C"), name))
        return name

    def _next(self) -> int:
        self.root._n += 1
        return self.root._n

    def op(self, op_type: str, *inputs: str, out: Optional[str] = None, **attrs) -> str:
        n = self._next()
        name = out or f"{op_type.lower()}_{n}"
        self.nodes.append(helper.make_node(op_type, list(inputs), [name], name=f"n{n}_{op_type}", **attrs))
        return name

    def ops(self, op_type: str, *inputs: str, n: int, outs: Optional[List[str]] = None, **attrs) -> List[str]:
        k = self._next()
        names = outs or [f"{op_type.lower()}_{k}_{i}" for i in range(n)]
        self.nodes.append(helper.make_node(op_type, list(inputs), names, name=f"n{k}_{op_type}", **attrs))
        return names


def _w(sd: Dict[str, np.ndarray], name: str) -> np.ndarray:
    return sd[name].astype(np.float32)


def _i64(*v: int) -> np.ndarray:
    return np.array(v, dtype=np.int64)


def _decoder_pass(g: _Graph, sd: Dict[str, np.ndarray], cfg, embeds: str, mask: str, pos: str,
                  grow: Callable[[int, str, str], Tuple[str, str]], out: Dict[str, str]) -> None:
    """One pass over S new positions: grow(layer, "key" | "value", new [B,H,S,Dh]) returns the
    cache as two tiers, (prefix, recent with the new positions appended), and writes whatever
    must be kept; attention runs over the prefix followed by the recent tier. The last position's
    outputs go to out["logits"], out["last_hidden_state"], out["hidden_states"]."""
    L, H, D = cfg.n_layer, cfg.n_head, cfg.n_embd
    Dh = D // H
    eps = float(cfg.layer_norm_epsilon)
    rotary = cfg.positions == "rotary"
    smear = bool(cfg.smear_keys)
    keys_first = not smear and Dh >= KEYS_FIRST_HEAD_SIZE

    # --- shared by every layer ------------------------------------------------------------------
    x = embeds
    if not rotary:
        x = g.op("Add", x, g.op("Gather", g.const("gpt.wpe.weight", _w(sd, "wpe.weight")), pos))
    one, last_only = g.const("one", np.float32(1.0)), g.const("last_only", _i64(-1))
    to_end = g.const("to_end", _i64(INT64_MAX))
    axis0, axis1, axis2 = g.const("axis0", _i64(0)), g.const("axis1", _i64(1)), g.const("axis2", _i64(2))
    # keep[b, 1, i, j]: query i (absolute T-S+i) may see key j, and key j is not padding
    seq = g.op("Shape", embeds, start=1, end=2)
    total = g.op("Shape", mask, start=1, end=2)
    ones = g.op("ConstantOfShape", g.op("Concat", seq, total, axis=0),
                value=helper.make_tensor("v", TensorProto.FLOAT, [1], [1.0]))
    causal = g.op("Trilu", ones, g.op("Squeeze", g.op("Sub", total, seq), axis0), upper=0)
    real = g.op("Unsqueeze", g.op("Cast", mask, to=TensorProto.FLOAT), g.const("axes12", _i64(1, 2)))
    keep = g.op("Mul", causal, real)  # [B,1,S,T]
    # 0 where kept, float32's lowest where not: (keep - 1) * max, as training/model.py adds it
    bias = g.op("Mul", g.op("Sub", keep, one), g.const("float_max", np.float32(FLOAT_MAX)))
    bias_last = g.op("Slice", bias, last_only, to_end, axis2)
    if rotary:
        half = Dh // 2
        inv = (1.0 / (cfg.rotary_base ** (np.arange(0, Dh, 2, dtype=np.float32) / Dh))).astype(np.float32)
        angle = g.op("Unsqueeze", g.op("Cast", pos, to=TensorProto.FLOAT), g.const("axes13", _i64(1, 3)))
        angle = g.op("Mul", angle, g.const("rotary.inv_freq", np.concatenate([inv, inv])))  # [B,1,S,Dh]
        cos, sin = g.op("Cos", angle), g.op("Sin", angle)
        # x @ R = cat(-x[half:], x[:half]), GPT-NeoX's rotate_half
        R = np.zeros((Dh, Dh), dtype=np.float32)
        R[np.arange(half) + half, np.arange(half)] = -1.0
        R[np.arange(half), np.arange(half) + half] = 1.0
        rot = g.const("rotary.rotate_half", R)
    scale = 1.0 / math.sqrt(Dh)
    if smear:
        # Shifting the q.g scores one key right: a pad of one at the front, one cut at the back.
        shift = g.const("shift_right", _i64(0, 0, 0, 0, 1, 0, 0, 0, 0, -1))  # [1, B, H, Sq, T]

    hidden = [x]
    tiers: List[str] = []  # the [prefix, recent] split of the key axis, the same in every layer
    for i in range(L):
        p = f"gpt.h.{i}."
        last_layer = i == L - 1

        def lin(t: str, name: str) -> str:
            w = g.const(p + name + ".weight.T", _w(sd, f"h.{i}.{name}.weight").T)
            return g.op("Add", g.op("MatMul", t, w), g.const(p + name + ".bias", _w(sd, f"h.{i}.{name}.bias")))

        def ln(t: str, name: str) -> str:
            return g.op("LayerNormalization", t, g.const(p + name + ".weight", _w(sd, f"h.{i}.{name}.weight")),
                        g.const(p + name + ".bias", _w(sd, f"h.{i}.{name}.bias")), axis=-1, epsilon=eps)

        qkv = lin(ln(x, "ln_1"), "attn.c_attn")  # [B,S,3D]
        # [B, 3H, S, Dh]: q, k and v heads side by side, so the splits give cache-shaped k and v
        qkv = g.op("Transpose", g.op("Reshape", qkv, g.const("qkv_shape", _i64(0, 0, 3 * H, Dh))), perm=[0, 2, 1, 3])
        qk, v = g.ops("Split", qkv, g.const("split_qk_v", _i64(2 * H, H)), n=2, axis=1)
        if rotary:
            qk = g.op("Add", g.op("Mul", qk, cos), g.op("Mul", g.op("MatMul", qk, rot), sin))
        q, k = g.ops("Split", qk, g.const("split_q_k", _i64(H, H)), n=2, axis=1)
        (k_pre, k), (v_pre, v) = grow(i, "key", k), grow(i, "value", v)
        if last_layer:
            q = g.op("Slice", q, last_only, to_end, axis2)  # [B, H, 1, Dh]
        if smear:
            gate = 1.0 / (1.0 + np.exp(-_w(sd, f"h.{i}.attn.smear")))  # [H, 1, Dh]
            g.const(p + "attn.smear", _w(sd, f"h.{i}.attn.smear"))
            # [2, 1, H, 1, Dh]: the own-key and previous-key weights of q, with the 1/sqrt(Dh);
            # q becomes [2, B, H, Sq, Dh]
            q = g.op("Mul", q, g.const(p + "attn.smear_weights", np.stack([(1.0 - gate) * scale, gate * scale])[:, None]))
        else:
            q = g.op("Mul", q, g.const("attn_scale", np.float32(scale)))
        # [(2,) B, H, Sq, T]: scores against the prefix, then the recent keys. Concatenated here
        # (T numbers per query) rather than as keys (T x Dh), so no pass copies the prefix's cache.
        if keys_first:
            # K q^T: onnxruntime streams the cached keys as they lie; q K^T transposes them into
            # a packed copy per row and head first (module docstring).
            qT = g.op("Transpose", q, perm=[0, 1, 3, 2])
            scores_t = g.op("Concat", g.op("MatMul", k_pre, qT), g.op("MatMul", k, qT), axis=2)  # [B, H, T, Sq]
            scores = g.op("Transpose", scores_t, perm=[0, 1, 3, 2])
        else:
            scores = g.op("Concat", g.op("MatMul", q, g.op("Transpose", k_pre, perm=[0, 1, 3, 2])),
                          g.op("MatMul", q, g.op("Transpose", k, perm=[0, 1, 3, 2])), axis=-1)
        if smear:
            own, prev = g.ops("Split", scores, g.const("split_1_1", _i64(1, 1)), n=2, axis=0)
            # r_j k_{j-1}: the previous key counts where it is real (not padding, not before the start)
            scores = g.op("Add", own, g.op("Pad", g.op("Mul", prev, real), shift))
        att = g.op("Softmax", g.op("Add", scores, bias_last if last_layer else bias), axis=-1)
        if not tiers:
            tiers.append(g.op("Concat", g.op("Shape", k_pre, start=2, end=3), g.op("Shape", k, start=2, end=3), axis=0))
        att_pre, att = g.ops("Split", att, tiers[0], n=2, axis=-1)
        y = g.op("Add", g.op("MatMul", att_pre, v_pre), g.op("MatMul", att, v))  # [(1,) B, H, Sq, Dh]
        y = g.op("Transpose", y, perm=[1, 3, 0, 2, 4] if smear else [0, 2, 1, 3])  # [B, Sq, (1,) H, Dh]
        y = lin(g.op("Reshape", y, g.const("merge_heads", _i64(0, 0, D))), "attn.c_proj")
        if last_layer:
            x = g.op("Slice", x, last_only, to_end, axis1)
        x = g.op("Add", x, y)
        h = lin(ln(x, "ln_2"), "mlp.c_fc")
        # GPT-2's tanh GELU in the node order onnxruntime fuses into one FastGelu kernel
        inner = g.op("Mul", g.op("Add", h, g.op("Mul", g.const("gelu_c", np.float32(0.044715)),
                                                 g.op("Pow", h, g.const("three", np.float32(3.0))))),
                     g.const("gelu_s", np.float32(math.sqrt(2.0 / math.pi))))
        h = g.op("Mul", g.op("Mul", g.const("half", np.float32(0.5)), h), g.op("Add", one, g.op("Tanh", inner)))
        x = g.op("Add", x, lin(h, "mlp.c_proj"))
        hidden.append(x)

    # --- outputs at the last position -----------------------------------------------------------
    lasts = [t if j == L else g.op("Slice", t, last_only, to_end, axis1) for j, t in enumerate(hidden)]
    stacked = g.op("Transpose", g.op("Concat", *lasts, axis=1), perm=[1, 0, 2])  # [L+1, B, D]
    g.op("Unsqueeze", stacked, axis2, out=out["hidden_states"])
    g.op("LayerNormalization", x, g.const("gpt.ln_f.weight", _w(sd, "ln_f.weight")),
         g.const("gpt.ln_f.bias", _w(sd, "ln_f.bias")), axis=-1, epsilon=eps, out=out["last_hidden_state"])
    g.op("MatMul", out["last_hidden_state"], g.const("gpt.wte.weight.T", _w(sd, "wte.weight").T), out=out["logits"])


def _thought_loop_body(root: _Graph, sd: Dict[str, np.ndarray], cfg) -> onnx.GraphProto:
    """One continuous thought per iteration: feed the carried last_hidden_state back as a new
    position (mask and position one longer) and collect the pass's outputs. The prefix cache is
    read from the outer graph and never copied; the recent tier is the outer pass's present.*
    followed by the positions the thoughts add, which are all that is carried."""
    L, H, D, V = cfg.n_layer, cfg.n_head, cfg.n_embd, cfg.vocab_size
    Dh = D // H
    b = _Graph(root)
    f, i64 = TensorProto.FLOAT, TensorProto.INT64
    added = [f"loop_added.{i}.{kv}" for i in range(L) for kv in ("key", "value")]
    inputs = [helper.make_tensor_value_info("loop_iter", i64, []),
              helper.make_tensor_value_info("loop_cond", TensorProto.BOOL, []),
              helper.make_tensor_value_info("loop_thought", f, ["batch", 1, D]),
              helper.make_tensor_value_info("loop_mask", i64, ["batch", "past_sequence"]),
              helper.make_tensor_value_info("loop_position", i64, ["batch", 1])]
    inputs += [helper.make_tensor_value_info(n, f, ["batch", H, "added", Dh]) for n in added]
    ones = b.op("ConstantOfShape", b.op("Shape", "loop_position"), value=helper.make_tensor("v", i64, [1], [1]))
    mask = b.op("Concat", "loop_mask", ones, axis=1, out="loop_mask_next")

    def grow(i: int, kv: str, new: str) -> Tuple[str, str]:
        more = b.op("Concat", f"loop_added.{i}.{kv}", new, axis=2, out=f"loop_added_next.{i}.{kv}")
        return f"prefix_key_values.{i}.{kv}", b.op("Concat", f"present.{i}.{kv}", more, axis=2)

    out = {"logits": "loop_logits", "last_hidden_state": "loop_last_hidden_state", "hidden_states": "loop_hidden_states"}
    _decoder_pass(b, sd, cfg, "loop_thought", mask, "loop_position", grow, out)
    b.op("Identity", "loop_cond", out="loop_cond_next")
    b.op("Add", "loop_position", b.const("one_i64", _i64(1)), out="loop_position_next")
    b.op("Identity", "loop_last_hidden_state", out="loop_thought_next")
    outputs = [helper.make_tensor_value_info("loop_cond_next", TensorProto.BOOL, []),
               helper.make_tensor_value_info("loop_thought_next", f, ["batch", 1, D]),
               helper.make_tensor_value_info("loop_mask_next", i64, ["batch", "total"]),
               helper.make_tensor_value_info("loop_position_next", i64, ["batch", 1])]
    outputs += [helper.make_tensor_value_info(f"loop_added_next.{i}.{kv}", f, ["batch", H, "added", Dh])
                for i in range(L) for kv in ("key", "value")]
    outputs += [helper.make_tensor_value_info("loop_logits", f, ["batch", 1, V]),
                helper.make_tensor_value_info("loop_last_hidden_state", f, ["batch", 1, D]),
                helper.make_tensor_value_info("loop_hidden_states", f, [L + 1, "batch", 1, D])]
    return helper.make_graph(b.nodes, "thought_step", inputs, outputs)


def build_decoder(sd: Dict[str, np.ndarray], cfg) -> onnx.ModelProto:
    """`sd`: the GPT's state dict as float32 numpy arrays (training/model.py names); `cfg` its
    GPTConfig. Inputs and outputs as models/README.md "decoder.onnx", outputs at the last position.

    After the pass over the fed positions, `thought_steps` (0 for a plain pass) continuous
    thoughts run inside the graph (a Loop): each feeds the previous last_hidden_state back, as the
    engine's step-by-step loop does. The thought_* outputs stack their outputs, and
    thought_present.* holds the cache positions they added (the cache after the call is present.*
    followed by thought_present.*), so a plain inspect runs its k thoughts in one call.

    The cache comes in two tiers: prefix_key_values.* (read, never copied: the engine moves a
    prompt's cache there) and past_key_values.* (the recent positions: present.* is past followed
    by the new positions). A pass that grew one cache copied all of it into present.* each time;
    the copy was half of a batched step's kernel time. Empty prefixes give version 2's behaviour."""
    L, H, D, V = cfg.n_layer, cfg.n_head, cfg.n_embd, cfg.vocab_size
    Dh = D // H
    g = _Graph()
    f, i64 = TensorProto.FLOAT, TensorProto.INT64
    cache = [(i, kv) for i in range(L) for kv in ("key", "value")]
    inputs = [
        helper.make_tensor_value_info("inputs_embeds", f, ["batch", "sequence", D]),
        helper.make_tensor_value_info("attention_mask", i64, ["batch", "total"]),
        helper.make_tensor_value_info("position_ids", i64, ["batch", "sequence"]),
    ]
    inputs += [helper.make_tensor_value_info(f"past_key_values.{i}.{kv}", f, ["batch", H, "past_sequence", Dh]) for i, kv in cache]
    inputs.append(helper.make_tensor_value_info("thought_steps", i64, []))
    inputs += [helper.make_tensor_value_info(f"prefix_key_values.{i}.{kv}", f, ["batch", H, "prefix_sequence", Dh]) for i, kv in cache]
    outputs = [
        helper.make_tensor_value_info("logits", f, ["batch", 1, V]),
        helper.make_tensor_value_info("last_hidden_state", f, ["batch", 1, D]),
        helper.make_tensor_value_info("hidden_states", f, [L + 1, "batch", 1, D]),
    ]
    outputs += [helper.make_tensor_value_info(f"present.{i}.{kv}", f, ["batch", H, "total", Dh]) for i, kv in cache]
    outputs += [
        helper.make_tensor_value_info("thought_logits", f, ["thoughts", "batch", 1, V]),
        helper.make_tensor_value_info("thought_last_hidden_state", f, ["thoughts", "batch", 1, D]),
        helper.make_tensor_value_info("thought_hidden_states", f, ["thoughts", L + 1, "batch", 1, D]),
    ]
    outputs += [helper.make_tensor_value_info(f"thought_present.{i}.{kv}", f, ["batch", H, "thoughts", Dh]) for i, kv in cache]

    def grow(i: int, kv: str, new: str) -> Tuple[str, str]:
        return f"prefix_key_values.{i}.{kv}", g.op("Concat", f"past_key_values.{i}.{kv}", new, axis=2, out=f"present.{i}.{kv}")

    _decoder_pass(g, sd, cfg, "inputs_embeds", "attention_mask", "position_ids", grow,
                  {"logits": "logits", "last_hidden_state": "last_hidden_state", "hidden_states": "hidden_states"})
    next_position = g.op("Add", g.op("Slice", "position_ids", "last_only", "to_end", "axis1"), g.const("one_i64", _i64(1)))
    # [B, H, 0, Dh]: no positions added yet (every cache tensor has this shape)
    none_added = g.op("Slice", "present.0.key", g.const("zero", _i64(0)), "zero", "axis2")
    g.ops("Loop", "thought_steps", "", "last_hidden_state", "attention_mask", next_position, *([none_added] * len(cache)),
          n=0, outs=["loop_final_thought", "loop_final_mask", "loop_final_position",
                     *[f"thought_present.{i}.{kv}" for i, kv in cache],
                     "thought_logits", "thought_last_hidden_state", "thought_hidden_states"],
          body=_thought_loop_body(g, sd, cfg))

    graph = helper.make_graph(g.nodes, "coconut_decoder", inputs, outputs, g.root.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="coconut-lens training/onnx_graph.py")
    model.ir_version = 8  # onnx 1.12's checker and every onnxruntime since 1.13
    return model
