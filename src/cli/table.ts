/** A plain text table with aligned columns, for terminals. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n') + '\n';
}

/**
 * A user's key as a terminal may print it: as it is, or JSON-quoted (escapes shown) when it holds
 * control characters, which would otherwise move the cursor or recolour the terminal of whoever
 * lists keys someone else wrote.
 */
export function printableKey(key: string): string {
  const isControl = (c: number) => c < 0x20 || (c >= 0x7f && c <= 0x9f);
  let found = false;
  for (let i = 0; i < key.length && !found; i++) found = isControl(key.charCodeAt(i));
  if (!found) return key;
  // JSON escapes C0 controls but leaves DEL and the C1 ones (0x9b starts a sequence too) as they are.
  let out = '';
  for (const ch of JSON.stringify(key)) {
    const c = ch.charCodeAt(0);
    out += isControl(c) ? `\\u${c.toString(16).padStart(4, '0')}` : ch;
  }
  return out;
}
