import {
  MCUBOOT_HEADER_SIZE,
  formatImageVersion,
  parseMcubootHeader,
} from '../../../drivers/serial/smp/mcuboot-header.js';
import { readDfuSuffix } from '../../../drivers/usb/dfu/dfu-suffix.js';
import { FileImageSource } from '../../../drivers/shared/image-source.js';
import { isBusError } from '../../../drivers/shared/errors.js';
import { SensorProxyError, errorMessage } from '../../model/errors.js';
import type { QuickProtocol } from './target-flags.js';

export interface ImageFacts {
  sizeInBytes: number;
  /** The version the image says it carries (MCUboot header), when it says one. */
  version?: string;
}

const rejected = (image: string, message: string, hint: string, details: Record<string, unknown> = {}) =>
  new SensorProxyError('IMAGE_REJECTED', message, { details: { image, ...details }, hint });

/**
 * What the protocol would refuse, found before any device is touched: an empty file; for SMP no
 * MCUboot header (the device would take the upload and then never boot it); for DFU a `.dfu`
 * suffix with a bad CRC, or no suffix where the config requires one (the suffix's VID:PID is checked
 * by the flash itself, against both the run-time and the DFU-mode ids).
 * @throws SensorProxyError IMAGE_REJECTED naming the image and the fix, FILE_MISSING.
 */
export async function checkImage(
  image: string,
  protocol: QuickProtocol,
  opts: { dfuRequireSuffix: boolean },
): Promise<ImageFacts> {
  const source = await FileImageSource.open(image).catch((e: unknown) => {
    throw new SensorProxyError('FILE_MISSING', `cannot read the image ${image}: ${errorMessage(e)}`, {
      details: { image },
      hint: 'give the path of the firmware file as the first argument',
    });
  });
  try {
    const sizeInBytes = source.size;
    if (sizeInBytes === 0) throw rejected(image, `image ${image} is empty`, 'check the build output');
    if (protocol === 'smp') {
      try {
        const header = parseMcubootHeader(await source.readAt(0, Math.min(MCUBOOT_HEADER_SIZE, sizeInBytes)));
        return { sizeInBytes, version: formatImageVersion(header.version) };
      } catch (e) {
        if (!isBusError(e, 'SMP_BAD_IMAGE')) throw e;
        throw rejected(
          image,
          `${image} is not an MCUboot image for smp: ${e.message}`,
          'sign it with imgtool (e.g. zephyr.signed.bin, not zephyr.bin); a raw binary needs another --protocol',
        );
      }
    }
    if (protocol === 'dfu') {
      let suffix;
      try {
        suffix = await readDfuSuffix(source);
      } catch (e) {
        if (!isBusError(e)) throw e;
        throw rejected(image, `${image}: ${e.message}`, 'rebuild the file, or add the suffix again with dfu-suffix');
      }
      if (!suffix && opts.dfuRequireSuffix)
        throw rejected(
          image,
          `${image} has no DFU suffix, and handlers["sensor-proxy/dfu:1"].requireSuffix is true`,
          'add one with dfu-suffix -v VID -p PID -a FILE, or set requireSuffix to false',
        );
    }
    return { sizeInBytes };
  } finally {
    await source.close();
  }
}
