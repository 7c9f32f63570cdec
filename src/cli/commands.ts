import type { CommandSpec, OptionSpec } from './command-spec.js';

/**
 * Every `sensor-proxy` command: parser options, help text (`sensor-proxy help <command>`) and how it
 * runs. Commands load their modules on first use, so `--help` and `--version` stay fast and the agent
 * does not load what only `flash` needs. The README's CLI section lists exactly these usage lines
 * (test/unit/cli/help.test.ts checks it).
 */
const str = (arg: string, help: string, multiple = false): OptionSpec => ({
  type: 'string',
  arg,
  help,
  ...(multiple && { multiple: true }),
});
const bool = (help: string): OptionSpec => ({ type: 'boolean', help });

const CONFIG = str('F', 'gateway config file (JSON; README "Gateway config"); default: built-in defaults');
const INVENTORY = str('FILE', 'an ADU components-inventory JSON added to the enumerators for this run', true);
const strings = (v: unknown): string[] => (Array.isArray(v) ? (v as string[]) : []);
const optional = <K extends string>(key: K, v: unknown): Partial<Record<K, string>> =>
  typeof v === 'string' ? ({ [key]: v } as Record<K, string>) : {};

const USAGE_EXIT: [number, string] = [
  2,
  'usage or input error (bad flag, unreadable or invalid config): nothing was run',
];

export const COMMANDS: CommandSpec[] = [
  {
    name: 'list',
    summary: 'list the components every configured enumerator finds',
    usage: ['list [--config F] [--inventory FILE]... [--json]'],
    positionals: { min: 0, max: 0, what: 'no positional arguments' },
    options: { config: CONFIG, inventory: INVENTORY, json: bool('the ADU document {"components":[...]} on stdout') },
    description:
      'Runs every enumerator of the config (serial, CAN, USB, static inventory), merges what they find\n' +
      'and prints one row per component (id, name, group, manufacturer, model, version, status).\n' +
      'A sensor the config declares but that is absent or unreachable is listed with that status and\n' +
      'what to check; a deployment for it fails naming it.',
    examples: [
      'sensor-proxy list --config /etc/sensor-proxy/gateway.json',
      'sensor-proxy list --inventory components-inventory.json --json',
    ],
    exitCodes: [[0, 'listed (also when nothing was found)'], [1, 'cancelled (SIGINT, SIGTERM)'], USAGE_EXIT],
    async run({ values: v, signal, log }) {
      const { listCommand } = await import('./list-command.js');
      return listCommand(
        { ...optional('config', v.config), inventories: strings(v.inventory), json: !!v.json, log },
        signal,
      );
    },
  },
  {
    name: 'validate',
    summary: 'check an import manifest (and its child manifests) against the ADU import rules',
    usage: ['validate <manifest.json> [--files DIR] [--json]'],
    positionals: { min: 1, max: 1, what: 'one manifest path' },
    options: {
      files: str('DIR', "folder of the child import manifests (default: the manifest's folder)"),
      json: bool('one JSON result object on stdout'),
    },
    description:
      'Every import-time rule of the ADU service; reference steps are resolved among the *.json files\n' +
      'beside the manifest (or in --files DIR) and validated as children. Each violation names its JSON\n' +
      'path and rule.',
    examples: ['sensor-proxy validate contoso.parent.importmanifest.json', 'sensor-proxy validate m.json --json'],
    exitCodes: [
      [0, 'valid'],
      [1, 'invalid (every violation printed)'],
    ],
    async run({ values: v, positionals }) {
      const { validateCommand } = await import('./validate-command.js');
      return validateCommand({ manifest: positionals[0]!, ...optional('files', v.files), json: !!v.json });
    },
  },
  {
    name: 'flash',
    summary: 'run an update locally (import manifest), or flash one image into sensors (quick flash)',
    usage: [
      'flash <import-manifest.json> [--files DIR] [--config F] [--inventory FILE]...',
      '      [--component ID]... [--dry-run] [--reboot] [--json]',
      'flash <image> (--port PATH|NAME... [--baud N] [--mtu N]',
      '      | --can IFACE[:TX:RX]... [--tx-id ID --rx-id ID] [--address ADDR]',
      '      | --device VID:PID [--serial SN... | --path BUS-PORT...] [--alt N] [--dfuse-address ADDR])',
      '      [--protocol smp|ymodem|uds|dfu] [--version V] [--force] [--config F] [--dry-run] [--json]',
    ],
    positionals: { min: 1, max: 1, what: 'one import manifest path or one firmware image' },
    options: {
      protocol: str('P', 'quick flash: smp, ymodem (serial), uds (CAN), dfu (USB); CAN and USB targets imply it'),
      port: {
        ...str('PATH|NAME', 'quick flash: serial port (/dev/ttyACM0) or a configured sensor name (esptool -p)', true),
        short: 'p',
      },
      baud: { ...str('N', 'quick flash: serial line rate, default 115200 (esptool -b, mcumgr baud=)'), short: 'b' },
      mtu: str('N', 'quick flash, smp: largest SMP packet, default 256 (mcumgr mtu=)'),
      can: str(
        'IFACE:TX:RX',
        'quick flash: CAN interface and the ECU request/response ids in hex (can0:7E0:7E8)',
        true,
      ),
      'tx-id': str('ID', 'quick flash, uds: request id for --can IFACE, hex (isotpsend -s)'),
      'rx-id': str('ID', 'quick flash, uds: response id for --can IFACE, hex (isotpsend -d)'),
      address: str('ADDR', 'quick flash, uds: download start address (0x08000000)'),
      device: { ...str('VID:PID', 'quick flash: USB device ids in hex (dfu-util -d)', true), short: 'd' },
      serial: {
        ...str('SN', 'quick flash, dfu: the device with this USB serial number (dfu-util -S); one per device', true),
        short: 'S',
      },
      path: str(
        'BUS-PORT',
        'quick flash, dfu: the device at this USB port path, e.g. 1-1.2 (dfu-util -p); one per device',
        true,
      ),
      alt: { ...str('N', 'quick flash, dfu: DFU-mode alt setting, default 0 (dfu-util -a)'), short: 'a' },
      'dfuse-address': { ...str('ADDR', 'quick flash, dfu: DfuSe start address (dfu-util -s)'), short: 's' },
      version: str(
        'V',
        'quick flash: the version the image carries (installedCriteria): skip sensors running it, check it after; smp reads it from the MCUboot header',
      ),
      force: bool('quick flash: flash even a sensor that already runs --version'),
      files: str('DIR', "folder of the update files and child manifests (default: the manifest's folder)"),
      config: CONFIG,
      inventory: INVENTORY,
      component: str('ID', 'restrict child updates to this component', true),
      'dry-run': bool('resolve everything and ask IsInstalled; install nothing'),
      reboot: bool(
        'when the update asks for a reboot, reboot (config rebootCommand, default systemctl reboot); flash again afterwards to finish',
      ),
      json: bool('ndjson events on stdout; the last line is {"type":"result",...}'),
    },
    description:
      'Validates the manifest and its children, finds and hashes every file, selects the components,\n' +
      'then runs the steps in order with per-component progress (README "How an update runs").\n' +
      'Quick flash: with a target (--port, --can, --device/--serial/--path) the argument is a firmware\n' +
      'image, flashed without a manifest through the same handler and workflow (SHA-256 recorded, journal\n' +
      'and resume, verify/test/confirm), several targets in parallel; it prints the version before and\n' +
      'after. A target that does not exist, a protocol that does not fit it, an image the protocol\n' +
      'rejects (no MCUboot header for smp) or the same sensor twice: exit 2, nothing written.\n' +
      'Ctrl-C cancels the running step; a second Ctrl-C exits at once. A run cut short resumes when the\n' +
      'same update is flashed again.',
    examples: [
      'sensor-proxy flash contoso.parent.importmanifest.json --config /etc/sensor-proxy/gateway.json',
      'sensor-proxy flash update.importmanifest.json --files ./payload --component SN-0042 --dry-run',
      'sensor-proxy flash update.importmanifest.json --inventory components-inventory.json --json',
      'sensor-proxy flash zephyr.signed.bin --protocol smp --port /dev/ttyACM0 --port /dev/ttyACM1',
      'sensor-proxy flash app.bin --protocol ymodem --port left-sensor --version 2.1.0',
      'sensor-proxy flash ecu.bin --can can0:7E0:7E8 --can can0:7E1:7E9 --address 0x08000000 --version 3.2.0',
      'sensor-proxy flash fw.dfu --device 0483:df11 --serial 3471 --serial 3472 --alt 0 --dfuse-address 0x08000000',
    ],
    exitCodes: [
      [0, 'succeeded (incl. every step already installed, no matching components)'],
      [
        1,
        'the update failed or was cancelled, or it waits for a reboot or restart (--dry-run: a selected sensor is absent or unreachable)',
      ],
      [
        2,
        'usage or input error (bad manifest, missing file, hash mismatch, unknown handler; quick flash: no such target, protocol does not fit, image rejected, same sensor twice): nothing was run',
      ],
    ],
    async run({ values: v, positionals, signal, log }) {
      const { isQuickFlash, QUICK_ONLY_FLAGS } = await import('./quick-flash/target-flags.js');
      if (isQuickFlash(v)) {
        const { quickFlashCommand } = await import('./quick-flash-command.js');
        return quickFlashCommand(
          {
            image: positionals[0]!,
            values: v,
            ...optional('config', v.config),
            dryRun: !!v['dry-run'],
            json: !!v.json,
            log,
          },
          signal,
        );
      }
      const stray = QUICK_ONLY_FLAGS.find((f) => v[f] !== undefined);
      if (stray) {
        process.stderr.write(
          `error [CLI_USAGE]: --${stray} is for a quick flash, which needs a target: --port, --can, --device, --serial or --path\n`,
        );
        return 2;
      }
      const { flashCommand } = await import('./flash-command.js');
      return flashCommand(
        {
          manifest: positionals[0]!,
          ...optional('files', v.files),
          ...optional('config', v.config),
          inventories: strings(v.inventory),
          components: strings(v.component),
          dryRun: !!v['dry-run'],
          reboot: !!v.reboot,
          json: !!v.json,
          log,
        },
        signal,
      );
    },
  },
  {
    name: 'agent',
    summary: 'serve Azure Device Update deployments from IoT Hub until stopped',
    usage: ['agent --config F [--inventory FILE]...'],
    positionals: { min: 0, max: 0, what: 'no positional arguments' },
    options: { config: CONFIG, inventory: INVENTORY },
    description:
      'Connects to IoT Hub (config "hub"), implements the deviceUpdate PnP component and runs each\n' +
      'deployment with the same engine as flash. Logs one JSON line per event on stderr. SIGINT or\n' +
      'SIGTERM stops it; a deployment cut short is resumed at the next start.',
    examples: ['sensor-proxy agent --config /etc/sensor-proxy/gateway.json'],
    exitCodes: [
      [0, 'stopped cleanly (SIGINT/SIGTERM)'],
      [1, 'the agent failed (e.g. an unreadable state file)'],
      [2, 'config error'],
      [75, 'an update asked for an agent restart (the service manager starts it again)'],
    ],
    async run({ values: v, signal, log }) {
      (await import('../hub/agent-heap.js')).limitAgentHeap();
      const { agentCommand } = await import('./agent-command.js');
      return agentCommand({ ...optional('config', v.config), inventories: strings(v.inventory), log }, signal);
    },
  },
  {
    name: 'doctor',
    summary: 'check the gateway: config, state folder, runtime, CAN, serial, USB, IoT Hub, clock',
    usage: ['doctor [--config F] [--json] [--min-free-mb N]'],
    positionals: { min: 0, max: 0, what: 'no positional arguments' },
    options: {
      config: CONFIG,
      json: bool('one JSON object per check on stdout: {"id","status","detail","remedy"}'),
      'min-free-mb': str('N', 'free space the work folder needs for the largest download, MiB (default 256)'),
    },
    description:
      'Runs every check (README "doctor" lists their ids) as the user it runs as: run it as the\n' +
      'service user (sudo -u sensor-proxy sensor-proxy doctor --config /etc/sensor-proxy/gateway.json).\n' +
      'Each failing check says what is wrong and the command or file that fixes it. Status is pass,\n' +
      'fail, warn (works, but fix it) or skip (not configured, or an earlier check failed).',
    examples: [
      'sudo -u sensor-proxy sensor-proxy doctor --config /etc/sensor-proxy/gateway.json',
      'sensor-proxy doctor --config gateway.json --json | jq -c \'select(.status == "fail")\'',
    ],
    exitCodes: [
      [0, 'no check failed (warnings and skips allowed)'],
      [1, 'at least one check failed'],
      [2, 'usage error'],
    ],
    async run({ values: v, signal }) {
      const mb = v['min-free-mb'] === undefined ? 256 : Number(v['min-free-mb']);
      if (!Number.isFinite(mb) || mb < 0) {
        process.stderr.write(
          `error [CLI_USAGE]: --min-free-mb must be a number >= 0, not "${String(v['min-free-mb'])}"\n`,
        );
        return 2;
      }
      const { doctorCommand } = await import('./doctor-command.js');
      return doctorCommand({ ...optional('config', v.config), json: !!v.json, minFreeMb: mb }, signal);
    },
  },
  {
    name: 'report',
    summary: 'write an evidence bundle (.tar.gz) for a ticket: config, list, deployments, logs, report.html',
    usage: ['report [--config F] [--inventory FILE]... [--out FILE] [--no-journal]'],
    positionals: { min: 0, max: 0, what: 'no positional arguments' },
    options: {
      config: CONFIG,
      inventory: INVENTORY,
      out: str('FILE', 'where to write the bundle (default ./sensor-proxy-report-<host>-<UTC time>.tar.gz)'),
      'no-journal': bool('leave out the journal of sensor-proxy.service (journalctl)'),
    },
    description:
      'Writes one .tar.gz with the version, the config with secrets redacted (connection strings,\n' +
      'keys, passwords, tokens), `list` output, every recorded deployment with its step x component\n' +
      'results and timeline, the log file (config logFile) and the service journal, and report.html,\n' +
      'which opens offline in a browser and shows each deployment as a timeline. Prints its path.',
    examples: [
      'sudo sensor-proxy report --config /etc/sensor-proxy/gateway.json --out /tmp/gw7-report.tar.gz',
      'tar xzf /tmp/gw7-report.tar.gz && xdg-open sensor-proxy-report-*/report.html',
    ],
    exitCodes: [
      [0, 'bundle written (also when the config or a bus failed: the bundle says so)'],
      [1, 'the bundle could not be written'],
      [2, 'usage error'],
    ],
    async run({ values: v, signal, log }) {
      const { reportCommand } = await import('./report-command.js');
      return reportCommand(
        {
          ...optional('config', v.config),
          ...optional('out', v.out),
          inventories: strings(v.inventory),
          journal: !v['no-journal'],
          log,
        },
        signal,
      );
    },
  },
  {
    name: 'udev-rules',
    summary: "print udev rules for the config's USB DFU and serial sensors",
    usage: ['udev-rules [--config F]'],
    positionals: { min: 0, max: 0, what: 'no positional arguments' },
    options: { config: CONFIG },
    description:
      'Prints the rules the unprivileged service needs: USB DFU devices (run-time and DFU-mode\n' +
      'VID:PID of each usb rule, plus any device with a DFU interface) group plugdev, mode 0660;\n' +
      'serial sensors a link /dev/sensor-proxy/<name> and ID_MM_DEVICE_IGNORE=1 (ModemManager\n' +
      "leaves them alone). The file in /etc/udev/rules.d overrides the package's generic one.",
    examples: [
      'sensor-proxy udev-rules --config /etc/sensor-proxy/gateway.json | sudo tee /etc/udev/rules.d/61-sensor-proxy.rules',
      'sudo udevadm control --reload && sudo udevadm trigger',
    ],
    exitCodes: [
      [0, 'rules printed'],
      [2, 'config error or usage error'],
    ],
    async run({ values: v }) {
      const { udevRulesCommand } = await import('./udev-rules-command.js');
      return udevRulesCommand({ ...optional('config', v.config) });
    },
  },
];

export function findCommand(name: string): CommandSpec | undefined {
  return COMMANDS.find((c) => c.name === name);
}
