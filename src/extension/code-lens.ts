// "Inspect thoughts" above each record of a prompt file (JSON, JSONL, .coconut). A file that does
// not parse as prompt records (any other JSON) gets no lenses rather than an error.

import * as vscode from 'vscode';
import { COCONUT_LANGUAGE, type PromptDocuments } from './documents';
import { SECTION } from './settings';

export const INSPECT_AT_COMMAND = 'coconutLens.inspectRecordAt';

/** Where the lenses apply: JSON, JSON Lines (by language or extension) and .coconut files. */
export const CODELENS_SELECTOR: vscode.DocumentSelector = [
  { language: 'json' },
  { language: 'jsonc' },
  { language: 'jsonl' },
  { language: COCONUT_LANGUAGE },
  { pattern: '**/*.{jsonl,ndjson}' },
];

export class RecordCodeLens implements vscode.CodeLensProvider {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;

  constructor(private readonly documents: PromptDocuments) {}

  /** The setting was switched: VS Code asks again. */
  refresh(): void {
    this.changed.fire();
  }

  provideCodeLenses(doc: vscode.TextDocument): vscode.CodeLens[] {
    if (!vscode.workspace.getConfiguration(SECTION).get<boolean>('code-lens', true)) return [];
    const file = this.documents.tryParse(doc);
    if (!file || file.format === 'text') return [];
    return file.records.map((r) => {
      const at = doc.positionAt(r.range.start);
      const steps = r.steps?.length ? `, ${r.steps.length} step${r.steps.length === 1 ? '' : 's'}` : '';
      return new vscode.CodeLens(new vscode.Range(at, at), {
        title: '$(telescope) Inspect thoughts',
        tooltip: `Decode the continuous thoughts of record ${r.index}${steps}${r.graph ? ' (with its ProsQA graph)' : ''}`,
        command: INSPECT_AT_COMMAND,
        arguments: [doc.uri.toString(), r.index],
      });
    });
  }

  dispose(): void {
    this.changed.dispose();
  }
}
