/**
 * The hub agent as a real process (`sensor-proxy agent`, the real SDK against the emulator):
 * resident memory idle and during deployments of 8, 64 and 256 MiB images (download with
 * SHA-256 check, then a script step per camera copying the image), and the latency from the
 * desired-property change to the ACK, to state 6, and to the first handler install call.
 * Figures only; nothing is asserted (target: RSS < 100 MB whatever the image size).
 */
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setService, buildDeployment } from '../../hw-fixtures/hub/deploy.js';
import { spawnAgent, startHubRig } from '../../hw-fixtures/hub/hub-rig.js';
import { writeSampleUpdate } from '../../hw-fixtures/hub/sample-update.js';

async function rssKiB(pid: number): Promise<{ rss: number; hwm: number; anon: number; file: number }> {
  const s = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? 0);
  return { rss: kib('VmRSS'), hwm: kib('VmHWM'), anon: kib('RssAnon'), file: kib('RssFile') };
}

const mb = (kib: number) => (kib / 1024).toFixed(1);
const rig = await startHubRig();
const config = await rig.writeConfig({ logLevel: 'warn' });
const agent = spawnAgent(config);
const pid = agent.pid!;
await rig.hub.waitFor(() => rig.hub.device(rig.deviceId).twinGets >= 1, 30_000, 'agent connected');
await rig.hub.waitFor(() => rig.hub.twin(rig.deviceId).reportedPatches.length >= 1, 10_000, 'startup message');

// Idle: sample for 2 s after startup.
let idlePeak = 0;
for (let i = 0; i < 40; i++) {
  idlePeak = Math.max(idlePeak, (await rssKiB(pid)).rss);
  await new Promise((r) => setTimeout(r, 50));
}
console.log(`agent idle: RSS ${mb(idlePeak)} MB`);

// 256 MiB shows whether the streaming overhead is bounded (V8 frees socket/read buffers lazily).
const SIZES = (process.env.BENCH_AGENT_MIB ?? '8,64,256').split(',').map(Number);
for (const [i, size] of SIZES.entries()) {
  const dir = join(rig.dir, `u${size}`);
  await (await import('node:fs/promises')).mkdir(dir, { recursive: true });
  const version = `${i + 2}.0`;
  const update = await writeSampleUpdate(dir, { version, imageBytes: size * 1024 * 1024 });
  const built = await buildDeployment({
    importManifest: update.parent,
    files: rig.files,
    signer: rig.signer,
    workflowId: `bench-${size}`,
  });
  const logBefore = (await readFile(rig.scriptLog, 'utf8').catch(() => '')).length;
  let peak = 0;
  let peakAnon = 0;
  let done = false;
  const sampler = (async () => {
    while (!done) {
      const m = await rssKiB(pid);
      peak = Math.max(peak, m.rss);
      peakAnon = Math.max(peakAnon, m.anon);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const tDesired = performance.now();
  const wall0 = Date.now();
  setService(rig.hub, rig.deviceId, built.service);
  let tInstall = NaN;
  const installWatch = (async () => {
    while (!done && Number.isNaN(tInstall)) {
      const log = (await readFile(rig.scriptLog, 'utf8').catch(() => '')).slice(logBefore);
      if (log.includes('--action-install')) tInstall = performance.now() - tDesired;
      await new Promise((r) => setTimeout(r, 2));
    }
  })();
  await rig.waitForReport((a) => a.workflow?.id === `bench-${size}` && a.state === 0, 120_000, `end of bench-${size}`);
  const tEnd = performance.now() - tDesired;
  done = true;
  await sampler;
  await installWatch;
  const patches = rig.hub.twin(rig.deviceId).reportedPatches.filter((p) => p.at >= wall0);
  const ackAt = patches.find((p) => (p.patch.deviceUpdate as any)?.service)?.at;
  const sixAt = patches.find((p) => (p.patch.deviceUpdate as any)?.agent?.state === 6)?.at;
  const end = rig.agentReports().find((a) => a.workflow?.id === `bench-${size}` && a.state === 0)!;
  console.log(
    `deployment of a ${size} MiB image (download + sha256 + 2 components): peak RSS ${mb(peak)} MB (anonymous ${mb(peakAnon)} MB), ` +
      `desired→ACK ${ackAt! - wall0} ms, desired→state 6 ${sixAt! - wall0} ms, desired→first install call ${tInstall.toFixed(0)} ms, ` +
      `desired→terminal report ${tEnd.toFixed(0)} ms (resultCode ${end.lastInstallResult.resultCode})`,
  );
}
console.log(`agent high-water mark over the whole run (VmHWM): ${mb((await rssKiB(pid)).hwm)} MB`);
agent.kill('SIGTERM');
await once(agent, 'exit');
await rig.stop();
