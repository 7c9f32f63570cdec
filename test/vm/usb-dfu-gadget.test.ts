import { gadgetSuite } from './usb-dfu-gadget-suite.js';

// dfu-util proves the simulator; then our host through the `usb` package.
gadgetSuite(['usb'], true);
