// The worker thread of one batch lane (batch-lanes.ts): a one-thread session of its own, and the
// batches the engine hands it, one at a time. Its passes run on this thread, so the engine's thread
// and the other lanes' run beside it.
import { parentPort, workerData } from 'node:worker_threads';
import { batchAnswersAtDepths } from './analysis/batch-answers';
import { BatchDecoder } from './batch-decoder';
import type { LaneReply, LaneRequest, LaneSetup } from './batch-lane-protocol';
import { checkDecoderIO } from './decoder-io';
import { toLensError } from './errors';
import { createSession } from './session';

const port = parentPort!;
const setup = workerData as LaneSetup;
const flag = new Int32Array(setup.cancel);
// What the batch reads between passes: the engine's cancel, across threads.
const cancelled = {
  get aborted() {
    return Atomics.load(flag, 0) === 1;
  },
};
const reply = (m: LaneReply) => port.postMessage(m);
const laneError = (e: unknown) => toLensError(e).toJSON();

async function main(): Promise<void> {
  let dec: BatchDecoder;
  try {
    const { bytes, path } = setup.decoder;
    const { session } = await createSession({ path, bytes: async () => bytes }, { provider: 'cpu', threads: 1 });
    checkDecoderIO(session, setup.manifest, path);
    dec = new BatchDecoder(session, setup.manifest, setup.probe, setup.prefillPassScores);
  } catch (e) {
    reply({ kind: 'failed', error: laneError(e) });
    return;
  }
  port.on('message', (req: LaneRequest) => {
    batchAnswersAtDepths(dec, setup.manifest, req.prompts, req.ks, req.maxNewTokens, cancelled).then(
      (answers) => reply({ kind: 'answers', id: req.id, answers }),
      (e) => reply({ kind: 'error', id: req.id, error: laneError(e) }),
    );
  });
  reply({ kind: 'ready' });
}

void main();
