import { gadgetSuite } from './usb-dfu-gadget-suite.js';

// The same host tests through usbfs (our native addon): flash with detach, re-enumeration, verify and
// reset; DfuSe; every dfuERROR status and a stall; the handler; the device vanishing mid-download.
gadgetSuite(['usbfs'], false);
