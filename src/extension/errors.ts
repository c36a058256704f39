// Turns whatever a run throws into the protocol's ErrorInfo (message + fix) and shows it.

import * as vscode from 'vscode';
import { asSentence, type ErrorCode, type ErrorInfo } from '../protocol/inspector';

/** Errors the extension host raises itself, shaped like the engine's EngineError. */
export class HostError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly fix: string,
  ) {
    super(message);
    this.name = 'HostError';
  }
}

export const CANCELLED: ErrorInfo = {
  code: 'CANCELLED',
  message: 'The run was cancelled.',
  fix: 'Run an Inspect command again when you are ready.',
};

/**
 * EngineErrors cross the worker boundary as plain objects, so they are recognised by shape, not by
 * class.
 */
export function toErrorInfo(err: unknown, aborted = false): ErrorInfo {
  if (typeof err === 'object' && err !== null) {
    const e = err as { code?: unknown; message?: unknown; fix?: unknown; name?: unknown };
    if (typeof e.code === 'string' && typeof e.message === 'string' && typeof e.fix === 'string') {
      return { code: e.code as ErrorCode, message: e.message, fix: e.fix };
    }
    if (e.name === 'AbortError' || (aborted && e.code === undefined)) return CANCELLED;
  }
  const text = err instanceof Error ? err.message : String(err);
  return {
    code: 'INTERNAL',
    message: `Coconut Lens failed unexpectedly: ${text}`,
    fix: 'See the "Coconut Lens" output channel for details, and report the problem with that log.',
  };
}

/** Which command helps with an error, shown as a button next to it. */
function actionsFor(code: ErrorCode): { title: string; command: string }[] {
  const actions: { title: string; command: string }[] = [];
  if (code.startsWith('MODEL_') || code === 'WORKSPACE_UNTRUSTED') {
    actions.push({ title: 'Select Model…', command: 'coconutLens.selectModel' });
  }
  if (code === 'WORKSPACE_UNTRUSTED') {
    actions.push({ title: 'Manage Workspace Trust', command: 'workbench.trust.manage' });
  }
  if (code === 'PROVIDER_FAILED') {
    actions.push({ title: 'Select Execution Provider…', command: 'coconutLens.selectProvider' });
  }
  actions.push({ title: 'Show Log', command: 'coconutLens.showLog' });
  return actions;
}

/** Not awaited by callers: a notification nobody clicks must not keep a command pending. */
export function showError(info: ErrorInfo, log: vscode.LogOutputChannel): void {
  const actions = actionsFor(info.code);
  void vscode.window.showErrorMessage(`${asSentence(info.message)} ${asSentence(info.fix)}`, ...actions.map((a) => a.title)).then((picked) => {
    const action = actions.find((a) => a.title === picked);
    if (!action) return;
    if (action.command === 'coconutLens.showLog') log.show(true);
    else void vscode.commands.executeCommand(action.command);
  });
}

/**
 * registerCommand for commands that report their failure (logged, and shown with its fix) instead
 * of letting VS Code print a bare "command failed"; a failed command resolves to undefined.
 */
export function reportingCommands(log: vscode.LogOutputChannel) {
  return (id: string, fn: (...args: unknown[]) => unknown): vscode.Disposable =>
    vscode.commands.registerCommand(id, async (...args: unknown[]) => {
      try {
        return await fn(...args);
      } catch (err) {
        const info = toErrorInfo(err);
        log.error(`${id}: ${info.code}: ${info.message}`);
        showError(info, log);
        return undefined;
      }
    });
}
