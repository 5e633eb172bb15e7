import { mkdtempSync, readFileSync, rmSync, statSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { CappedOutput } from './capped-output';

describe('CappedOutput', () => {
  let dir: string;
  let file: string;
  const MB = 1024 * 1024;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'fanout-capped-'));
    file = join(dir, 'session.log');
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps output that fits as it is', async () => {
    const output = new CappedOutput(file, { headBytes: 10, tailBytes: 10 });
    output.write('0123456789');
    output.write('abcdefghij', 'stderr');
    await output.end();
    expect(readFileSync(file, 'utf-8')).toBe('0123456789abcdefghij');
  });

  it('keeps the first and the last bytes of a flood, says how much it dropped, and holds no more than the tail', async () => {
    const output = new CappedOutput(file, { headBytes: MB, tailBytes: MB });
    // 60 MB in 64 KB chunks, each chunk one letter, so position in the stream can be read back.
    const chunk = (index: number) => String.fromCharCode(97 + (index % 26)).repeat(64 * 1024);
    const chunks = 960;
    let mostHeld = 0;
    for (let index = 0; index < chunks; index++) {
      output.write(chunk(index));
      mostHeld = Math.max(mostHeld, output.held);
    }
    await output.end();

    expect(mostHeld).toBeLessThanOrEqual(MB);
    const head = Array.from({ length: 16 }, (_, index) => chunk(index)).join('');
    const tail = Array.from({ length: 16 }, (_, index) => chunk(chunks - 16 + index)).join('');
    const log = readFileSync(file, 'utf-8');
    expect(log.startsWith(head)).toBe(true);
    expect(log.endsWith(tail)).toBe(true);
    const marker = log.slice(head.length, log.length - tail.length);
    expect(marker).toBe(
      "\n[fanout] output truncated: 60817408 bytes (58.0 MB) dropped; the log keeps the first 1.0 MB and the last 1.0 MB of the agent's output.\n",
    );
    expect(statSync(file).size).toBe(2 * MB + marker.length);
  });

  it('splits a chunk that crosses the end of the head', async () => {
    const output = new CappedOutput(file, { headBytes: 4, tailBytes: 3 });
    output.write('abcdefghij');
    await output.end();
    expect(readFileSync(file, 'utf-8')).toMatch(/^abcd\n\[fanout\] output truncated: 3 bytes .*\nhij$/);
  });
});
