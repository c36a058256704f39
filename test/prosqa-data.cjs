// Where the tests find the official ProsQA validation set: the copy the repository carries
// (data/prosqa/README.md), or $PROSQA_VALID. CommonJS so that both the TypeScript unit tests and the
// ES-module VS Code harness can load it synchronously.
const path = require('node:path');

/** The path of prosqa_valid.json; whether it exists is the caller's question. */
function prosqaValidPath() {
  return process.env.PROSQA_VALID ?? path.join(__dirname, '..', 'data', 'prosqa', 'prosqa_valid.json');
}

module.exports = { prosqaValidPath };
