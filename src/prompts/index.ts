export { detectFormat, parsePromptFile, recordAt, selectRecord } from './parse';
export type { PromptFile, PromptFormat, PromptRecord, Range } from './types';
