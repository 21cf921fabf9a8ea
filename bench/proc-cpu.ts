import { readFileSync } from 'node:fs';

/**
 * The fields of /proc/PID/stat after the command name (which may hold spaces, so they start after
 * the last ')'): field 3 of proc(5) is at index 0. Undefined when the process is gone.
 */
function statFields(pid: number, tid?: number): string[] | undefined {
  try {
    const stat = readFileSync(
      tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`,
      'utf8',
    );
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
export function processCpuSeconds(pid: number): number {
  return cpuSecondsOf(statFields(pid));
}

/** CPU seconds one thread of a process has used so far (the main thread's id is the pid); NaN when gone. */
export function threadCpuSeconds(pid: number, tid: number): number {
  return cpuSecondsOf(statFields(pid, tid));
}

function cpuSecondsOf(fields: string[] | undefined): number {
  if (!fields) return NaN;
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime; USER_HZ is 100 on Linux
}

/**
 * Minor page faults a process has taken so far, from /proc (Linux): memory its allocators gave back
 * to the system and touched again shows here (and as system CPU time).
 */
export function processPageFaults(pid: number): number {
  const fields = statFields(pid);
  return fields ? Number(fields[7]) : NaN; // minflt
}

/** Resident set size of a process in MiB, from /proc (Linux). */
export function rssMb(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
}
