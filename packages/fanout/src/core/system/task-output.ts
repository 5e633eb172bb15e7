import { AsyncLocalStorage } from 'async_hooks';
import { StringDecoder } from 'string_decoder';

/**
 * Where a task's terminal output goes. An executor process running one task writes
 * to its own stdout and stderr, which Nx captures as the task's output. A batch
 * (one process running many sessions at once) gives each session a sink of its own,
 * so every task's output, cached and replayed by Nx, is that session's alone.
 */
export interface TaskOutput {
  /** `live: false` keeps the text for the task's output without streaming it (an agent's own output). */
  write(text: string | Buffer, stream: 'stdout' | 'stderr', live?: boolean): void;
}

const current = new AsyncLocalStorage<TaskOutput>();

/** Runs `work` with everything it writes through writeOutput going to `output`. */
export function withTaskOutput<T>(output: TaskOutput, work: () => Promise<T>): Promise<T> {
  return current.run(output, work);
}

/** Writes to the running task's sink in a batch; false (nothing written) outside one. */
export function writeToTask(text: string | Buffer, stream: 'stdout' | 'stderr' = 'stdout'): boolean {
  const sink = current.getStore();
  sink?.write(text, stream);
  return sink !== undefined;
}

/** Writes to the running task's output: its sink in a batch, else the process's own stream. */
export function writeOutput(text: string | Buffer, stream: 'stdout' | 'stderr' = 'stdout', live = true): void {
  const sink = current.getStore();
  if (sink) sink.write(text, stream, live);
  else (stream === 'stdout' ? process.stdout : process.stderr).write(text);
}

/**
 * A task's output in a batch: kept whole for Nx (the task's terminal output, which
 * Nx prints when the task ends and caches), and fanout's own lines streamed to the
 * batch process's stdout as they come, each marked with the task's project, so a
 * live view of the batch shows every session's progress and tells them apart. An
 * agent's own output is not streamed: sessions side by side would interleave it.
 */
export class BufferedTaskOutput implements TaskOutput {
  private readonly chunks: Buffer[] = [];
  private readonly decoder = new StringDecoder('utf-8');
  private partial = '';

  constructor(
    private readonly label: string,
    private readonly emitLine: (line: string) => void = (line) => process.stdout.write(line),
  ) {}

  write(text: string | Buffer, _stream?: 'stdout' | 'stderr', live = true): void {
    const bytes = typeof text === 'string' ? Buffer.from(text, 'utf-8') : text;
    this.chunks.push(bytes);
    if (!live) return;
    // A chunk may end inside a character: the decoder holds its first bytes back.
    const lines = (this.partial + this.decoder.write(bytes)).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) this.emitLine(`${this.label} │ ${line}\n`);
  }

  /** Everything written, and the unfinished last line streamed. */
  finish(): string {
    const rest = this.partial + this.decoder.end();
    if (rest !== '') this.emitLine(`${this.label} │ ${rest}\n`);
    this.partial = '';
    return Buffer.concat(this.chunks).toString('utf-8');
  }
}
