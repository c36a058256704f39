// What the host does for each message the panel sends (after the protocol guard in panel.ts): the
// analyses, exports, pinning, hovering a thought, choosing a model. A failure goes back to the
// panel and to a notification, as for the palette commands.
import type { WebviewToHost } from '../protocol/inspector';
import type { Analyses } from './analyses';
import type { ExportCommands } from './export-commands';
import { chooseModelFromPanel } from './models';
import type { InspectRunner } from './runner';
import type { StepLinks } from './step-links';

export interface PanelMessageTargets {
  runner: InspectRunner;
  analyses: Analyses;
  links: StepLinks;
  exports: ExportCommands;
  /** Sends the model picker its entries. */
  postModels(): void;
  extensionPath: string;
}

export async function onPanelMessage(msg: WebviewToHost, to: PanelMessageTargets): Promise<void> {
  const { runner, analyses, links, exports, postModels } = to;
  try {
    switch (msg.type) {
      case 'ready':
        postModels();
        break;
      case 'selectModel':
        // The setting changes; extension.ts reloads the engine and clears the view with a notice
        // that offers the rerun (as for "Coconut Lens: Select Model").
        await chooseModelFromPanel(msg.dir, to.extensionPath);
        break;
      case 'hoverThought':
        links.hoverThought(msg.index);
        break;
      case 'sweep':
        await analyses.sweep(msg.to);
        break;
      case 'intervene':
        await analyses.intervene(msg.interventions);
        break;
      case 'attribution':
        await analyses.attribution();
        break;
      case 'evalDataset':
        await analyses.evalDataset(undefined, msg.to);
        break;
      case 'openRecord':
        await analyses.openRecord({ uri: msg.uri, index: msg.index }, msg.k);
        break;
      case 'exportTrace':
        await exports.trace(msg.format, msg.intervened);
        break;
      case 'chartImage':
        // Images that answer a palette command's request are taken by the panel itself.
        if (msg.requestId === undefined) await exports.chart(msg.format, msg.chart, msg.data);
        break;
      case 'pin':
        runner.pinCurrent();
        break;
      case 'unpin':
        runner.unpin();
        break;
      default:
        break;
    }
  } catch (err) {
    // The picker goes back to the model that still runs.
    if (msg.type === 'selectModel') postModels();
    // The panel asked; the panel says what went wrong (and a notification, as for commands).
    runner.fail(err);
  }
}
