/**
 * What `ringcache up` shows of its nodes' logs: members turning suspect, dead, alive again or
 * leaving, ring changes, rebalances with their progress, and every other warning or error. Gossip's
 * own chatter (a probe unanswered, a suspicion refuted) is left out: what it leads to, a member's new
 * state, is shown instead, once, whichever node saw it first.
 */
export class UpEvents {
  /** The last state shown for each member: every node logs the same change; one line is enough. */
  readonly #shownState = new Map<string, string>();
  #shownEpoch = 0;
  readonly #verbose: boolean;
  /**
   * While the nodes start, members not started yet are missed by those that are, and while they
   * stop, members gone are missed by those still there: changes of state are not shown then.
   */
  #quiet = true;

  /** `verbose`: every line of every node, as `[id] message {fields}`. */
  constructor(opts: { verbose?: boolean } = {}) {
    this.#verbose = opts.verbose === true;
  }

  /** Every node serves, so every member is alive: from now on changes of state are shown. */
  started(): void {
    this.#quiet = false;
    this.#shownState.clear();
  }

  /** The nodes are being stopped: changes of state are no longer shown. */
  stopping(): void {
    this.#quiet = true;
  }

  /** The line to print for node `id`'s log line, or undefined when there is nothing to show. */
  describe(id: string, line: string): string | undefined {
    let rec: LogRecord;
    try {
      rec = JSON.parse(line) as LogRecord;
    } catch {
      return `[${id}] ${line}`; // not a log record: a crash message, say
    }
    if (typeof rec !== 'object' || rec === null) return `[${id}] ${line}`;
    const msg = typeof rec.msg === 'string' ? rec.msg : '';
    const shown = this.#event(id, msg, rec);
    if (shown !== undefined) return shown || undefined;
    if (this.#verbose) return `[${id}] ${msg}${fieldsOf(rec)}`;
    if ((rec.level ?? 0) < WARN || GOSSIP_CHATTER.has(msg)) return undefined;
    return `[${id}] ${msg}${errorOf(rec.err)}`;
  }

  /** The event a record is, described; '' for one already shown; undefined for no event. */
  #event(id: string, msg: string, rec: LogRecord): string | undefined {
    const transition = TRANSITION.exec(msg);
    if (transition && typeof rec.member === 'string') {
      const [, from, to] = transition;
      const member = rec.member;
      const last = this.#shownState.get(member) ?? 'alive';
      // A node that only now suspects a member another already holds dead lags behind it: its
      // "alive -> suspect" (and then "suspect -> dead") is old news, not a new change.
      if (to === from || to === last || (to === 'suspect' && last === 'dead')) return '';
      this.#shownState.set(member, to!);
      if (this.#quiet) return '';
      if (to === 'left') return `${member} stopped, and told its peers (seen by ${id})`;
      if (to === 'alive') return `${member} is alive again (seen by ${id})`;
      if (to === 'suspect') return `${member} is suspect: it missed its pings (seen by ${id})`;
      if (to === 'dead') return `${member} is dead (seen by ${id}); its writes go to other nodes as hints`;
      return `${member} is ${to} (seen by ${id})`;
    }
    if (msg === 'ring changed' && typeof rec.epoch === 'number') {
      if (rec.epoch <= this.#shownEpoch) return '';
      this.#shownEpoch = rec.epoch;
      const members = Array.isArray(rec.members) ? rec.members.join(', ') : '';
      return `ring epoch ${rec.epoch}: ${members}`;
    }
    const epoch = `rebalance to epoch ${String(rec.epoch)}`;
    if (msg === 'rebalance started')
      return `[${id}] ${epoch} started: ${String(rec.records)} records to look at`;
    if (msg === 'rebalance progress')
      return `[${id}] ${epoch}: ${String(rec.scanned)} of ${String(rec.of)} records looked at, ${String(rec.sent)} sent`;
    if (msg === 'rebalance finished')
      return (
        `[${id}] ${epoch} finished: ${String(rec.scanned)} records looked at, ${String(rec.sent)} sent, ` +
        `${String(rec.failed)} failed, ${String(rec.released)} copies released`
      );
    return undefined;
  }
}

interface LogRecord {
  level?: number;
  msg?: unknown;
  member?: unknown;
  epoch?: unknown;
  members?: unknown[];
  records?: unknown;
  scanned?: unknown;
  of?: unknown;
  sent?: unknown;
  failed?: unknown;
  released?: unknown;
  err?: unknown;
}

/** pino's warn level: warnings and errors are shown whatever they are. */
const WARN = 40;

/** Membership's log message for a member's change of state: "alive -> suspect". */
const TRANSITION = /^(alive|suspect|dead|left) -> (alive|suspect|dead|left)$/;

/**
 * Gossip's steps on the way to a change of state, shown only with --verbose: a busy cluster misses
 * pings now and then, and says so on every node, while the state shown is what matters.
 */
const GOSSIP_CHATTER = new Set([
  'no direct or indirect ack; suspecting',
  'refuting membership update about self',
]);

/** A logged error in a few words: its gRPC details or message, without the stack. */
function errorOf(err: unknown): string {
  if (err === undefined) return '';
  if (typeof err !== 'object' || err === null) return ` (${JSON.stringify(err)})`;
  const e = err as { details?: unknown; message?: unknown };
  const text = typeof e.details === 'string' && e.details ? e.details : e.message;
  return ` (${typeof text === 'string' ? text : JSON.stringify(err)})`;
}

const OMITTED = new Set(['level', 'time', 'pid', 'msg', 'cluster', 'node']);

function fieldsOf(rec: LogRecord): string {
  const rest = Object.entries(rec).filter(([k]) => !OMITTED.has(k));
  return rest.length === 0 ? '' : ` ${JSON.stringify(Object.fromEntries(rest))}`;
}
