// Tokenizes texts with @huggingface/tokenizers (the engine's library) so Python tests can check that
// training/tokenizer.py encodes and decodes identically.
// Usage: node training/tools/js_tokenize.mjs TOKENIZER_JSON < {"texts": [...], "decode": [[ids]...]}
// Prints {"ids": [[...]], "tokens": [[...]], "decoded": [...]} on stdout.
import { readFileSync } from 'node:fs';
import { Tokenizer } from '@huggingface/tokenizers';

const [tokenizerPath] = process.argv.slice(2);
if (!tokenizerPath) {
  console.error('usage: node js_tokenize.mjs TOKENIZER_JSON < request.json');
  process.exit(2);
}
const tokenizer = new Tokenizer(JSON.parse(readFileSync(tokenizerPath, 'utf8')), {});
const request = JSON.parse(readFileSync(0, 'utf8'));
const encoded = (request.texts ?? []).map((t) => tokenizer.encode(t));
const result = {
  ids: encoded.map((e) => e.ids),
  tokens: encoded.map((e) => e.tokens),
  decoded: (request.decode ?? []).map((ids) => (ids.length ? tokenizer.decode(ids) : '')),
};
process.stdout.write(JSON.stringify(result));
