import * as fs from 'node:fs';
import { parseDocument } from 'yaml';
import { BootstrapError } from './errors';

/** Reads a YAML or JSON (JSON is YAML) bootstrap file into a plain object. */
export function readBootstrapFile(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new BootstrapError([{ path: '', message: `cannot read bootstrap file '${file}': ${reason}` }]);
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length) {
    throw new BootstrapError(doc.errors.map((e) => {
      const at = e.linePos ? ` at line ${e.linePos[0].line}, column ${e.linePos[0].col}` : '';
      return { path: '', message: `${file}${at}: ${e.message.split('\n')[0]}` };
    }));
  }
  return doc.toJS();
}
