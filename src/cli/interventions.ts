// --intervene specs: "THOUGHT:KIND[=VALUE]", e.g. "2:zero", "3:scale=0.5", "1:token=lempus",
// "2:vector=other.json#3" (thought 3 of an exported trace) or "2:vector=v.json" (a JSON list).
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Intervention } from '../shared/types';
import { EngineError } from '../engine/errors';
import { parseTrace } from '../engine/export';
import { usageError } from './args';

const FORMS = '"N:zero", "N:scale=F", "N:token=WORD" or "N:vector=FILE.json[#THOUGHT]"';

export function parseInterventionSpec(spec: string, readFile: (file: string) => string = (f) => fs.readFileSync(f, 'utf-8')): Intervention {
  const m = /^\s*(-?\d+)\s*:\s*([a-z]+)\s*(?:=(.*))?$/s.exec(spec);
  if (!m) throw usageError(`--intervene ${JSON.stringify(spec)} is not an intervention`, `write ${FORMS}; thoughts are counted from 1`);
  const thought = Number(m[1]);
  const kind = m[2];
  const value = m[3]?.trim();
  const needs = (what: string) => {
    if (value === undefined || value === '') throw usageError(`--intervene ${JSON.stringify(spec)}: ${kind} needs ${what}`, `write ${FORMS}`);
    return value;
  };
  switch (kind) {
    case 'zero':
      if (value !== undefined) throw usageError(`--intervene ${JSON.stringify(spec)}: zero takes no value`, `write "${thought}:zero"`);
      return { thought, kind: 'zero' };
    case 'scale': {
      const v = needs('a factor, e.g. scale=0.5');
      const factor = Number(v);
      if (!/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(v) || !Number.isFinite(factor)) {
        throw usageError(`--intervene ${JSON.stringify(spec)}: the factor ${JSON.stringify(v)} is not a number`, `write e.g. "${thought}:scale=0.5"`);
      }
      return { thought, kind: 'scale', factor };
    }
    case 'token':
      return { thought, kind: 'token', token: needs('a token, e.g. token=lempus') };
    case 'vector': {
      const ref = needs('a file, e.g. vector=trace.json#3');
      const hash = ref.lastIndexOf('#');
      const file = hash >= 0 ? ref.slice(0, hash) : ref;
      const pick = hash >= 0 ? ref.slice(hash + 1) : undefined;
      let text: string;
      try {
        text = readFile(file);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        throw new EngineError(
          'BAD_OPTION',
          `--intervene ${JSON.stringify(spec)}: cannot read ${file} (${code ?? (e as Error).message})`,
          'give the path of a JSON list of numbers or of an exported trace',
        );
      }
      const label = path.basename(file) + (pick !== undefined ? `#${pick}` : '');
      if (pick === undefined) {
        let list: unknown;
        try {
          list = JSON.parse(text);
        } catch {
          list = undefined;
        }
        if (!Array.isArray(list)) {
          throw usageError(
            `--intervene ${JSON.stringify(spec)}: ${file} is not a JSON list of numbers`,
            `give a JSON list of numbers, or pick a thought of an exported trace with ${file}#THOUGHT`,
          );
        }
        return { thought, kind: 'vector', vector: list as number[], label };
      }
      const trace = parseTrace(text, file);
      const j = Number(pick);
      const t = trace.thoughts.find((x) => x.index === j);
      if (!/^\d+$/.test(pick) || !t) {
        const have = trace.thoughts.map((x) => x.index);
        throw usageError(
          `--intervene ${JSON.stringify(spec)}: ${file} has no thought ${JSON.stringify(pick)}`,
          have.length ? `pick a thought from ${have[0]} to ${have[have.length - 1]}` : 'that trace has no thoughts; export a run with thoughts',
        );
      }
      return { thought, kind: 'vector', vector: t.vector, label };
    }
    default:
      throw usageError(`--intervene ${JSON.stringify(spec)}: unknown kind "${kind}"`, `write ${FORMS}`);
  }
}
