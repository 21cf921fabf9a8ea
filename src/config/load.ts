import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type * as Yaml from 'yaml';
import { RingCacheError } from '../errors';
import { ConfigIssues } from './issues';
import { readConfig } from './schema';
import type { ClusterConfig } from './types';
import { validateConfig } from './validate';
import type * as YamlReaderModule from './yaml-reader';

/**
 * The YAML parser and our reader of it, loaded when a file is first parsed: a node that `up` or a
 * test cluster starts gets its config as JSON in its environment, and loading the parser (72
 * modules) cost 50-90 ms of CPU of each such start.
 */
function yaml(): { parser: typeof Yaml; reader: typeof YamlReaderModule } {
  /* eslint-disable @typescript-eslint/no-require-imports */
  return {
    parser: require('yaml') as typeof Yaml,
    reader: require('./yaml-reader') as typeof YamlReaderModule,
  };
  /* eslint-enable @typescript-eslint/no-require-imports */
}

/** Reads and validates a cluster.yml; every error message starts with `path:line:`. */
export function loadConfig(path: string): ClusterConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    throw new RingCacheError('CONFIG_INVALID', `${path}: cannot read the cluster config: ${reason}`, {
      cause: err,
    });
  }
  return withPathsFrom(parseConfig(text, path), dirname(resolve(path)));
}

/** The config with its TLS and token file paths made absolute, relative ones taken from `dir` (cluster.yml's). */
export function withPathsFrom(config: ClusterConfig, dir: string): ClusterConfig {
  const tokenFiles = config.auth?.users.some((u) => u.tokenFile);
  if (!config.tls && !config.nodes.some((n) => n.tls) && !tokenFiles) return config;
  const abs = (file: string) => resolve(dir, file);
  return {
    ...config,
    ...(config.auth && {
      auth: {
        users: config.auth.users.map((u) => (u.tokenFile ? { ...u, tokenFile: abs(u.tokenFile) } : u)),
      },
    }),
    ...(config.tls && {
      tls: {
        ...config.tls,
        caFile: abs(config.tls.caFile),
        certFile: abs(config.tls.certFile),
        keyFile: abs(config.tls.keyFile),
      },
    }),
    nodes: config.nodes.map((n) =>
      n.tls ? { ...n, tls: { certFile: abs(n.tls.certFile), keyFile: abs(n.tls.keyFile) } } : n,
    ),
  };
}

/**
 * Parses and validates cluster.yml text; `source` names it in messages. Throws one CONFIG_INVALID
 * listing every problem, one per line. Syntax errors stop there; otherwise types and unknown fields
 * are checked first, and ranges and cross-field rules only once every field has the right type, so
 * no message is about a value that was already reported as wrong.
 */
export function parseConfig(text: string, source: string): ClusterConfig {
  const issues = new ConfigIssues(source);
  const { parser, reader: readerModule } = yaml();
  const lineCounter = new parser.LineCounter();
  // uniqueKeys off: schema reading reports a repeated field itself, with its path and both lines.
  const doc = parser.parseDocument(text, { lineCounter, uniqueKeys: false, prettyErrors: true });
  for (const err of doc.errors) {
    issues.add(err.linePos?.[0].line, '', `YAML syntax error: ${firstSentence(err.message)}`);
  }
  issues.throwIfAny();

  const reader = new readerModule.YamlReader(doc, lineCounter, issues);
  const config = readConfig(reader, doc.contents ?? undefined, source);
  issues.throwIfAny();
  validateConfig(
    config,
    (path) => reader.lines.get(path),
    issues,
    (path) => !reader.lines.has(path),
  );
  issues.throwIfAny();
  return config;
}

/** yaml's pretty messages append " at line L, column C:" and a source excerpt; the line is ours already. */
function firstSentence(message: string): string {
  const cut = message.indexOf(' at line ');
  return cut < 0 ? message.split('\n')[0]! : message.slice(0, cut);
}
