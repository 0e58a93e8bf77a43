// shoal.v1.DeviceService: the device registry over gRPC/Connect (create, get, list, update, enable/disable, rotate, delete, CSV import), driving the broker's accounts.
export { createDeviceService } from "./device-service.js";
export type { DeviceServiceDeps } from "./device-service.js";
export { addDeviceService, DEVICE_SERVICE_NAME, DEVICE_SERVICE_FILES } from "./server.js";
export { MAX_IMPORT_BYTES } from "./validate.js";
