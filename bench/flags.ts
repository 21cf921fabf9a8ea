import { readFileSync } from 'node:fs';

/** Whether --help was answered (the first flag() call looks, once). */
let helpAnswered = false;

/**
 * `--name value` from this process's arguments, or `fallback` when absent (for the bench scripts).
 * With `--help` among the arguments, prints the running script's opening comment (what it measures
 * and its flags) and exits, rather than start a run of minutes.
 */
export function flag(name: string, fallback: string): string {
  if (!helpAnswered) {
    helpAnswered = true;
    const script = require.main?.filename;
    if (process.argv.includes('--help') && script) {
      process.stdout.write(scriptHelp(readFileSync(script, 'utf8')));
      process.exit(0);
    }
  }
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

/** A script's first doc comment as plain text: its `/** ... *\/` block without the stars. */
export function scriptHelp(source: string): string {
  const block = /\/\*\*([\s\S]*?)\*\//.exec(source)?.[1];
  if (!block) return 'No help for this script.\n';
  const lines = block.split('\n').map((line) => line.replace(/^\s*\* ?/, ''));
  return `${lines.join('\n').trim()}\n`;
}
