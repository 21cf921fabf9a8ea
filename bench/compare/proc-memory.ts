import { readFileSync } from 'node:fs';

/** Resident set size of a process in bytes, from /proc/<pid>/status VmRSS (Linux); NaN when gone. */
export function rssBytes(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}
