import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { EngineError } from '../../src/engine/errors';
import { ModelTokenizer } from '../../src/engine/tokenizer';
import { FIXTURE, golden } from './helpers';

const tok = ModelTokenizer.fromJson(JSON.parse(fs.readFileSync(path.join(FIXTURE, 'tokenizer.json'), 'utf-8')));

function oov(text: string): EngineError {
  try {
    tok.encode(text);
  } catch (e) {
    assert.ok(e instanceof EngineError);
    assert.equal(e.code, 'PROMPT_OOV');
    return e;
  }
  assert.fail(`expected PROMPT_OOV for ${JSON.stringify(text)}`);
}

describe('tokenizer', () => {
  it('encodes golden prompts exactly as the Python reference did', () => {
    const g = golden();
    const bot = tok.idOf('<|start-latent|>')!;
    for (const c of g.cases) {
      assert.deepEqual([...tok.encode(c.question + '\n').ids, bot], c.input_ids);
    }
  });

  it('round-trips text through decode', () => {
    const q = 'Every lempus is a zumpus. Is Tom a zumpus or rempus?';
    assert.equal(tok.decode(tok.encode(q).ids), q);
    assert.equal(tok.decode([]), '');
  });

  it('reports each unknown word with its position instead of dropping it', () => {
    const e = oov('Every lempus is a zumpus.\nIs Xavier a blorpus or rempus?');
    assert.match(e.message, /2 words the model does not know/);
    assert.match(e.message, /"Xavier" at line 2, column 4/);
    assert.match(e.message, /"blorpus" at line 2, column 13/);
    const unknown = (e.details as any).unknown;
    assert.deepEqual(
      unknown.map((u: any) => [u.word, u.offset]),
      [
        ['Xavier', 29],
        ['blorpus', 38],
      ],
    );
    assert.match(e.fix, /vocabulary/);
  });

  it('suggests a close vocabulary word', () => {
    const e = oov('Is Tom a lempuss?');
    assert.match(e.message, /a word the model does not know: "lempuss" at line 1, column 10 \(did you mean "lempus"\?\)/);
  });

  it('catches unknown punctuation and digits too', () => {
    const e = oov('Is Tom a lempus; or 42?');
    const words = (e.details as any).unknown.map((u: any) => u.word);
    assert.deepEqual(words, [';', '4', '2']);
  });

  it('maps ids to tokens for display', () => {
    assert.equal(tok.tokenOf(tok.idOf('lempus')!), 'lempus');
    assert.equal(tok.tokenOf(100000), '<100000>');
    assert.equal(tok.unkToken, '[UNK]');
  });
});
