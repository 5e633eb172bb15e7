import { readdirSync, readFileSync } from 'fs';

/**
 * Whether a live process's argv holds `marker`. A sandboxed process is in a pid namespace of its own:
 * from here it shows in /proc by its argv, not by a pid the test knows.
 */
export function processRunning(marker: string): boolean {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .some((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').includes(marker);
      } catch {
        return false;
      }
    });
}
