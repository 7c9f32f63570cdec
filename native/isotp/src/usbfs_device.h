// The usbfs part of the addon (usbfs_device.cc): adds `UsbfsDevice` to the module's exports.
#pragma once
#include <napi.h>

void InitUsbfs(Napi::Env env, Napi::Object exports);
