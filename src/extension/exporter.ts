// Saving exports (trace JSON/CSV, chart SVG/PNG) where the user chooses: a save dialog, a modal
// question before an existing file is replaced, and a clear error for a folder that cannot be
// written. Nothing is ever written without a dialog.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { HostError } from './errors';

export interface ExportFile {
  /** What is saved, for titles and messages: "trace JSON", "k sweep chart (PNG)". */
  what: string;
  /** File name proposed in the dialog. */
  defaultName: string;
  filters: Record<string, string[]>;
  bytes: Uint8Array;
}

export const REPLACE = 'Replace';

export class Exporter {
  /** Folder of the last export, proposed next time. */
  private lastDir?: vscode.Uri;

  constructor(private readonly log: vscode.LogOutputChannel) {}

  /**
   * Asks where to save, asks again before replacing a file, writes. Resolves with the saved file,
   * or undefined when the user cancelled either question; throws EXPORT_FAILED when it cannot write.
   */
  async save(file: ExportFile, near?: vscode.Uri): Promise<vscode.Uri | undefined> {
    const base = this.lastDir ?? folderOf(near) ?? vscode.workspace.workspaceFolders?.[0]?.uri;
    const target = await vscode.window.showSaveDialog({
      title: `Coconut Lens: export ${file.what}`,
      saveLabel: 'Export',
      filters: file.filters,
      defaultUri: base ? vscode.Uri.joinPath(base, file.defaultName) : undefined,
    });
    if (!target) {
      this.log.info(`Export of the ${file.what} cancelled (no file chosen).`);
      return undefined;
    }
    const name = path.posix.basename(target.path);
    if (await exists(target)) {
      const answer = await vscode.window.showWarningMessage(
        `${name} already exists. Replace it with the ${file.what}?`,
        { modal: true, detail: `${displayPath(target)} will be overwritten. Choose Cancel to keep it.` },
        REPLACE,
      );
      if (answer !== REPLACE) {
        this.log.info(`Export of the ${file.what} cancelled: kept the existing ${displayPath(target)}.`);
        return undefined;
      }
    }
    checkFolderWritable(target, file.what);
    try {
      await vscode.workspace.fs.writeFile(target, file.bytes);
    } catch (err) {
      throw writeError(target, file.what, err);
    }
    this.lastDir = vscode.Uri.joinPath(target, '..');
    this.log.info(`Exported the ${file.what} to ${displayPath(target)} (${file.bytes.length} bytes).`);
    return target;
  }
}

function folderOf(uri: vscode.Uri | undefined): vscode.Uri | undefined {
  if (!uri || uri.scheme === 'untitled') return undefined;
  return vscode.Uri.joinPath(uri, '..');
}

async function exists(uri: vscode.Uri): Promise<boolean> {
  try {
    await vscode.workspace.fs.stat(uri);
    return true;
  } catch {
    return false;
  }
}

export function displayPath(uri: vscode.Uri): string {
  return uri.scheme === 'file' ? uri.fsPath : uri.toString(true);
}

/**
 * A folder without write permission for anyone counts as read-only, even for a user (root) the
 * system would let through: that folder's owner said no writes.
 */
function checkFolderWritable(target: vscode.Uri, what: string): void {
  if (target.scheme !== 'file') return;
  const dir = path.dirname(target.fsPath);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(dir);
  } catch {
    throw new HostError('EXPORT_FAILED', `Cannot save the ${what}: the folder ${dir} does not exist.`, 'Choose an existing folder.');
  }
  let denied = (stat.mode & 0o222) === 0;
  if (!denied) {
    try {
      fs.accessSync(dir, fs.constants.W_OK);
    } catch {
      denied = true;
    }
  }
  if (denied) throw readOnly(dir, what);
}

function readOnly(dir: string, what: string): HostError {
  return new HostError(
    'EXPORT_FAILED',
    `Cannot save the ${what}: the folder ${dir} is read-only.`,
    'Choose a folder you can write to (for example your workspace), or make this folder writable.',
  );
}

function writeError(target: vscode.Uri, what: string, err: unknown): HostError {
  const code = (err as { code?: unknown }).code;
  const dir = path.dirname(displayPath(target));
  if (code === 'NoPermissions' || code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return readOnly(dir, what);
  return new HostError(
    'EXPORT_FAILED',
    `Cannot save the ${what} to ${displayPath(target)}: ${(err as Error).message ?? String(err)}`,
    'Choose another file name or folder and export again.',
  );
}
