// The coconut-lens command line as a function of argv and output streams (main.ts is the entry):
// picks the command (one file each) and turns any error into its message, fix and exit code.
//   coconut-lens inspect FILE [--record N] [--model DIR] [--thoughts K] [--top-k N] [--provider P] [--json]
//                        [--intervene SPEC]... [--export FILE.json|FILE.csv [--force]]
//   coconut-lens sweep FILE [--record N] [--from K] [--to K] [--json]
//   coconut-lens eval DATASET [--model DIR] [--thoughts K | --sweep A..B] [--limit N] [--json]
// Exit codes: 0 ok, 2 bad input or usage (the EngineError's message and fix are printed), 1 internal.
import { toLensError } from '../engine/errors';
import { benchCommand } from './bench';
import { packageRoot, type Io } from './common';
import { evalCommand } from './eval';
import { HOST_MEMORY_COMMAND, hostMemoryProbe } from './host-memory';
import { inspectCommand } from './inspect';
import { sweepCommand } from './sweep';
import { usageError } from './args';
import { USAGE } from './usage';

export async function main(argv: string[], io: Io): Promise<number> {
  const [command, ...rest] = argv;
  const json = rest.includes('--json');
  try {
    switch (command) {
      case 'inspect':
        return await inspectCommand(rest, io);
      case 'eval':
        return await evalCommand(rest, io);
      case 'sweep':
        return await sweepCommand(rest, io);
      case 'bench':
        return await benchCommand(rest, io, packageRoot());
      case HOST_MEMORY_COMMAND:
        return await hostMemoryProbe(rest, io);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        io.out(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw usageError(
          `unknown command ${JSON.stringify(command)}`,
          'use "coconut-lens inspect FILE", "coconut-lens sweep FILE" or "coconut-lens eval DATASET"',
        );
    }
  } catch (e) {
    const le = toLensError(e);
    io.err(`error: ${le.message}`);
    io.err(`fix: ${le.fix}`);
    if (le.code === 'INTERNAL' && e instanceof Error && e.stack && process.env.COCONUT_LENS_DEBUG) io.err(e.stack);
    if (json) io.out(JSON.stringify({ error: le.toJSON() }, null, 2));
    return le.code === 'INTERNAL' ? 1 : 2;
  }
}
