// The palette forms of what the editor and the panel offer by pointing: pick a record of the
// active prompt file (the CodeLens's job), and one intervention on one thought (the panel's editor).
import * as vscode from 'vscode';
import type { Intervention } from '../protocol/inspector';
import { docLabel, type PromptDocuments } from './documents';
import { HostError } from './errors';
import { questionFromRecord, questionFromRecordIndex } from './questions';
import type { Question } from './run-history';
import type { InspectRunner } from './runner';

interface RecordPick extends vscode.QuickPickItem {
  index: number;
}

/** The palette form of the CodeLens: pick a record of the active prompt file. */
export async function pickRecord(documents: PromptDocuments): Promise<Question | undefined> {
  const editor = vscode.window.activeTextEditor;
  if (!editor) {
    throw new HostError(
      'NO_EDITOR',
      'No editor is active, so there is no prompt file to pick a record from.',
      'Open a JSON, JSONL or .coconut prompt file and run the command again.',
    );
  }
  const file = documents.parse(editor.document);
  if (file.format === 'text') return questionFromRecord(editor);
  if (file.records.length === 1) return questionFromRecordIndex(editor.document.uri.toString(), 0);
  const picked = await vscode.window.showQuickPick<RecordPick>(
    file.records.map((r) => ({
      index: r.index,
      label: `Record ${r.index}`,
      description: `line ${r.line}${r.steps ? ` · ${r.steps.length} steps` : ''}${r.graph ? ' · ProsQA graph' : ''}`,
      detail: r.question.length > 120 ? `${r.question.slice(0, 120)}…` : r.question,
    })),
    { title: `Coconut Lens: inspect a record of ${docLabel(editor.document)}`, matchOnDetail: true },
  );
  return picked ? questionFromRecordIndex(editor.document.uri.toString(), picked.index) : undefined;
}

interface KindPick extends vscode.QuickPickItem {
  edit: 'zero' | 'scale' | 'token';
}

/** The palette form of the panel's intervention editor: one thought, one edit. */
export async function askIntervention(runner: InspectRunner): Promise<Intervention[] | undefined> {
  const cur = runner.currentRun();
  if (!cur) return [];
  const k = cur.run.k;
  const thought = await vscode.window.showInputBox({
    title: 'Coconut Lens: intervene on a thought',
    prompt: `Which thought (1 to ${k})?`,
    value: '1',
    validateInput: (v) => (/^\d+$/.test(v.trim()) && Number(v) >= 1 && Number(v) <= k ? undefined : `A whole number from 1 to ${k}.`),
  });
  if (thought === undefined) return undefined;
  const kind = await vscode.window.showQuickPick<KindPick>(
    [
      { edit: 'zero', label: 'Zero it', detail: 'Feed a zero vector instead of the thought' },
      { edit: 'scale', label: 'Scale it…', detail: 'Multiply the thought by a factor' },
      { edit: 'token', label: 'Replace it with a token…', detail: 'Feed a token’s input embedding instead' },
    ],
    { title: `Coconut Lens: what to do with thought ${thought}` },
  );
  if (!kind) return undefined;
  const t = Number(thought);
  if (kind.edit === 'zero') return [{ thought: t, kind: 'zero' }];
  if (kind.edit === 'scale') {
    const f = await vscode.window.showInputBox({
      title: `Coconut Lens: scale thought ${t}`,
      prompt: 'Factor',
      value: '0.5',
      validateInput: (v) => (Number.isFinite(Number(v)) && v.trim() !== '' ? undefined : 'A number, e.g. 0.5 or 2.'),
    });
    return f === undefined ? undefined : [{ thought: t, kind: 'scale', factor: Number(f) }];
  }
  const token = await vscode.window.showInputBox({ title: `Coconut Lens: replace thought ${t}`, prompt: 'Token (a word of the model’s vocabulary)' });
  return token === undefined ? undefined : [{ thought: t, kind: 'token', token }];
}
