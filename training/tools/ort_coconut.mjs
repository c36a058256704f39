// Replays golden.json's Coconut cases on decoder.onnx with onnxruntime-node (prompt ids taken from
// the golden file, so no tokenizer is involved) and prints what the ONNX loop produced, for
// training/tests to compare with the PyTorch reference.
// Usage: node training/tools/ort_coconut.mjs MODEL_DIR GOLDEN_JSON
// Prints {"cases": [{"thoughts": [{"logits", "vector", "hidden": [L+1][D]}], "answer_ids",
//         "answer_logits", "stopped_by"}]}.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ort from 'onnxruntime-node';

const [modelDir, goldenPath] = process.argv.slice(2);
if (!modelDir || !goldenPath) {
  console.error('usage: node ort_coconut.mjs MODEL_DIR GOLDEN_JSON');
  process.exit(2);
}
const manifest = JSON.parse(readFileSync(join(modelDir, 'coconut.json'), 'utf8'));
const golden = JSON.parse(readFileSync(goldenPath, 'utf8'));
const { n_layer: L, n_head: H, n_embd: D, vocab_size: V } = manifest.architecture;
const Dh = D / H;

// wte rows from probe.safetensors, to embed token ids.
const probe = readFileSync(join(modelDir, 'probe.safetensors'));
const headerLen = Number(probe.readBigUInt64LE(0));
const header = JSON.parse(probe.subarray(8, 8 + headerLen).toString('utf8'));
const [wBegin, wEnd] = header.wte.data_offsets;
const wteBytes = probe.subarray(8 + headerLen + wBegin, 8 + headerLen + wEnd);
const wte = new Float32Array(wteBytes.buffer.slice(wteBytes.byteOffset, wteBytes.byteOffset + wteBytes.length));

const session = await ort.InferenceSession.create(join(modelDir, 'decoder.onnx'), {
  executionProviders: ['cpu'], intraOpNumThreads: 2, interOpNumThreads: 1,
});

function embedIds(ids) {
  const out = new Float32Array(ids.length * D);
  ids.forEach((id, i) => out.set(wte.subarray(id * D, (id + 1) * D), i * D));
  return out;
}

async function runCase(c) {
  let past = [];
  for (let i = 0; i < L; i++) {
    past.push(new ort.Tensor('float32', new Float32Array(0), [1, H, 0, Dh]));
    past.push(new ort.Tensor('float32', new Float32Array(0), [1, H, 0, Dh]));
  }
  let pos = 0;
  const step = async (embeds, s) => {
    const feeds = {
      inputs_embeds: new ort.Tensor('float32', embeds, [1, s, D]),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(pos + s).fill(1n), [1, pos + s]),
      position_ids: new ort.Tensor('int64', BigInt64Array.from({ length: s }, (_, i) => BigInt(pos + i)), [1, s]),
    };
    for (let i = 0; i < L; i++) {
      feeds[`past_key_values.${i}.key`] = past[2 * i];
      feeds[`past_key_values.${i}.value`] = past[2 * i + 1];
    }
    // exports since December 2026 can run thoughts inside the graph: none here (step by step)
    if (session.inputNames.includes('thought_steps')) feeds.thought_steps = new ort.Tensor('int64', BigInt64Array.of(0n), []);
    // version 3 exports read a prefix cache too: empty here, so present.* is the whole cache
    for (let i = 0; i < L; i++) {
      for (const kv of ['key', 'value']) {
        const name = `prefix_key_values.${i}.${kv}`;
        if (session.inputNames.includes(name)) feeds[name] = new ort.Tensor('float32', new Float32Array(0), [1, H, 0, Dh]);
      }
    }
    const out = await session.run(feeds);
    past = [];
    for (let i = 0; i < L; i++) past.push(out[`present.${i}.key`], out[`present.${i}.value`]);
    pos += s;
    // positions in the outputs: 1 (the last only, current exports) or s (older exports)
    const n = out.logits.dims[1];
    const last = n - 1;
    const hs = out.hidden_states.data;
    return {
      logits: Array.from(out.logits.data.subarray(last * V, (last + 1) * V)),
      vector: out.last_hidden_state.data.subarray(last * D, (last + 1) * D).slice(),
      hidden: Array.from({ length: L + 1 }, (_, l) => Array.from(hs.subarray((l * n + last) * D, (l * n + last + 1) * D))),
    };
  };
  const result = { thoughts: [], answer_ids: [], answer_logits: [], stopped_by: 'max_new_tokens' };
  let out = await step(embedIds(c.input_ids), c.input_ids.length);
  for (let j = 1; j <= c.k; j++) {
    result.thoughts.push({ logits: out.logits, vector: Array.from(out.vector), hidden: out.hidden });
    out = await step(out.vector, 1);
  }
  out = await step(embedIds([manifest.special_tokens.eot.id]), 1);
  for (let i = 0; i < golden.max_new_tokens; i++) {
    let best = 0;
    for (let v = 1; v < V; v++) if (out.logits[v] > out.logits[best]) best = v;
    result.answer_ids.push(best);
    result.answer_logits.push(out.logits);
    if (best === manifest.special_tokens.eos.id) { result.stopped_by = 'eos'; break; }
    if (i + 1 < golden.max_new_tokens) out = await step(embedIds([best]), 1);
  }
  return result;
}

const cases = [];
for (const c of golden.cases) cases.push(await runCase(c));
process.stdout.write(JSON.stringify({ cases }));
