// Runs an ONNX model with onnxruntime-node (the engine's runtime) on feeds given as JSON, so Python
// can compare the exported decoder against PyTorch.
// Usage: node training/tools/ort_run.mjs MODEL.onnx < {"runs": [{"feeds": {NAME: {"type": "float32"|"int64",
//        "dims": [...], "data": [...]}}}]}
// Prints {"runs": [{NAME: {"dims": [...], "data": [...]}}]} with every output of every run.
import { readFileSync } from 'node:fs';
import ort from 'onnxruntime-node';

const [modelPath] = process.argv.slice(2);
if (!modelPath) {
  console.error('usage: node ort_run.mjs MODEL.onnx < request.json');
  process.exit(2);
}
const request = JSON.parse(readFileSync(0, 'utf8'));
const session = await ort.InferenceSession.create(modelPath, {
  executionProviders: ['cpu'],
  intraOpNumThreads: 2,
  interOpNumThreads: 1,
});
const runs = [];
for (const run of request.runs) {
  const feeds = {};
  for (const [name, t] of Object.entries(run.feeds)) {
    const data = t.type === 'int64' ? BigInt64Array.from(t.data.map((x) => BigInt(x)))
      : Float32Array.from(t.data);
    feeds[name] = new ort.Tensor(t.type, data, t.dims);
  }
  const results = await session.run(feeds);
  const out = {};
  for (const [name, t] of Object.entries(results)) {
    out[name] = { dims: t.dims, data: Array.from(t.data, Number) };
  }
  runs.push(out);
}
process.stdout.write(JSON.stringify({ runs }));
