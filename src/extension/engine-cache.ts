// A cache of one: the engine worker for the current model folder and provider setting, loaded
// lazily, reused while both stay the same and the folder's files are those it loaded, and replaced
// when any of these changes. Researchers re-export a model into the folder they are looking at
// (training/export.py --out); the next run then loads the new files instead of showing the old
// model, whose engine would also refuse to make its later sessions from the new decoder.onnx.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { EngineClient } from '../engine/client';
import type { ModelInfo, ProviderSetting } from '../shared/types';

export interface LoadedEngine {
  client: EngineClient;
  /** The folder as requested (ModelInfo.dir is the engine's spelling of it). */
  dir: string;
  info: ModelInfo;
  requested: ProviderSetting;
}

export class EngineCache implements vscode.Disposable {
  private current?: { key: string; engine: Promise<LoadedEngine>; loaded?: LoadedEngine; files: Promise<string> };
  private readonly changed = new vscode.EventEmitter<LoadedEngine | undefined>();
  /** Fires with the new engine after a load, and with undefined when it was dropped. */
  readonly onDidChange = this.changed.event;

  constructor(
    private readonly workerPath: string,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  get loaded(): LoadedEngine | undefined {
    return this.current?.loaded;
  }

  /**
   * `isDefault`: the folder is the shipped model, which changes the engine's missing-model message.
   * `onLoad` is called when this call starts a load (not when it reuses an engine or joins a load
   * in flight), so a caller can show it.
   */
  async ensure(dir: string, provider: ProviderSetting, isDefault = false, onLoad?: () => void): Promise<LoadedEngine> {
    const k = key(dir, provider);
    const held = this.current;
    if (held?.key === k) {
      if (!(await changedOnDisk(held, dir))) return held.engine;
      // Another ensure() may have replaced it while the folder was read.
      if (this.current !== held) return this.ensure(dir, provider, isDefault, onLoad);
      this.log.info(`The files of ${dir} changed since the model was loaded: loading it again.`);
    }
    onLoad?.();
    this.drop();
    // Read before the load starts: files that change during the load count as changed next time.
    const files = folderFiles(dir);
    const entry: NonNullable<EngineCache['current']> = { key: k, engine: this.load(dir, provider, isDefault), files };
    this.current = entry;
    entry.engine.then(
      (loaded) => {
        if (this.current !== entry) {
          loaded.client.dispose();
          return;
        }
        entry.loaded = loaded;
        this.changed.fire(loaded);
      },
      () => {
        // A failed load is not cached: the next inspect tries again (the user may fix the folder).
        if (this.current === entry) this.current = undefined;
      },
    );
    return entry.engine;
  }

  /** Resolves when no load is in flight. */
  async whenIdle(): Promise<void> {
    const pending = this.current?.engine;
    if (pending) await pending.catch(() => undefined);
  }

  /** Forgets the engine; the worker is terminated and the next ensure() loads again. */
  drop(): void {
    const old = this.current;
    this.current = undefined;
    if (!old) return;
    if (old.loaded) {
      old.loaded.client.dispose();
      this.log.info(`Unloaded ${old.loaded.info.name}.`);
      this.changed.fire(undefined);
    }
    // A load still in flight disposes its own client when it settles (see ensure()).
  }

  dispose(): void {
    this.drop();
    this.changed.dispose();
  }

  private async load(dir: string, provider: ProviderSetting, isDefault: boolean): Promise<LoadedEngine> {
    const started = Date.now();
    this.log.info(`Loading model ${dir} (executionProvider: ${provider})…`);
    const client = new EngineClient({ workerPath: this.workerPath, onNotice: (message) => this.log.warn(`Engine: ${message}.`) });
    try {
      const info = await client.load(dir, provider, { isDefault });
      const a = info.architecture;
      this.log.info(
        `Loaded ${info.name} in ${Date.now() - started} ms on ${info.provider}: ${a.family}, ${a.n_layer} layers, ` +
          `d ${a.n_embd}, vocab ${a.vocab_size}, thoughts default ${info.thoughts.default} (max ${info.thoughts.max}), ` +
          `${info.threads} threads${threadsWhy(info)}.` +
          (info.thoughtLoopSession ? ' Thoughts in one call run on a second session of the decoder, made at the second inspect.' : ''),
      );
      if (info.providerNotice) this.log.warn(`Provider: ${info.providerNotice}`);
      return { client, dir, info, requested: provider };
    } catch (err) {
      client.dispose();
      throw err;
    }
  }
}

/**
 * coconut.json's text and the size and modification time of each file it lists: what a re-export
 * or a copied file changes. Only the listed files, so a folder that also keeps checkpoints costs
 * the same few stat calls per run; '' when the manifest cannot be read (the load reports why).
 */
async function folderFiles(dir: string): Promise<string> {
  try {
    const manifest = await fs.promises.readFile(path.join(dir, 'coconut.json'), 'utf8');
    let listed: string[] = [];
    try {
      const files = (JSON.parse(manifest) as { files?: { path?: unknown }[] }).files;
      if (Array.isArray(files)) listed = files.map((f) => f?.path).filter((p): p is string => typeof p === 'string');
    } catch {
      // a malformed manifest is compared as text; the load says what is wrong with it
    }
    const stats = await Promise.all(listed.map((p) => fs.promises.stat(path.join(dir, p)).catch(() => undefined)));
    return [manifest, ...listed.map((p, i) => `${p}\u0000${stats[i]?.size}\u0000${stats[i]?.mtimeMs}`)].join('\u0001');
  } catch {
    return '';
  }
}

/** Whether a loaded engine's folder no longer holds the files it loaded (a load in flight is left alone). */
async function changedOnDisk(entry: { loaded?: LoadedEngine; files: Promise<string> }, dir: string): Promise<boolean> {
  if (!entry.loaded) return false;
  return (await entry.files) !== (await folderFiles(dir));
}

function key(dir: string, provider: ProviderSetting): string {
  return `${provider}\u0000${dir}`;
}

/** Why the engine runs the threads it does, when it chose them (the output channel is where users look). */
function threadsWhy(info: ModelInfo): string {
  const c = info.threadChoice;
  if (!c) return '';
  const ms = Object.entries(c.measuredMs)
    .map(([t, v]) => `${t}: ${v} ms`)
    .join(', ');
  return ` (${c.source === 'cache' ? 'remembered' : 'measured now'}: a short inspect took ${ms})`;
}
