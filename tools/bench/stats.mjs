// Measuring and summarising: wall and CPU time of a piece of work, medians.
// The machine the benchmarks run on is usually shared, so every figure is a
// median of several repetitions, and in-process figures also carry CPU time,
// which other processes on the machine disturb much less than wall time.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export function median(values) {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Wall and CPU milliseconds of one call of `work` (awaited). */
export async function measure(work) {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const value = await work();
  const wallMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  return { wallMs, cpuMs: (used.user + used.system) / 1000, value };
}

/** `repetitions` calls of `work`; the medians of their wall and CPU time, and every sample. */
export async function repeat(repetitions, work) {
  const samples = [];
  for (let index = 0; index < repetitions; index++) samples.push(await measure(() => work(index)));
  return {
    wallMs: median(samples.map((sample) => sample.wallMs)),
    cpuMs: median(samples.map((sample) => sample.cpuMs)),
    samples,
  };
}

export function formatMs(ms) {
  if (!Number.isFinite(ms)) return 'n/a';
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  return `${ms.toFixed(ms >= 100 ? 0 : 1)} ms`;
}

/** A deterministic pseudo-random generator (mulberry32), so synthetic inputs are the same every run. */
export function seededRandom(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = state;
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  };
}

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf-8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/**
 * CPU time (user + system, ms) of this process's children that have ended, with
 * that of the processes they waited for (nx, its tasks, their tools), from
 * Linux's /proc; undefined elsewhere. Other work on a shared machine disturbs it
 * far less than wall time.
 */
export function childrenCpuMs() {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf-8');
    // The fields after the command name, from the 3rd; cutime and cstime are the 16th and 17th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[13]) + Number(fields[14])) * 1000) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}
