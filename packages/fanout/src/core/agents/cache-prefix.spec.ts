import { mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import type { AgentAdapter, AgentPreflight, AgentSession } from './agent';
import { cachePrefixNote, cachePrefixSharing, sendsCachePrefix, writeCachePrefixFiles } from './cache-prefix';

const FILES = { baseFile: '/s/base.md', assignmentFile: '/s/assignment.md' };
const PREFLIGHT: AgentPreflight = { workspaceRoot: '/ws', env: {}, options: {} };
const claudeLike = { name: 'claude', title: 'Claude Code', sharesCachePrefix: (options: object) => !('off' in options) };

describe('the cache prefix', () => {
  it("writes the prompt's two parts into the session's folder", () => {
    const dir = mkdtempSync(join(tmpdir(), 'fanout-cache-prefix-'));
    try {
      const files = writeCachePrefixFiles(dir, '# base\n', '# assignment\n');
      expect(files).toEqual({ baseFile: join(dir, 'base.md'), assignmentFile: join(dir, 'assignment.md') });
      expect([readFileSync(files.baseFile, 'utf-8'), readFileSync(files.assignmentFile, 'utf-8')]).toEqual(['# base\n', '# assignment\n']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is sent apart only by a CLI that takes it, with options that leave it on, to a session that has it', () => {
    const session = (options: object, files?: typeof FILES) => ({ options, ...(files ? { cachePrefix: files } : {}) }) as AgentSession;
    expect(sendsCachePrefix(claudeLike, session({}, FILES))).toBe(true);
    expect(sendsCachePrefix(claudeLike, session({ off: true }, FILES))).toBe(false);
    expect(sendsCachePrefix(claudeLike, session({}))).toBe(false);
    expect(sendsCachePrefix({ name: 'aider', title: 'Aider' }, session({}, FILES))).toBe(false);
    expect(cachePrefixNote(claudeLike, session({}))).toBeUndefined();
    expect(cachePrefixNote(claudeLike, session({ off: true }, FILES))).toContain('Claude Code was told not to take it apart (options)');
    expect(cachePrefixNote({ name: 'aider', title: 'Aider' }, session({}, FILES))).toContain('Aider cannot take it apart');
  });

  it('is shared by the run when the agent shares it, unless the CLI installed here stands in the way, saying why', () => {
    const agent = (blocker?: string): AgentAdapter => ({
      name: 'claude',
      description: '',
      sharesCachePrefix: () => true,
      cachePrefixBlocker: () => blocker,
      run: async () => ({ ok: true }),
    });
    expect(cachePrefixSharing(agent(), PREFLIGHT)).toEqual({ shared: true });
    expect(cachePrefixSharing(agent('Claude Code 2.1.197 puts …'), PREFLIGHT)).toEqual({
      shared: false,
      blocker: 'Claude Code 2.1.197 puts …',
    });
    expect(cachePrefixSharing({ name: 'aider', description: '', run: async () => ({ ok: true }) }, PREFLIGHT)).toEqual({ shared: false });
  });
});
