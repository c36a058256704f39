// Writing an export: never over an existing file unless forced, and errors that say why a folder
// cannot take the file. The format follows the extension (.json trace, .csv distributions).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EngineError } from '../engine/errors';

export type ExportFormat = 'json' | 'csv';

export interface ExportFs {
  existsSync(p: string): boolean;
  statSync(p: string): { isDirectory(): boolean };
  writeFileSync(p: string, data: string, opts: { flag: string }): void;
}

export function exportFormat(file: string): ExportFormat {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.json') return 'json';
  if (ext === '.csv') return 'csv';
  throw new EngineError(
    'BAD_OPTION',
    `cannot tell the export format of ${file}: it must end in .json (the trace) or .csv (the thought distributions)`,
    'name the file e.g. trace.json or trace.csv',
  );
}

function existsError(file: string): EngineError {
  return new EngineError(
    'EXPORT_EXISTS',
    `${file} already exists; an export never overwrites a file unless told to`,
    'choose another file name, or pass --force to overwrite it',
  );
}

/** Checks before any work is done: the format, an existing file, the folder. */
export function checkExportTarget(file: string, force: boolean, fsi: ExportFs = fs): ExportFormat {
  const format = exportFormat(file);
  const full = path.resolve(file);
  const dir = path.dirname(full);
  if (!fsi.existsSync(dir)) {
    throw new EngineError('EXPORT_FAILED', `cannot write ${file}: the folder ${dir} does not exist`, 'create the folder first, or export to an existing one');
  }
  if (fsi.existsSync(full)) {
    if (fsi.statSync(full).isDirectory()) throw new EngineError('EXPORT_FAILED', `cannot write ${file}: it is a folder`, 'give a file name, e.g. trace.json');
    if (!force) throw existsError(file);
  }
  return format;
}

export function writeExport(file: string, content: string, force: boolean, fsi: ExportFs = fs): void {
  const full = path.resolve(file);
  try {
    // 'wx' fails if the file appeared since the check: still no silent overwrite.
    fsi.writeFileSync(full, content, { flag: force ? 'w' : 'wx' });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const dir = path.dirname(full);
    if (code === 'EEXIST') throw existsError(file);
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
      throw new EngineError(
        'EXPORT_FAILED',
        `cannot write ${file}: the folder ${dir} is read-only (${code})`,
        'export to a folder you can write to, e.g. your home folder or the workspace',
        { details: { code } },
      );
    }
    if (code === 'ENOENT')
      throw new EngineError('EXPORT_FAILED', `cannot write ${file}: the folder ${dir} does not exist`, 'create the folder first, or export to an existing one');
    if (code === 'EISDIR') throw new EngineError('EXPORT_FAILED', `cannot write ${file}: it is a folder`, 'give a file name, e.g. trace.json');
    throw new EngineError('EXPORT_FAILED', `cannot write ${file}: ${(e as Error).message}`, 'check the path and the free disk space, then export again');
  }
}
