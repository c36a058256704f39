#!/usr/bin/env node
// Launcher for the coconut-lens command line; the implementation is bundled into dist/cli.js.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const cli = path.join(__dirname, '..', 'dist', 'cli.js');
if (!fs.existsSync(cli)) {
  process.stderr.write(`error: ${cli} is missing: the command line has not been built\nfix: run npm run build in ${path.join(__dirname, '..')}\n`);
  process.exit(1);
}
require(cli);
