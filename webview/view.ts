// The handle every part of the panel is given instead of module-level globals: the current state,
// the way to the host, and what a change needs afterwards (keep it, draw it).
import type { TabId, WebviewToHost } from '../src/protocol/inspector';
import type { ViewState } from './state';

export interface View {
  /** The state now. Event handlers may set its fields, then call persist() and render(). */
  readonly state: ViewState;
  post(message: WebviewToHost): void;
  /** vscode.setState with the persistent part of the state. */
  persist(): void;
  /** Redraw the whole panel. */
  render(): void;
  /** The section element of a tab. */
  panel(id: TabId): HTMLElement;
}
