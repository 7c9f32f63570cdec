/* global URL, console */
// Prints the tables of docs/result-codes.md from the ERC tables (built dist/) and their doc comments.
// Usage: make build && node scripts/gen-result-codes.mjs > /tmp/tables.md (then edit the prose around them).
import { readFileSync } from 'node:fs';
const tables = [
  ['src/model/result-codes.ts', 'Erc', 'core (workflow, manifest, files, enumerators)'],
  ['src/handlers/script/script-erc.ts', 'ScriptErc', 'microsoft/script:1'],
  ['src/handlers/apt/apt-erc.ts', 'AptErc', 'microsoft/apt:1'],
  ['src/handlers/smp/smp-erc.ts', 'SmpErc', 'sensor-proxy/smp:1'],
  ['src/handlers/ymodem/ymodem-erc.ts', 'YmodemErc', 'sensor-proxy/ymodem:1'],
  ['src/handlers/uds/uds-erc.ts', 'UdsErc', 'sensor-proxy/uds:1'],
  ['src/handlers/dfu/dfu-erc.ts', 'DfuErc', 'sensor-proxy/dfu:1'],
  ['src/hub/hub-error.ts', 'HubErc', 'IoT Hub agent: downloads and signatures'],
  ['src/hub/root-key-package.ts', 'RootKeyErc', 'IoT Hub agent: root key package'],
];
for (const [src, name, title] of tables) {
  const mod = await import(new URL('../dist/' + src.replace(/\.ts$/, '.js'), import.meta.url).href);
  const text = readFileSync(new URL('../' + src, import.meta.url), 'utf8');
  console.log(`\n### ${title} (\`${name}\`, ${src})\n\n| ERC | name | meaning |\n|---|---|---|`);
  for (const [key, value] of Object.entries(mod[name])) {
    if (typeof value !== 'number' || value === 0) continue;
    const m = new RegExp(`/\\*\\*((?:(?!\\*/)[^])*)\\*/\\s*\\n\\s*${key}:`).exec(text);
    const doc = m
      ? m[1]
          .replace(/\s*\n\s*\*?\s*/g, ' ')
          .trim()
          .replace(/^0x[0-9a-fA-F]+(\.\.)?:\s*/, '')
      : '';
    const hex = (value >>> 0).toString(16).toUpperCase().padStart(8, '0');
    console.log(`| \`${hex}\` | ${key} | ${doc.replace(/\|/g, '\\|')} |`);
  }
}
