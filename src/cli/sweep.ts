// coconut-lens sweep: one record at every k, one prefill, the answer branched off at each depth.
import { selectRecord } from '../prompts';
import { intOption, parseArgs } from './args';
import { COMMON, loadEngine, promptFileArg, type Io } from './common';
import { formatSweep } from './format';
import { describeIntervention } from '../shared/interventions';
import { parseInterventionSpec } from './interventions';
import { USAGE } from './usage';

export async function sweepCommand(argv: string[], io: Io): Promise<number> {
  const p = parseArgs(
    argv,
    {
      model: COMMON.model,
      provider: COMMON.provider,
      threads: COMMON.threads,
      json: COMMON.json,
      help: COMMON.help,
      record: { value: true },
      from: { value: true },
      to: { value: true },
      'max-new-tokens': { value: true },
      intervene: { value: true, repeat: true },
    },
    'sweep',
  );
  if (p.options.has('help')) {
    io.out(USAGE);
    return 0;
  }
  const { file } = promptFileArg(p, 'sweep', 'FILE');
  const record = selectRecord(file, intOption(p, 'record', Number.MIN_SAFE_INTEGER) ?? 0);
  const from = intOption(p, 'from', Number.MIN_SAFE_INTEGER);
  const to = intOption(p, 'to', Number.MIN_SAFE_INTEGER);
  const maxNewTokens = intOption(p, 'max-new-tokens', 1);
  const interventions = (p.lists.get('intervene') ?? []).map((spec) => parseInterventionSpec(spec));
  const { engine, loadMs } = await loadEngine(p, io);
  try {
    const r = await engine.sweep(
      { question: record.question, maxNewTokens, ...(interventions.length ? { interventions } : {}) },
      { from, to, expected: record.answer },
    );
    if (p.options.has('json')) {
      io.out(
        JSON.stringify(
          {
            model: engine.info.name,
            provider: engine.info.provider,
            record: record.index,
            ...(record.answer !== undefined ? { expected: record.answer } : {}),
            ...(interventions.length ? { interventions } : {}),
            loadMs,
            ...r,
          },
          null,
          2,
        ),
      );
    } else {
      io.out(`Model ${engine.info.name} (${engine.info.dir}) on ${engine.info.provider}, record ${record.index}`);
      if (interventions.length) io.out(`Interventions: ${interventions.map(describeIntervention).join('; ')}`);
      io.out(formatSweep(r, record.answer));
    }
    return 0;
  } finally {
    await engine.dispose();
  }
}
