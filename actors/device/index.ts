export { createDeviceActor, deviceActor, READINGS_TABLE } from "./device.actor.js";
export type { DeviceState } from "./device.actor.js";
export type * from "./device.messages.js";
export { defaultDeviceSettings } from "./device.messages.js";
export { createOfflineDevice } from "./offline-device.js";
export type { OfflineDevice, OfflineScore } from "./offline-device.js";
