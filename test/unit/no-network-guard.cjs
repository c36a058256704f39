// Preloaded (node --require) by test/unit/no-network.test.ts: every way Node code can reach the
// network is replaced by a function that records the attempt and throws. Loaded in the main thread
// and, through execArgv, in every worker thread. Attempts are appended as JSON lines to
// $COCONUT_NO_NET_LOG so the test sees them even when the code under test swallows the error.
'use strict';
const fs = require('node:fs');
const { threadId } = require('node:worker_threads');

const logFile = process.env.COCONUT_NO_NET_LOG;

function record(what, detail) {
  const line = JSON.stringify({ what, detail: String(detail ?? '').slice(0, 200), threadId, stack: new Error().stack.split('\n').slice(2, 6).join(' | ') });
  if (logFile) fs.appendFileSync(logFile, line + '\n');
}

function blocker(what) {
  return function blocked(...args) {
    const a = args[0];
    const detail = typeof a === 'object' && a !== null ? (a.href ?? a.host ?? a.hostname ?? a.path ?? JSON.stringify(a)) : a;
    record(what, detail);
    const err = new Error(`network access blocked by no-network-guard: ${what}(${detail})`);
    err.code = 'ENETBLOCKED';
    throw err;
  };
}

function patch(mod, name, names) {
  for (const n of names) {
    if (typeof mod[n] === 'function') {
      Object.defineProperty(mod, n, { value: blocker(`${name}.${n}`), writable: true, configurable: true });
    }
  }
}

const net = require('node:net');
patch(net, 'net', ['connect', 'createConnection']);
net.Socket.prototype.connect = blocker('net.Socket.connect');
patch(require('node:tls'), 'tls', ['connect']);
patch(require('node:http'), 'http', ['request', 'get']);
patch(require('node:https'), 'https', ['request', 'get']);
patch(require('node:http2'), 'http2', ['connect']);
const dns = require('node:dns');
patch(dns, 'dns', [
  'lookup',
  'lookupService',
  'resolve',
  'resolve4',
  'resolve6',
  'resolveAny',
  'resolveCname',
  'resolveMx',
  'resolveNs',
  'resolveTxt',
  'resolveSrv',
  'reverse',
]);
patch(dns.promises, 'dns.promises', ['lookup', 'lookupService', 'resolve', 'resolve4', 'resolve6', 'resolveAny', 'reverse']);
const dgram = require('node:dgram');
const createSocket = dgram.createSocket;
dgram.createSocket = function (...args) {
  const s = createSocket.apply(this, args);
  s.send = blocker('dgram.send');
  s.connect = blocker('dgram.connect');
  return s;
};
for (const g of ['fetch', 'WebSocket', 'EventSource']) {
  if (typeof globalThis[g] === 'function') globalThis[g] = blocker(g);
}
// undici (Node's fetch implementation) when a bundle carries its own copy.
try {
  const undici = require('undici');
  patch(undici, 'undici', ['fetch', 'request', 'stream', 'pipeline', 'connect']);
} catch {
  // not installed: nothing to patch
}
record('guard-loaded', process.argv[1] ?? '');
