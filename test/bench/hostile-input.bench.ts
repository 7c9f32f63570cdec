/**
 * Peak memory of the CLI on hostile input (issue 13 item 4): each case writes a worst-case file,
 * runs the built CLI on it in a child process and prints the child's peak RSS (VmHWM, read in the
 * child at exit through a `--import` hook, so nothing outside Node is needed), its
 * exit code and the error code it printed. Goal: under 120 MB for any input. Figures only.
 * The `twin50mb` case runs `sensor-proxy agent` (the real SDK) against the emulator hub, pushes a
 * 50 MB desired PATCH and reads the agent's VmHWM from /proc once the deployment's terminal report
 * is in.
 *
 *   node dist/test/bench/hostile-input.bench.js            # every case
 *   BENCH_HOSTILE=desc100mb,steps1e6 node dist/test/...    # a subset
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnAgent, startHubRig } from '../../hw-fixtures/hub/hub-rig.js';
import { repoPath } from '../../hw-fixtures/repo-root.js';
import { recordFigure } from './summary.js';

const HEAD = `{"updateId":{"provider":"Contoso","name":"Sensor","version":"1.0"},"manifestVersion":"5.0",
"createdDateTime":"2024-01-01T00:00:00Z","compatibility":[{"manufacturer":"contoso","model":"sensor"}],`;
const STEP = '{"handler":"microsoft/script:1","files":["a.sh"],"handlerProperties":{"installedCriteria":"1.0"}}';
const FILES =
  '"files":[{"filename":"a.sh","sizeInBytes":1,"hashes":{"sha256":"bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0="}}]';

/** Writes `parts()` to `path` chunk by chunk (a 100 MB case never sits in this process's memory). */
async function writeChunks(path: string, parts: () => Iterable<string>): Promise<void> {
  const out = createWriteStream(path);
  for (const p of parts()) if (!out.write(p)) await once(out, 'drain');
  out.end();
  await once(out, 'close');
}

function* repeat(unit: string, n: number, sep = ','): Iterable<string> {
  const batch = 4096;
  for (let i = 0; i < n; i += batch) {
    const k = Math.min(batch, n - i);
    yield (i === 0 ? '' : sep) + Array.from({ length: k }, () => unit).join(sep);
  }
}

interface Case {
  name: string;
  what: string;
  write(dir: string): Promise<string[]>; // CLI arguments
}

const manifestCase = (name: string, what: string, parts: () => Iterable<string>): Case => ({
  name,
  what,
  async write(dir) {
    const path = join(dir, `${name}.importmanifest.json`);
    await writeChunks(path, parts);
    return ['validate', path, '--json'];
  },
});

const cases: Case[] = [
  manifestCase('desc100mb', 'import manifest, 100 MB description', function* () {
    yield HEAD + '"description":"';
    yield* repeat('x'.repeat(1 << 20), 100, '');
    yield `","instructions":{"steps":[${STEP}]},${FILES}}`;
  }),
  manifestCase('steps1e6', 'import manifest, 1e6 steps', function* () {
    yield HEAD + '"instructions":{"steps":[';
    yield* repeat(STEP, 1_000_000);
    yield `]},${FILES}}`;
  }),
  manifestCase('files1e6', 'import manifest, 1e6 file entries', function* () {
    yield HEAD + `"instructions":{"steps":[${STEP}]},"files":[`;
    yield* repeat('{"filename":"a.sh","sizeInBytes":1,"hashes":{"sha256":"x"}}', 1_000_000);
    yield ']}';
  }),
  manifestCase('compat1e6', 'import manifest, 1e6 compatibility entries', function* () {
    yield HEAD.replace('"compatibility":[{"manufacturer":"contoso","model":"sensor"}],', '"compatibility":[');
    yield* repeat('{"manufacturer":"contoso","model":"sensor"}', 1_000_000);
    yield `],"instructions":{"steps":[${STEP}]},${FILES}}`;
  }),
  manifestCase('nest1e6', 'import manifest, handlerProperties nested 1e6 deep', function* () {
    yield HEAD + '"instructions":{"steps":[{"handler":"microsoft/script:1","files":["a.sh"],"handlerProperties":';
    yield* repeat('{"a":', 1_000_000, '');
    yield '1';
    yield* repeat('}', 1_000_000, '');
    yield `}]},${FILES}}`;
  }),
  manifestCase(
    'empties-under-limit',
    'import manifest of ~1 MiB: handlerProperties of 340k empty objects',
    function* () {
      yield (
        HEAD + '"instructions":{"steps":[{"handler":"microsoft/script:1","files":["a.sh"],"handlerProperties":{"x":['
      );
      yield* repeat('{}', 340_000);
      yield `]}}]},${FILES}}`;
    },
  ),
  manifestCase('arrays-under-limit', 'import manifest of ~1 MiB: handlerProperties of 340k empty arrays', function* () {
    yield HEAD + '"instructions":{"steps":[{"handler":"microsoft/script:1","files":["a.sh"],"handlerProperties":{"x":[';
    yield* repeat('[]', 340_000);
    yield `]}}]},${FILES}}`;
  }),
  manifestCase('nest2000', 'import manifest: handlerProperties nested 2000 deep (within the limit)', function* () {
    yield HEAD + '"instructions":{"steps":[{"handler":"microsoft/script:1","files":["a.sh"],"handlerProperties":';
    yield* repeat('{"a":', 2000, '');
    yield '1';
    yield* repeat('}', 2000, '');
    yield `}]},${FILES}}`;
  }),
  manifestCase(
    'values-at-limit',
    'import manifest: handlerProperties of 65000 empty objects (within the limit)',
    function* () {
      yield (
        HEAD + '"instructions":{"steps":[{"handler":"microsoft/script:1","files":["a.sh"],"handlerProperties":{"x":['
      );
      yield* repeat('{}', 65_000);
      yield `]}}]},${FILES}}`;
    },
  ),
  {
    name: 'config100mb',
    what: 'gateway config with a 100 MB string (flash --dry-run)',
    async write(dir) {
      const manifest = join(dir, 'ok.importmanifest.json');
      await writeFile(manifest, HEAD + `"instructions":{"steps":[${STEP}]},${FILES}}`);
      await writeFile(join(dir, 'a.sh'), 'x');
      const config = join(dir, 'config100mb.json');
      await writeChunks(config, function* () {
        yield '{"logLevel":"';
        yield* repeat('x'.repeat(1 << 20), 100, '');
        yield '"}';
      });
      return ['flash', manifest, '--config', config, '--dry-run', '--json'];
    },
  },
];

// Peak RSS of the child itself: VmHWM of its own address space, read as it exits and written to
// fd 3. (getrusage's maxRSS would not do: Linux carries the parent's peak over fork+exec.)
const HOOK =
  'data:text/javascript,' +
  encodeURIComponent(
    "import { readFileSync, writeSync } from 'node:fs'; process.on('exit', () => { try { writeSync(3, /VmHWM:\\s*(\\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]); } catch {} });",
  );

async function run(args: string[]): Promise<{ code: number | null; maxRssKiB: number; error: string; ms: number }> {
  const t0 = Date.now();
  const child = spawn(process.execPath, ['--import', HOOK, repoPath('dist', 'src', 'cli', 'main.js'), ...args], {
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    env: { ...process.env, CI: 'true' },
  });
  let out = '';
  let rss = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString().slice(0, 4096)));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString().slice(0, 4096)));
  (child.stdio[3] as NodeJS.ReadableStream).on('data', (d: Buffer) => (rss += d.toString()));
  const [code] = (await once(child, 'close')) as [number | null];
  const error = /"code":"([A-Z_]+)"/.exec(out)?.[1] ?? /error \[([A-Z_]+)\]/.exec(out)?.[1] ?? out.slice(0, 120);
  return { code, maxRssKiB: Number(rss) || NaN, error, ms: Date.now() - t0 };
}

const only = process.env.BENCH_HOSTILE?.split(',');
const dir = await mkdtemp(join(tmpdir(), 'sp-hostile-'));
try {
  const baseline = await run(['help']);
  console.log(`baseline (help): peak RSS ${(baseline.maxRssKiB / 1024).toFixed(1)} MB`);
  for (const c of cases) {
    if (only && !only.includes(c.name)) continue;
    const args = await c.write(dir);
    const r = await run(args);
    console.log(
      `${c.name.padEnd(20)} peak RSS ${(r.maxRssKiB / 1024).toFixed(1).padStart(6)} MB  exit ${r.code}  ${r.error}  (${r.ms} ms)  ${c.what}`,
    );
    await rm(join(dir, args[1]!), { force: true });
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}

/**
 * The agent process receiving a desired PATCH of `mb` MB from the hub (a hostile or broken hub:
 * IoT Hub caps desired properties at 32 KB). Prints the agent's peak RSS connected and idle, then
 * after the deployment's terminal report, and how long that report took.
 */
async function twinCase(mb: number): Promise<void> {
  const rig = await startHubRig();
  const agent = spawnAgent(await rig.writeConfig({ logLevel: 'warn' }));
  const hwmMiB = async () =>
    Number(/VmHWM:\s*(\d+)/.exec(await readFile(`/proc/${agent.pid}/status`, 'utf8'))?.[1]) / 1024;
  try {
    await rig.hub.waitFor(() => rig.hub.twin(rig.deviceId).reportedPatches.length >= 1, 30_000, 'agent connected');
    await new Promise((r) => setTimeout(r, 1000));
    const idle = await hwmMiB();
    const t0 = Date.now();
    const id = `wf-twin${mb}mb`;
    await rig.hub.pushRawDesired(rig.deviceId, (v) =>
      Buffer.concat([
        Buffer.from(`{"deviceUpdate":{"__t":"c","service":{"workflow":{"action":3,"id":"${id}"},"updateManifest":"`),
        Buffer.alloc(mb * 1000 * 1000, 'x'),
        Buffer.from(`","updateManifestSignature":"x","fileUrls":{}}},"$version":${v}}`),
      ]),
    );
    let outcome: string;
    try {
      const end = await rig.waitForReport((a) => a.workflow?.id === id && a.state === 0, 180_000, 'terminal report');
      outcome = /[A-Z]+_[A-Z_]+/.exec(String(end.lastInstallResult.resultDetails))?.[0] ?? 'no error code';
    } catch {
      outcome = 'no terminal report within 180 s';
    }
    const ms = Date.now() - t0;
    const peak = agent.exitCode === null ? await hwmMiB() : NaN;
    console.log(
      `${`twin${mb}mb`.padEnd(20)} peak RSS ${peak.toFixed(1).padStart(6)} MB  (idle ${idle.toFixed(1)} MB)  ${outcome}  (${ms} ms)  agent process, desired PATCH of ${mb} MB through the SDK`,
    );
    recordFigure({
      name: `agent: peak RSS with a ${mb} MB desired PATCH`,
      value: Number(peak.toFixed(1)),
      goal: 120,
      better: 'lower',
      unit: 'MiB',
    });
  } finally {
    agent.kill('SIGTERM');
    await once(agent, 'exit');
    await rig.stop();
  }
}

if (!only || only.includes('twin50mb')) await twinCase(50);
