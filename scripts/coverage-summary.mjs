/* global console, process */
// Per-folder line coverage from an lcov file (c8 --reporter=lcovonly, remapped to the .ts sources):
// src/*, drivers/*, enumerators/* (TypeScript sources), lines hit / lines found. With c8 --all a file
// no test loaded counts with 0 lines hit; a type-only file (its dist .js is just `export {};`) has no
// code to run and is left out, else its interface lines would count as missed.
import { readFileSync } from 'node:fs';

const typeOnly = (ts) => {
  try {
    const js = readFileSync(`dist/${ts.replace(/\.ts$/, '.js')}`, 'utf8');
    return /^export \{\};\s*(\/\/# sourceMappingURL=.*\s*)?$/.test(js);
  } catch {
    return false;
  }
};

const folders = new Map();
let folder;
for (const line of readFileSync(process.argv[2] ?? 'coverage/lcov.info', 'utf8').split('\n')) {
  if (line.startsWith('SF:')) {
    const m = /^SF:((?:src|drivers|enumerators)(?:\/[^/]+(?=\/))?)\/.*\.ts$/.exec(line);
    folder = m && !typeOnly(line.slice(3)) ? m[1] : undefined;
  } else if (folder && (line.startsWith('LF:') || line.startsWith('LH:'))) {
    const f = folders.get(folder) ?? { found: 0, hit: 0 };
    if (line.startsWith('LF:')) f.found += Number(line.slice(3));
    else f.hit += Number(line.slice(3));
    folders.set(folder, f);
  }
}
console.log('folder                  lines    hit   line %');
for (const [name, f] of [...folders].sort()) {
  const pct = f.found ? (100 * f.hit) / f.found : 100;
  console.log(
    `${name.padEnd(22)} ${String(f.found).padStart(6)} ${String(f.hit).padStart(6)}   ${pct.toFixed(1).padStart(5)}${pct < 80 ? '  < 80' : ''}`,
  );
}
