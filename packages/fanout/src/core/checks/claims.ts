import type { ts } from 'ts-morph';
import { cachedByText } from './text-cache';
import { typescript } from '../system/typescript';

/**
 * What a session's file claims in the shared world of the workspace: the module
 * specifiers it imports, the symbols it exports, the HTTP routes it serves and
 * the ports it listens on. One parse per file, no type checker: cheap enough to
 * run over every session of a run.
 */
export interface FileClaims {
  imports: { specifier: string; line: number }[];
  exports: { name: string; line: number }[];
  routes: { method: string; path: string; line: number }[];
  ports: { port: number; line: number }[];
}

const HTTP_METHODS = new Set(['get', 'post', 'put', 'patch', 'delete', 'head', 'options', 'all']);
const PORT_NAME = /port$/i;

function lineOf(source: ts.SourceFile, node: ts.Node): number {
  return source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
}

function hasExportModifier(node: ts.Node): boolean {
  return (
    (typescript.canHaveModifiers(node) ? typescript.getModifiers(node) : undefined)?.some(
      (modifier) => modifier.kind === typescript.SyntaxKind.ExportKeyword,
    ) ?? false
  );
}

function nameText(name: ts.PropertyName | ts.BindingName | undefined): string | undefined {
  if (!name) return undefined;
  if (typescript.isIdentifier(name) || typescript.isStringLiteral(name) || typescript.isNumericLiteral(name)) return name.text;
  return undefined;
}

/** What a file claims (imports, exports, routes, ports), from its syntax; reused while its text is the same. Read-only. */
export const extractClaims = cachedByText(256, readClaims);

function readClaims(fileName: string, text: string): FileClaims {
  const source = typescript.createSourceFile(fileName, text, typescript.ScriptTarget.Latest, true);
  const claims: FileClaims = { imports: [], exports: [], routes: [], ports: [] };
  // String constants of the file, so that `${ORDERS_BASE_PATH}/:id` resolves to `/orders/:id`.
  const constants = new Map<string, string>();

  const stringValue = (node: ts.Expression | undefined): string | undefined => {
    if (!node) return undefined;
    if (typescript.isStringLiteral(node) || typescript.isNoSubstitutionTemplateLiteral(node)) return node.text;
    if (typescript.isIdentifier(node)) return constants.get(node.text);
    if (typescript.isTemplateExpression(node)) {
      let value = node.head.text;
      for (const span of node.templateSpans) {
        const part = stringValue(span.expression);
        if (part === undefined) return undefined;
        value += part + span.literal.text;
      }
      return value;
    }
    if (typescript.isAsExpression(node) || typescript.isParenthesizedExpression(node)) return stringValue(node.expression);
    return undefined;
  };
  const portValue = (node: ts.Expression | undefined): number | undefined => {
    if (!node) return undefined;
    if (typescript.isNumericLiteral(node)) return Number(node.text);
    // Number(process.env.PORT ?? 3000), process.env.PORT || 3000: the fallback is the claim.
    if (typescript.isBinaryExpression(node)) {
      const operator = node.operatorToken.kind;
      if (operator === typescript.SyntaxKind.QuestionQuestionToken || operator === typescript.SyntaxKind.BarBarToken)
        return portValue(node.right);
    }
    if (typescript.isCallExpression(node) && node.arguments.length === 1) return portValue(node.arguments[0]);
    if (typescript.isParenthesizedExpression(node) || typescript.isAsExpression(node)) return portValue(node.expression);
    return undefined;
  };
  const claimPort = (node: ts.Expression | undefined, at: ts.Node) => {
    const port = portValue(node);
    if (port !== undefined && Number.isInteger(port) && port > 0 && port < 65536) claims.ports.push({ port, line: lineOf(source, at) });
  };

  const visit = (node: ts.Node): void => {
    if (typescript.isImportDeclaration(node) || typescript.isExportDeclaration(node)) {
      const specifier = node.moduleSpecifier;
      if (specifier && typescript.isStringLiteral(specifier))
        claims.imports.push({ specifier: specifier.text, line: lineOf(source, node) });
      if (typescript.isExportDeclaration(node) && node.exportClause && typescript.isNamedExports(node.exportClause) && !node.isTypeOnly) {
        for (const element of node.exportClause.elements) claims.exports.push({ name: element.name.text, line: lineOf(source, element) });
      }
    } else if (typescript.isCallExpression(node)) {
      const callee = node.expression;
      const [first] = node.arguments;
      if (
        typescript.isIdentifier(callee) &&
        (callee.text === 'require' || callee.text === 'import') &&
        first &&
        typescript.isStringLiteral(first)
      ) {
        claims.imports.push({ specifier: first.text, line: lineOf(source, node) });
      } else if (callee.kind === typescript.SyntaxKind.ImportKeyword && first && typescript.isStringLiteral(first)) {
        claims.imports.push({ specifier: first.text, line: lineOf(source, node) });
      } else if (typescript.isPropertyAccessExpression(callee)) {
        const method = callee.name.text.toLowerCase();
        const path = stringValue(first);
        // app.get('/orders', ...), router.post(`${BASE}/:id`, ...)
        if (HTTP_METHODS.has(method) && path?.startsWith('/')) {
          claims.routes.push({ method: method.toUpperCase(), path, line: lineOf(source, node) });
        }
        if (callee.name.text === 'listen') claimPort(first, node);
      }
    } else if (typescript.isVariableStatement(node)) {
      const exported = hasExportModifier(node);
      for (const declaration of node.declarationList.declarations) {
        const name = nameText(declaration.name);
        if (!name) continue;
        if (exported) claims.exports.push({ name, line: lineOf(source, declaration) });
        const value = stringValue(declaration.initializer);
        if (value !== undefined && node.declarationList.flags & typescript.NodeFlags.Const) constants.set(name, value);
        if (PORT_NAME.test(name)) claimPort(declaration.initializer, declaration);
      }
    } else if (
      (typescript.isFunctionDeclaration(node) || typescript.isClassDeclaration(node) || typescript.isEnumDeclaration(node)) &&
      hasExportModifier(node) &&
      node.name
    ) {
      claims.exports.push({ name: node.name.text, line: lineOf(source, node) });
    } else if (typescript.isObjectLiteralExpression(node)) {
      const properties = new Map<string, ts.Expression>();
      for (const property of node.properties) {
        if (typescript.isPropertyAssignment(property)) {
          const name = nameText(property.name);
          if (name) properties.set(name, property.initializer);
        }
      }
      // { method: 'GET', path: '/orders', ... }: a route table entry.
      const method = stringValue(properties.get('method'));
      const path = stringValue(properties.get('path'));
      if (method && path?.startsWith('/') && HTTP_METHODS.has(method.toLowerCase())) {
        claims.routes.push({ method: method.toUpperCase(), path, line: lineOf(source, node) });
      }
      for (const [name, value] of properties) if (PORT_NAME.test(name)) claimPort(value, value);
    }
    typescript.forEachChild(node, visit);
  };
  visit(source);
  return claims;
}

/** `/orders/:id` and `/orders/{orderId}` claim the same route: parameters are compared by position. */
export function normalizeRoute(method: string, path: string): string {
  const normalized = path
    .split('/')
    .map((segment) => (segment.startsWith(':') || /^\{.*\}$/.test(segment) ? ':param' : segment))
    .join('/')
    .replace(/\/+$/, '');
  return `${method.toUpperCase()} ${normalized || '/'}`;
}
