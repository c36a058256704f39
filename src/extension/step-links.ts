// Links between the panel's thoughts and the prompt's reasoning steps (thoughts align with steps, c
// per step): hovering a thought in the panel highlights its step in the editor, and the cursor or
// the mouse on a step highlights its thoughts in the panel.

import * as vscode from 'vscode';
import { stepOfThought, thoughtsOfStep, type RecordRef } from '../protocol/inspector';
import { stepAt, toRange, type PromptDocuments } from './documents';
import type { InspectorPanel } from './panel';
import type { InspectRunner } from './runner';

export class StepLinks implements vscode.Disposable {
  private readonly decoration = vscode.window.createTextEditorDecorationType({
    backgroundColor: new vscode.ThemeColor('editor.findMatchHighlightBackground'),
    border: '1px solid',
    borderColor: new vscode.ThemeColor('editor.findMatchHighlightBorder'),
    overviewRulerColor: new vscode.ThemeColor('editorOverviewRuler.findMatchForeground'),
    overviewRulerLane: vscode.OverviewRulerLane.Center,
  });
  private readonly subscriptions: vscode.Disposable[] = [];
  /** Thoughts last sent to the panel, so a cursor move within one step sends nothing. */
  private linked = '';
  /** The step the editor highlights now (for tests): uri, record, step. */
  private highlighted?: { uri: string; record: number; step: number; text: string };

  constructor(
    private readonly runner: InspectRunner,
    private readonly panel: InspectorPanel,
    private readonly documents: PromptDocuments,
  ) {
    this.subscriptions.push(vscode.window.onDidChangeTextEditorSelection((e) => this.fromEditor(e.textEditor.document, e.selections[0]?.active)));
  }

  get highlightedStep(): { uri: string; record: number; step: number; text: string } | undefined {
    return this.highlighted;
  }

  /** The panel's pointer or focus is on thought `index` (null: on none). */
  hoverThought(index: number | null): void {
    const cur = this.runner.currentRun();
    const ref = cur?.run.record;
    const editors = ref ? vscode.window.visibleTextEditors.filter((e) => e.document.uri.toString() === ref.uri) : [];
    const clear = () => {
      for (const e of vscode.window.visibleTextEditors) e.setDecorations(this.decoration, []);
      this.highlighted = undefined;
    };
    if (index === null || !cur || !ref || !editors.length) {
      clear();
      return;
    }
    const file = this.documents.tryParse(editors[0]!.document);
    const record = file?.records[ref.index];
    const step = stepOfThought(index, cur.run.perStep ?? 1);
    const range = record && record.question === cur.run.question ? record.stepRanges[step] : undefined;
    if (!range) {
      clear();
      return;
    }
    const doc = editors[0]!.document;
    const r = toRange(doc, range);
    for (const e of editors) {
      e.setDecorations(this.decoration, [{ range: r, hoverMessage: `Thought ${index} stands for this step (step ${step + 1}).` }]);
      e.revealRange(r, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
    }
    this.highlighted = { uri: ref.uri, record: ref.index, step, text: doc.getText(r) };
  }

  /**
   * The editor's cursor (or the mouse, from the hover provider) is at `pos` of `doc`: the thoughts
   * of the step there are highlighted in the panel, when the panel shows that record.
   */
  fromEditor(doc: vscode.TextDocument, pos: vscode.Position | undefined): number[] {
    const thoughts = pos ? this.thoughtsAt(doc, pos) : [];
    const key = thoughts.join(',');
    if (key !== this.linked) {
      this.linked = key;
      this.panel.post({ type: 'highlightThoughts', indices: thoughts });
    }
    return thoughts;
  }

  /** The thoughts of the current run that stand for the step at `pos` ([] when there is none). */
  thoughtsAt(doc: vscode.TextDocument, pos: vscode.Position): number[] {
    const cur = this.runner.currentRun();
    const ref: RecordRef | undefined = cur?.run.record;
    if (!cur || !ref || ref.uri !== doc.uri.toString()) return [];
    const record = this.documents.recordAt(doc, pos);
    if (!record || record.index !== ref.index || record.question !== cur.run.question) return [];
    const step = stepAt(record, doc.offsetAt(pos));
    if (step === undefined) return [];
    return thoughtsOfStep(step, cur.run.perStep ?? 1, cur.run.k);
  }

  dispose(): void {
    for (const s of this.subscriptions) s.dispose();
    this.decoration.dispose();
  }
}
