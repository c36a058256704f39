// Entry of dist/cli.js: bin/coconut-lens.js requires it, so it runs on load (require.main is the
// launcher, not this module). The commands themselves live in run.ts, importable by tests.
import { main } from './run';

main(process.argv.slice(2), {
  out: (s) => process.stdout.write(s + '\n'),
  err: (s) => process.stderr.write(s + '\n'),
  stderrIsTTY: Boolean(process.stderr.isTTY),
}).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    process.stderr.write(`internal error: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exitCode = 1;
  },
);
