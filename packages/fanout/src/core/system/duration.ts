/** A duration (seconds, or "90s", "30m", "1h") in milliseconds; undefined unless it is one and positive. */
export function durationMs(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value) && value > 0) return value * 1000;
  if (typeof value === 'string') {
    const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(value);
    if (match) {
      const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] ?? 's'] ?? 1000;
      const ms = Number(match[1]) * unit;
      if (ms > 0) return ms;
    }
  }
  return undefined;
}
