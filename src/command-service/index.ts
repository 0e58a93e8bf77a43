// shoal.v1.DeviceCommandService: send commands to devices, read their status (docs/adr/0021-device-commands.md).
export { createCommandService } from "./command-service.js";
export type { CommandServiceDeps } from "./command-service.js";
export { addCommandService, COMMAND_SERVICE_FILES, COMMAND_SERVICE_NAME } from "./server.js";
