// Removes from a production node_modules every package that only build tools need: walks the
// dependency graph from the root package.json, skipping the edges named on the command line
// (e.g. socketcan>node-gyp: socketcan lists node-gyp as a dependency but only its install script
// uses it), and deletes every package folder the walk did not reach.
// usage: node prune-build-deps.mjs <app dir> <parent>node-gyp...
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import process from 'node:process';

const [app, ...skips] = process.argv.slice(2);
const skip = new Set(skips);
const pkgJson = (dir) => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));

/** Node's lookup: <dir>/node_modules/<name>, then each parent folder's node_modules up to the app. */
function resolveFrom(dir, name) {
  for (let d = dir; d.startsWith(app); d = dirname(d)) {
    const c = join(d, 'node_modules', name);
    if (existsSync(join(c, 'package.json'))) return c;
    if (d === app) break;
  }
  return undefined;
}

const reached = new Set();
const queue = [app];
while (queue.length > 0) {
  const dir = queue.shift();
  const p = pkgJson(dir);
  const deps = { ...p.dependencies, ...p.optionalDependencies, ...p.peerDependencies };
  for (const name of Object.keys(deps)) {
    if (skip.has(`${p.name}>${name}`)) continue;
    const at = resolveFrom(dir, name);
    if (at && !reached.has(at)) {
      reached.add(at);
      queue.push(at);
    }
  }
}

let removed = 0;
function sweep(nm) {
  if (!existsSync(nm)) return;
  for (const e of readdirSync(nm)) {
    if (e.startsWith('.')) continue;
    const entries = e.startsWith('@') ? readdirSync(join(nm, e)).map((s) => join(e, s)) : [e];
    for (const rel of entries) {
      const dir = join(nm, rel);
      if (!existsSync(join(dir, 'package.json'))) continue;
      if (!reached.has(dir)) {
        rmSync(dir, { recursive: true, force: true });
        removed++;
      } else sweep(join(dir, 'node_modules'));
    }
  }
}
sweep(join(app, 'node_modules'));
process.stdout.write(`pruned ${removed} build-only packages; ${reached.size} kept\n`);
