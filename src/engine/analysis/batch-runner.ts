// What a dataset evaluation needs to run its batches, apart from how: on the calling thread
// (batch-answers.ts decoderBatches) or in lanes of their own (../batch-lanes.ts).

/** Runs whole batches (batchAnswersAtDepths), `lanes` of them at once. */
export interface BatchRunner {
  readonly lanes: number;
  /** Bytes of cache buffers one row takes (BatchDecoder.bytesPerRow). */
  bytesPerRow(prompt: number, after: number): number;
  answers(prompts: number[][], ks: number[], maxNewTokens: number, signal?: AbortSignal): Promise<BatchAnswer[]>;
}

export interface BatchAnswer {
  k: number;
  /** Per row, the greedy answer ids (eos excluded). */
  ids: number[][];
  stoppedBy: ('eos' | 'max_new_tokens')[];
}
