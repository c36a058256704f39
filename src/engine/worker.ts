// The worker_threads entry (bundled to dist/engine-worker.js): owns one CoconutEngine and answers
// EngineClient's messages, so inference never blocks the extension host's event loop.
import { parentPort } from 'node:worker_threads';
import { CoconutEngine } from './engine';
import { EngineError, toLensError } from './errors';
import type { AnalysisProgress, InspectProgress } from '../shared/types';
import type { HostToWorker, RunMessage, RunValue, WorkerRequest, WorkerToHost } from './worker-protocol';
import { BUSY_MESSAGE } from './worker-protocol';

const port = parentPort;
if (!port) throw new Error('engine-worker.js must run as a worker thread (new Worker(path))');

let engine: CoconutEngine | undefined;
let running: { id: number; abort: AbortController } | undefined;
let loading = false;

function send(msg: WorkerToHost): void {
  port!.postMessage(msg);
}

function fail(id: number, e: unknown): void {
  send({ kind: 'error', id, error: toLensError(e).toJSON() });
}

function run(e: CoconutEngine, msg: RunMessage, signal: AbortSignal, onProgress: (p: InspectProgress | AnalysisProgress) => void): Promise<RunValue> {
  switch (msg.kind) {
    case 'inspect':
      return e.inspect(msg.request, signal, { onProgress });
    case 'intervene':
      return e.intervene(msg.request, { signal, onProgress });
    case 'sweep':
      return e.sweep(msg.request, { ...msg.options, signal, onProgress });
    case 'attribution':
      return e.attribution(msg.request, { signal, onProgress });
    case 'eval':
      return e.evalDataset(msg.records, { ...msg.options, signal, onProgress });
  }
}

async function handle(msg: WorkerRequest): Promise<void> {
  switch (msg.kind) {
    case 'cancel':
      if (running?.id === msg.id) running.abort.abort();
      return;
    case 'load': {
      if (running || loading) {
        fail(msg.id, new EngineError('BUSY', BUSY_MESSAGE, 'cancel the current run, or wait for it to finish, then load'));
        return;
      }
      loading = true;
      try {
        const old = engine;
        engine = undefined;
        await old?.dispose();
        const { modelDir, provider, threads, isDefault } = msg.params;
        engine = await CoconutEngine.load(modelDir, { provider, threads, isDefault, onNotice: (message) => send({ kind: 'notice', message }) });
        send({ kind: 'ok', id: msg.id, value: engine.info });
      } catch (e) {
        fail(msg.id, e);
      } finally {
        loading = false;
      }
      return;
    }
    case 'inspect':
    case 'intervene':
    case 'sweep':
    case 'attribution':
    case 'eval': {
      if (!engine) {
        fail(msg.id, new EngineError('NOT_LOADED', 'no model is loaded in the engine worker', 'load a model before running it'));
        return;
      }
      if (running || loading) {
        fail(msg.id, new EngineError('BUSY', BUSY_MESSAGE, 'cancel the current run, or wait for it to finish'));
        return;
      }
      const abort = new AbortController();
      running = { id: msg.id, abort };
      try {
        const value = await run(engine, msg, abort.signal, (progress) => send({ kind: 'progress', id: msg.id, progress }));
        send({ kind: 'ok', id: msg.id, value });
      } catch (e) {
        fail(msg.id, e);
      } finally {
        running = undefined;
      }
      return;
    }
    default: {
      const unknown = msg as { id?: unknown; kind?: unknown };
      if (typeof unknown.id === 'number') {
        fail(unknown.id, new EngineError('INTERNAL', `unknown message kind ${JSON.stringify(unknown.kind)}`, 'rebuild the extension so host and worker agree'));
      }
    }
  }
}

const inFlight = new Set<Promise<void>>();

// The thread ends only once no onnxruntime call is in flight (see EngineClient.dispose): a
// cancelled run stops after its current pass, a load finishes, then the sessions are released.
async function shutdown(): Promise<void> {
  running?.abort.abort();
  await Promise.allSettled([...inFlight]);
  await engine?.dispose().catch(() => undefined);
  engine = undefined;
  process.exit(0);
}

port.on('message', (msg: HostToWorker) => {
  if (msg.kind === 'shutdown') {
    port.removeAllListeners('message');
    void shutdown();
    return;
  }
  const work = handle(msg);
  inFlight.add(work);
  void work.finally(() => inFlight.delete(work));
});
