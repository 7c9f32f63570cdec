import { fail, pass, type CheckGroup } from './check.js';

/** Any clock before this year is unset: certificates are "not yet valid" and TLS to IoT Hub fails. */
export const SANE_YEAR = 2024;

/** `clock`: a Pi has no RTC; before NTP syncs it starts at its last saved time or 1970. */
export const clockChecks: CheckGroup = async ({ probes }) => {
  const now = probes.now();
  return [
    now.getUTCFullYear() < SANE_YEAR
      ? fail(
          'clock',
          `the clock says ${now.toISOString()}: no RTC and no NTP sync yet, so TLS certificates look not yet valid`,
          'sudo timedatectl set-ntp true (and let the gateway reach an NTP server), or fit an RTC (dtoverlay=i2c-rtc,... in config.txt)',
        )
      : pass('clock', now.toISOString()),
  ];
};
