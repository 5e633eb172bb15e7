#!/usr/bin/env node
import { readFileSync } from 'fs';
import { join } from 'path';

/**
 * `fanout-options <executor>`: prints an executor's options from its schema.json. It is the
 * help command of the inferred targets (`metadata.help.command`), which Nx Console and
 * `nx show project --web` run to show how a target is used.
 */

export const EXECUTORS = ['run', 'land', 'verify'] as const;
export type ExecutorName = (typeof EXECUTORS)[number];

interface SchemaProperty {
  type?: string | string[];
  oneOf?: { type?: string }[];
  description?: string;
  default?: unknown;
  'x-priority'?: string;
}

interface Schema {
  title?: string;
  description?: string;
  properties: Record<string, SchemaProperty>;
}

function typeOf(property: SchemaProperty): string {
  const types = property.oneOf ? property.oneOf.map((one) => one.type ?? 'any') : [property.type ?? 'any'].flat();
  return types.join(' | ');
}

/** The executor's description and its options, one block each; the options set by the plugin itself are left out. */
export function formatOptions(executor: ExecutorName, schemaDir = __dirname): string {
  const schema = JSON.parse(readFileSync(join(schemaDir, executor, 'schema.json'), 'utf-8')) as Schema;
  const options = Object.entries(schema.properties).filter(([, property]) => property['x-priority'] !== 'internal');
  const width = Math.max(...options.map(([name]) => name.length + 2));
  const lines = [`fanout:${executor}${schema.title ? ` (${schema.title})` : ''}`, '', schema.description ?? '', '', 'Options:'];
  for (const [name, property] of options) {
    const defaultValue = property.default === undefined ? '' : ` [default: ${JSON.stringify(property.default)}]`;
    lines.push(`  ${`--${name}`.padEnd(width)}  ${typeOf(property)}${defaultValue}`);
    if (property.description) lines.push(`  ${' '.repeat(width)}  ${property.description}`);
  }
  return `${lines.join('\n')}\n`;
}

function main(args: string[]): number {
  const executor = args[0];
  if (!EXECUTORS.includes(executor as ExecutorName)) {
    process.stderr.write(
      `fanout-options: ${executor === undefined ? 'no executor named' : `no executor "${executor}"`}. ` +
        `Name one of fanout's executors: ${EXECUTORS.join(', ')} (e.g. fanout-options run).\n`,
    );
    return 1;
  }
  process.stdout.write(formatOptions(executor as ExecutorName));
  return 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
