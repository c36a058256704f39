// CPU sessions that run without onnxruntime-node's event-loop hop. Its InferenceSession.run defers
// every run to a setImmediate and resolves it through two promises; the native run inside is
// synchronous all the same. A thought step of the shipped model is ~0.3 ms, and the hop cost ~20 µs
// of it (docs/performance.md, stop 26). Here a session's handler calls the same native run at once,
// and turns the event loop only when YIELD_MS have passed since its last turn, so that cancellation,
// progress and worker messages still get through between runs.
//
// The binding is onnxruntime-node's own (dist/binding.js, the module its backend uses), reached by
// path: where a future version keeps it elsewhere or shapes it otherwise, createDirect returns
// undefined and the session is made the public way, slower and otherwise the same.
import type { InferenceSession, InferenceSessionHandler, OnnxValue, Tensor } from 'onnxruntime-node';
import { ort } from './ort';

/** The most time runs may hold the event loop before it turns once (cancellation latency, not throughput). */
export const YIELD_MS = 4;

interface NativeMetadata {
  name: string;
  isTensor: boolean;
  type: number;
  shape: number[];
  symbolicDimensions: string[];
}

interface NativeSession {
  loadModel(path: string, options: object): void;
  loadModel(buffer: ArrayBufferLike, byteOffset: number, byteLength: number, options: object): void;
  readonly inputMetadata: NativeMetadata[];
  readonly outputMetadata: NativeMetadata[];
  run(feeds: Record<string, OnnxValue>, fetches: Record<string, OnnxValue | null>, options: object): Record<string, OnnxValue>;
  endProfiling(): void;
  dispose(): void;
}

interface Binding {
  binding: { InferenceSession: new () => NativeSession };
  initOrt(): void;
}

// onnxruntime's element type codes (ONNXTensorElementDataType), as its backend names them.
const ELEMENT_TYPES: Record<number, Tensor.Type> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  4: 'uint16',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  8: 'string',
  9: 'bool',
  10: 'float16',
  11: 'float64',
  12: 'uint32',
  13: 'uint64',
  21: 'uint4',
  22: 'int4',
};

let binding: Binding | null | undefined;

/** onnxruntime-node's binding module, or null where it is not where and what version 1.30 has. */
function nativeBinding(): Binding | null {
  if (binding !== undefined) return binding;
  // The way out if a platform's binding misbehaves: the public path, as before stop 26.
  if (process.env.COCONUT_LENS_DIRECT_RUN === '0') return (binding = null);
  try {
    ort(); // sets onnxruntime's log level, which initOrt reads
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const b = require('onnxruntime-node/dist/binding') as Partial<Binding>;
    binding = typeof b.initOrt === 'function' && typeof b.binding?.InferenceSession === 'function' ? (b as Binding) : null;
  } catch {
    binding = null;
  }
  return binding;
}

let lastTurn = 0;

function turnDue(): boolean {
  return performance.now() - lastTurn >= YIELD_MS;
}

async function turnEventLoop(): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  lastTurn = performance.now();
}

function metadata(raw: NativeMetadata[]): { names: string[]; metadata: InferenceSession.ValueMetadata[] } {
  const names: string[] = [];
  const metadata: InferenceSession.ValueMetadata[] = [];
  for (const m of raw) {
    names.push(m.name);
    if (!m.isTensor) {
      metadata.push({ name: m.name, isTensor: false });
      continue;
    }
    const type = ELEMENT_TYPES[m.type];
    if (type === undefined) throw new Error(`unsupported element type ${m.type} of ${m.name}`);
    metadata.push({ name: m.name, isTensor: true, type, shape: m.shape.map((d, i) => (d === -1 ? m.symbolicDimensions[i] : d)) });
  }
  return { names, metadata };
}

class DirectHandler implements InferenceSessionHandler {
  readonly inputNames: string[];
  readonly outputNames: string[];
  readonly inputMetadata: InferenceSession.ValueMetadata[];
  readonly outputMetadata: InferenceSession.ValueMetadata[];

  constructor(private readonly native: NativeSession) {
    const inputs = metadata(native.inputMetadata);
    const outputs = metadata(native.outputMetadata);
    this.inputNames = inputs.names;
    this.inputMetadata = inputs.metadata;
    this.outputNames = outputs.names;
    this.outputMetadata = outputs.metadata;
  }

  async run(feeds: Record<string, OnnxValue>, fetches: Record<string, OnnxValue | null>, options: object): Promise<Record<string, OnnxValue>> {
    if (turnDue()) await turnEventLoop();
    return this.native.run(feeds, fetches, options);
  }

  async dispose(): Promise<void> {
    this.native.dispose();
  }

  startProfiling(): void {}

  endProfiling(): void {
    this.native.endProfiling();
  }
}

const direct = new WeakMap<InferenceSession, DirectHandler>();

/** Whether `session` runs on the binding directly (for tests and the bench's report). */
export function runsDirect(session: InferenceSession): boolean {
  return direct.has(session);
}

/** The names a pass fetches, as the object onnxruntime's run takes: built once per caller. */
export type Fetches = Readonly<Record<string, null>>;

export function fetchesOf(names: readonly string[]): Fetches {
  return Object.fromEntries(names.map((n) => [n, null]));
}

/**
 * session.run(feeds, names of `fetches`), minus the public class's checks of feeds and fetches on a
 * direct session: the engine builds both from the graph's own names.
 */
export function runPass(session: InferenceSession, feeds: Record<string, OnnxValue>, fetches: Fetches): Promise<InferenceSession.OnnxValueMapType> {
  const handler = direct.get(session);
  if (handler) return handler.run(feeds, fetches as Record<string, null>, NO_RUN_OPTIONS) as Promise<InferenceSession.OnnxValueMapType>;
  return session.run(feeds, Object.keys(fetches));
}

const NO_RUN_OPTIONS = {};

/**
 * A session of `model` (a path or the graph's bytes) on the binding directly, or undefined where
 * the binding cannot be reached. onnxruntime's own errors (a graph it cannot load) are thrown as
 * InferenceSession.create throws them.
 */
export function createDirect(model: string | Uint8Array, options: InferenceSession.SessionOptions): InferenceSession | undefined {
  const b = nativeBinding();
  if (!b) return undefined;
  b.initOrt();
  const native = new b.binding.InferenceSession();
  if (typeof model === 'string') native.loadModel(model, options);
  else native.loadModel(model.buffer, model.byteOffset, model.byteLength, options);
  // The public class around our handler: its feed and fetch checks, and every caller's type.
  const Session = ort().InferenceSession as unknown as new (h: InferenceSessionHandler) => InferenceSession;
  const handler = new DirectHandler(native);
  const session = new Session(handler);
  direct.set(session, handler);
  return session;
}
