import { extname } from 'path';
import { parseJsonc } from '../system/jsonc';
import { typescript } from '../system/typescript';

const SCRIPT = /^\.[cm]?[jt]sx?$/;

/**
 * The first syntax error of a file fanout is about to write by merging (a wired
 * file), as `file:line:column message`, or undefined when it parses. TypeScript
 * and JavaScript are parsed by the compiler (syntax only, no types); JSON with
 * comments as tsconfig files allow. Other files are not judged.
 */
export function syntaxError(path: string, content: string): string | undefined {
  const extension = extname(path).toLowerCase();
  if (extension === '.json') {
    try {
      parseJsonc(content);
      return undefined;
    } catch (error) {
      return `${path}: ${(error as Error).message}`;
    }
  }
  if (!SCRIPT.test(extension)) return undefined;
  const output = typescript.transpileModule(content, {
    fileName: path,
    reportDiagnostics: true,
    compilerOptions: { jsx: typescript.JsxEmit.Preserve, allowJs: true, noEmit: false },
  });
  const first = output.diagnostics?.find((diagnostic) => diagnostic.category === typescript.DiagnosticCategory.Error);
  if (!first) return undefined;
  const message = typescript.flattenDiagnosticMessageText(first.messageText, ' ');
  if (first.file && first.start !== undefined) {
    const { line, character } = first.file.getLineAndCharacterOfPosition(first.start);
    return `${path}:${line + 1}:${character + 1} TS${first.code}: ${message}`;
  }
  return `${path}: TS${first.code}: ${message}`;
}
