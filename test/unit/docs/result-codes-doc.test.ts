import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoPath } from '../../../hw-fixtures/repo-root.js';
import { AptErc } from '../../../src/handlers/apt/apt-erc.js';
import { DfuErc } from '../../../src/handlers/dfu/dfu-erc.js';
import { ScriptErc } from '../../../src/handlers/script/script-erc.js';
import { SmpErc } from '../../../src/handlers/smp/smp-erc.js';
import { UdsErc } from '../../../src/handlers/uds/uds-erc.js';
import { YmodemErc } from '../../../src/handlers/ymodem/ymodem-erc.js';
import { HubErc } from '../../../src/hub/hub-error.js';
import { RootKeyErc } from '../../../src/hub/root-key-package.js';
import { Erc, formatErc } from '../../../src/model/result-codes.js';

/** docs/result-codes.md must list every ERC the product can report, so users can look one up. */
const doc = readFileSync(repoPath('docs', 'result-codes.md'), 'utf8');

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

test('every ERC of the ERC tables is in docs/result-codes.md', () => {
  const tables = { Erc, AptErc, DfuErc, ScriptErc, SmpErc, UdsErc, YmodemErc, HubErc, RootKeyErc };
  const missing: string[] = [];
  let seen = 0;
  for (const [table, codes] of Object.entries(tables))
    for (const [name, value] of Object.entries(codes)) {
      if (typeof value !== 'number' || value === 0) continue;
      seen++;
      if (!doc.includes(`\`${formatErc(value)}\``)) missing.push(`${table}.${name} ${formatErc(value)}`);
    }
  assert.ok(seen > 100, `only ${seen} codes found: did a table move?`);
  assert.deepEqual(missing, [], 'add these to docs/result-codes.md (node scripts/gen-result-codes.mjs)');
});

test('every ERC constant written in the source of src/ is in docs/result-codes.md', () => {
  const missing: string[] = [];
  for (const file of tsFiles(repoPath('src'))) {
    const text = readFileSync(file, 'utf8');
    const codes = new Set<number>();
    // Literal ERCs in code (not in comments): 8 hex digits of facility 3, 4, 7 (0x70…), 8 or 10.
    const code = text.replace(/\/\*[^]*?\*\/|\/\/.*$/gm, '');
    for (const m of code.matchAll(/\b0x((?:[348a][0-9a-f]|70)[0-9a-f]{6})\b/gi)) codes.add(parseInt(m[1]!, 16));
    // makeExtendedResultCode(facility, component, value) with literal arguments.
    for (const m of code.matchAll(/makeExtendedResultCode\(\s*(\d+),\s*(\d+),\s*(0x[0-9a-f]+|\d+)\s*\)/gi))
      codes.add(((Number(m[1]) & 0xf) * 0x10000000 + (Number(m[2]) & 0xff) * 0x100000 + Number(m[3])) >>> 0);
    // The bus handlers' ERCs (src/handlers/handler-erc.ts): facility 3, component 32 (EXTERNAL), from
    // `handlerErc(0x…)` and from each `Name: 0x…` entry of an `ercTable({ … })`.
    for (const m of code.matchAll(/\bhandlerErc\((0x[0-9a-f]+)\)/gi)) codes.add((0x32000000 + Number(m[1])) >>> 0);
    for (const table of code.matchAll(/\bercTable\(\{([^]*?)\}\)/g))
      for (const m of table[1]!.matchAll(/^\s*\w+:\s*(0x[0-9a-f]+),?\s*$/gim))
        codes.add((0x32000000 + Number(m[1])) >>> 0);
    for (const c of codes)
      if (!doc.includes(`\`${formatErc(c)}\``)) missing.push(`${file.slice(repoPath().length + 1)}: ${formatErc(c)}`);
  }
  assert.deepEqual(missing, [], 'add these to docs/result-codes.md');
});
