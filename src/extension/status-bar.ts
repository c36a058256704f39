// The status bar item: which model, which provider actually runs, and whether it fell back.

import * as vscode from 'vscode';
import type { ModelInfo, ProviderSetting } from '../shared/types';

export interface StatusView {
  /** Model folder name until the model is loaded, then the manifest name. */
  model: string;
  modelDir: string;
  requested: ProviderSetting;
  info?: ModelInfo;
  busy: boolean;
}

export class StatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;

  constructor() {
    this.item = vscode.window.createStatusBarItem('coconutLens.status', vscode.StatusBarAlignment.Right, 100);
    this.item.name = 'Coconut Lens';
    this.item.command = 'coconutLens.selectModel';
  }

  update(view: StatusView): void {
    const { info } = view;
    const name = info?.name ?? view.model;
    const provider = info?.provider ?? view.requested;
    const fellBack = Boolean(info?.providerNotice);
    const icon = view.busy ? '$(loading~spin)' : fellBack ? '$(warning)' : '$(telescope)';
    this.item.text = `${icon} ${name} · ${provider}`;
    this.item.backgroundColor = fellBack ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;

    // A plain string keeps the line breaks and needs no Markdown escaping of paths.
    const lines = ['Coconut Lens', `Model: ${name}`, `Folder: ${info?.dir ?? view.modelDir}`];
    lines.push(info ? `Provider: ${info.provider} (setting: ${view.requested})` : `Provider setting: ${view.requested} (the model loads on the first inspect)`);
    if (info?.providerNotice) lines.push(`⚠ ${info.providerNotice}`);
    if (view.busy) lines.push('A run is in progress.');
    lines.push('', 'Click to select another model.');
    this.item.tooltip = lines.join('\n');
    this.item.accessibilityInformation = {
      label: `Coconut Lens model ${name} on ${provider}${fellBack ? `, fell back: ${info?.providerNotice}` : ''}`,
    };
    this.item.show();
  }

  dispose(): void {
    this.item.dispose();
  }
}
