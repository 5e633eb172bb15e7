import { createWriteStream, type WriteStream } from 'fs';
import { writeOutput } from './task-output';

/** How much of an agent's output a session log keeps: the first 5 MB and the last 5 MB. */
export const LOG_HEAD_BYTES = 5 * 1024 * 1024;
export const LOG_TAIL_BYTES = 5 * 1024 * 1024;

export interface CappedOutputOptions {
  headBytes?: number;
  tailBytes?: number;
  /** Also forward what is kept (to Nx's terminal output, which Nx holds in memory and caches). */
  echo?: boolean;
}

/**
 * An agent's output on its way to the session log. The first `headBytes` go to
 * the file as they come; after that only the last `tailBytes` are held (in a
 * queue of chunks, never one growing string), and at the end a line saying how
 * many bytes were dropped is written before them. An agent that prints without
 * end therefore costs a bounded file and bounded memory, and the log still shows
 * how the session started and how it ended.
 */
export class CappedOutput {
  private readonly log: WriteStream;
  private readonly headBytes: number;
  private readonly tailBytes: number;
  private readonly echo: boolean;
  private headWritten = 0;
  private tail: { chunk: Buffer; stream: 'stdout' | 'stderr' }[] = [];
  private tailHeld = 0;
  private dropped = 0;

  constructor(logFile: string, options: CappedOutputOptions = {}) {
    this.log = createWriteStream(logFile, { flags: 'a' });
    this.headBytes = options.headBytes ?? LOG_HEAD_BYTES;
    this.tailBytes = options.tailBytes ?? LOG_TAIL_BYTES;
    this.echo = options.echo ?? false;
  }

  /** Bytes held in memory for the tail; never more than `tailBytes`. */
  get held(): number {
    return this.tailHeld;
  }

  write(text: string, stream: 'stdout' | 'stderr' = 'stdout'): void {
    let bytes = Buffer.from(text, 'utf-8');
    if (this.headWritten < this.headBytes) {
      const head = bytes.subarray(0, this.headBytes - this.headWritten);
      this.emit(head, stream);
      this.headWritten += head.length;
      bytes = bytes.subarray(head.length);
    }
    if (bytes.length === 0) return;
    // Copied, so a slice does not pin the whole chunk it came from.
    this.tail.push({ chunk: Buffer.from(bytes), stream });
    this.tailHeld += bytes.length;
    while (this.tailHeld > this.tailBytes) {
      const first = this.tail[0];
      const excess = this.tailHeld - this.tailBytes;
      if (first.chunk.length <= excess) {
        this.tail.shift();
        this.tailHeld -= first.chunk.length;
        this.dropped += first.chunk.length;
      } else {
        first.chunk = Buffer.from(first.chunk.subarray(excess));
        this.tailHeld -= excess;
        this.dropped += excess;
      }
    }
  }

  /** Writes the marker and the tail, and closes the file. */
  end(): Promise<void> {
    if (this.dropped > 0) {
      const marker =
        `\n[fanout] output truncated: ${this.dropped} bytes (${megabytes(this.dropped)}) dropped; ` +
        `the log keeps the first ${megabytes(this.headBytes)} and the last ${megabytes(this.tailBytes)} of the agent's output.\n`;
      this.emit(Buffer.from(marker), 'stderr');
    }
    for (const { chunk, stream } of this.tail) this.emit(chunk, stream);
    this.tail = [];
    this.tailHeld = 0;
    return new Promise((resolve) => this.log.end(resolve));
  }

  private emit(chunk: Buffer, stream: 'stdout' | 'stderr'): void {
    if (chunk.length === 0) return;
    this.log.write(chunk);
    if (this.echo) writeOutput(chunk, stream, false);
  }
}

function megabytes(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}
