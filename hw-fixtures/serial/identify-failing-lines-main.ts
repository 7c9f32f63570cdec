/**
 * A process that does what `sensor-proxy list` does for one serial `path` rule, through a binding
 * whose control-line ioctl fails (failing-lines-binding.ts), prints the components as JSON and
 * returns without calling process.exit: it ends only if every port it opened was closed.
 *
 * Usage: node identify-failing-lines-main.js <pty path> <error message>
 */
import { pino } from 'pino';
import { openSerialLink } from '../../drivers/serial/serialport-link.js';
import { createSerialEnumeratorWith } from '../../enumerators/serial/serial-enumerator.js';
import { failingControlLinesBinding } from './failing-lines-binding.js';

const [path, message] = process.argv.slice(2);
if (!path || !message) throw new Error('usage: identify-failing-lines-main.js <pty path> <error message>');
const { binding, stats } = failingControlLinesBinding(message);
const enumerator = createSerialEnumeratorWith(
  {
    sysfsRoot: '/nonexistent-sys',
    identifyTimeoutMs: 1000,
    rules: [{ match: { path }, protocol: 'smp', component: { group: 'sensors', name: 'left' } }],
  },
  { log: pino({ level: 'silent' }), baseDir: process.cwd() },
  (o) => openSerialLink({ ...o, binding }),
);
const components = await enumerator.getAllComponents();
process.stdout.write(JSON.stringify({ components, stats }) + '\n');
