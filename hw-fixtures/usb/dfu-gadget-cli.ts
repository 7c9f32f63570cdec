import { writeFileSync, writeSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DfuRequest } from '../../drivers/usb/dfu/constants.js';
import { DfuDeviceModel } from './dfu-device-model.js';
import { GadgetfsDfuDevice } from './gadgetfs-device.js';
import { DEFAULT_DFUSE_MEMORY, type DfuSimFaults, type DfuSimOptions } from './dfu-sim-options.js';

/**
 * Standalone DFU device simulator on gadgetfs (run as root in the qemu guest, or on any Linux with
 * dummy_hcd + gadgetfs). Prints one JSON line per event on stdout; on each manifestation writes the
 * image to `--dump` (plain DFU) or the flash (DfuSe) so tests can compare bytes.
 *
 *   node dist/hw-fixtures/usb/dfu-gadget-cli.js [--options JSON] [--dump FILE] [--reappear-ms N]
 *
 * `--options` is a partial {@link DfuSimOptions} (faults included), e.g.
 * `{"serialNumber":"SN-1","transferSize":256,"pollTimeoutMs":2,"faults":{"disconnectAfterBlock":10}}`;
 * `"dfuse": true` selects the default DfuSe memory map.
 */
const { values } = parseArgs({
  options: {
    options: { type: 'string', default: '{}' },
    dump: { type: 'string' },
    'reappear-ms': { type: 'string' },
    mount: { type: 'string', default: '/dev/gadget' },
  },
});
const raw = JSON.parse(values.options) as Omit<Partial<DfuSimOptions>, 'dfuse'> & {
  dfuse?: unknown;
  faults?: DfuSimFaults;
};
const partial: Partial<DfuSimOptions> = {
  ...raw,
  dfuse: raw.dfuse === true ? { ...DEFAULT_DFUSE_MEMORY } : (raw.dfuse as DfuSimOptions['dfuse']),
};
const model = new DfuDeviceModel(partial);
const report = (event: Record<string, unknown>) => writeSync(1, `${JSON.stringify({ t: Date.now(), ...event })}\n`);

const busReset = model.busReset.bind(model);
model.busReset = () => {
  report({ event: 'bus-reset', mode: model.mode });
  busReset();
};
const handle = model.handle.bind(model);
let manifests = 0;
let downloading = false;
model.handle = (s, data) => {
  // The download phase as the device sees it, the same for every host (benchmarks compare tools by
  // it): from the first data DNLOAD to the zero-length one that ends the download.
  if (s.bRequest === DfuRequest.DNLOAD && s.bmRequestType === 0x21) {
    const length = data?.length ?? 0;
    if (length > 0 && !downloading) {
      downloading = true;
      report({ event: 'download-started', at: performance.timeOrigin + performance.now() });
    } else if (length === 0 && downloading) {
      downloading = false;
      report({ event: 'download-ended', at: performance.timeOrigin + performance.now(), blocks: model.stats.blocks });
    }
  }
  const r = handle(s, data);
  if (model.stats.manifests !== manifests) {
    manifests = model.stats.manifests;
    if (values.dump) writeFileSync(values.dump, model.flash ? model.flash.data : model.image);
    report({
      event: 'manifested',
      size: model.image.length,
      sha256: model.imageSha256(),
      version: model.version,
      stats: model.stats,
      erases: model.flash?.erases,
    });
  }
  return r;
};

GadgetfsDfuDevice.mount(values.mount);
new GadgetfsDfuDevice(model, {
  mountPoint: values.mount,
  udc: 'dummy_udc',
  reappearAfterMs: values['reappear-ms'] === undefined ? undefined : Number(values['reappear-ms']),
  report,
}).run();
