import { setTimeout as sleep } from 'node:timers/promises';

const POLL_MS = 500;

function mib(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}

/** One sample of a Prometheus text body, or undefined when the metric is not there. */
function sampleOf(body: string, name: string): number | undefined {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(body);
  return m ? Number(m[1]) : undefined;
}

/**
 * Waits until the node that left (`id`, its HTTP address `http`) has handed its keys to their new
 * replicas and says NOT_SERVING, printing the rebalance's progress to `out` (rewritten in place on a
 * terminal, a line every few seconds otherwise). Resolves 'done', or 'unreachable' when the node
 * does not answer (a dead node: its keys come back from their other replicas), or 'timeout'.
 */
export async function waitForLeave(
  id: string,
  http: string,
  timeoutMs: number,
  out: NodeJS.WriteStream = process.stderr,
): Promise<'done' | 'unreachable' | 'timeout'> {
  const deadline = Date.now() + timeoutMs;
  let lastLine = '';
  let lastPrinted = 0;
  let failures = 0;
  while (Date.now() < deadline) {
    try {
      const health = await fetch(`http://${http}/healthz`, { signal: AbortSignal.timeout(2000) });
      if (health.status === 503 && (await health.text()).startsWith('NOT_SERVING')) {
        if (out.isTTY && lastLine) out.write('\n');
        return 'done';
      }
      const body = await (
        await fetch(`http://${http}/metrics`, { signal: AbortSignal.timeout(2000) })
      ).text();
      failures = 0;
      const scanned = sampleOf(body, 'ringcache_rebalance_records_scanned') ?? 0;
      const sent = sampleOf(body, 'ringcache_rebalance_records_sent') ?? 0;
      const keys = sampleOf(body, 'ringcache_store_keys') ?? 0;
      // Copies are released once their new replicas hold them: what is still held is what is left.
      const bytes = sampleOf(body, 'ringcache_store_bytes') ?? 0;
      const line = `${id}: handing its keys over: ${sent} sent of ${scanned} scanned, ${keys} keys (${mib(bytes)}) still held`;
      if (out.isTTY) out.write(`\r${line}\x1b[K`);
      else if (line !== lastLine && Date.now() - lastPrinted >= 5000) {
        out.write(`${line}\n`);
        lastPrinted = Date.now();
      }
      lastLine = line;
    } catch {
      // Three misses in a row: the node is gone (killed, or stopped already).
      if (++failures >= 3) return 'unreachable';
    }
    await sleep(POLL_MS);
  }
  return 'timeout';
}
