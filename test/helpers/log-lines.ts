/** One pino JSON line of captured stderr: its parsed object and the keys that occur more than once at its top level. */
export interface LogLine {
  text: string;
  obj: Record<string, unknown>;
  duplicateKeys: string[];
}

/** The pino JSON lines of `stderr` (other lines, e.g. plain progress, are left out). */
export function pinoLines(stderr: string): LogLine[] {
  return stderr.split('\n').flatMap((text) => {
    if (!text.startsWith('{"level":')) return [];
    try {
      return [{ text, obj: JSON.parse(text) as Record<string, unknown>, duplicateKeys: duplicateTopLevelKeys(text) }];
    } catch {
      return [];
    }
  });
}

/**
 * Keys that appear twice in the top-level object of a JSON text. `JSON.parse` keeps the last one
 * silently, so this scans the text: strings are skipped as a whole, and a string at depth 1
 * followed by `:` is a key.
 */
export function duplicateTopLevelKeys(json: string): string[] {
  const seen = new Set<string>();
  const dups = new Set<string>();
  let depth = 0;
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
    else if (c === '"') {
      let j = i + 1;
      while (json[j] !== '"') j += json[j] === '\\' ? 2 : 1;
      const raw = json.slice(i, j + 1);
      let k = j + 1;
      while (json[k] === ' ') k++;
      if (depth === 1 && json[k] === ':') {
        const key = JSON.parse(raw) as string;
        if (seen.has(key)) dups.add(key);
        seen.add(key);
      }
      i = j;
    }
  }
  return [...dups];
}
