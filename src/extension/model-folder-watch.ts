// Watches the manifest and model card of each listed model folder, so that the views which show
// them (the Models side bar, the panel's model picker) follow a re-export (training/export.py
// --out) or an edited card without a manual refresh. A re-export writes several files in a row:
// the listener runs once they have settled.

import * as vscode from 'vscode';

/** What the views read from a model folder: the manifest (name, size, accuracy) and the card (title). */
const WATCHED = '{coconut.json,README.md}';
const SETTLE_MS = 200;

export class ModelFolderWatch implements vscode.Disposable {
  private readonly watchers = new Map<string, vscode.Disposable>();
  private timer?: ReturnType<typeof setTimeout>;

  /** `folders` is asked again at every sync(): the list changes with the settings. */
  constructor(
    private readonly folders: () => string[],
    private readonly onChange: () => void,
  ) {
    this.sync();
  }

  /** Watches exactly the folders listed now. */
  sync(): void {
    const wanted = new Set(this.folders());
    for (const [dir, w] of this.watchers) {
      if (wanted.has(dir)) continue;
      w.dispose();
      this.watchers.delete(dir);
    }
    for (const dir of wanted) {
      if (this.watchers.has(dir)) continue;
      // Folders outside the workspace are watched too (a RelativePattern on a Uri); the pattern has
      // no '**', so the watch is not recursive and a folder that also keeps checkpoints costs nothing more.
      const w = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(dir), WATCHED));
      const changed = () => this.changed();
      this.watchers.set(dir, vscode.Disposable.from(w, w.onDidCreate(changed), w.onDidChange(changed), w.onDidDelete(changed)));
    }
  }

  dispose(): void {
    clearTimeout(this.timer);
    for (const w of this.watchers.values()) w.dispose();
    this.watchers.clear();
  }

  private changed(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(this.onChange, SETTLE_MS);
  }
}
