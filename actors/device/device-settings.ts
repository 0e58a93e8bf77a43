import { resolveDetectorParams, resolveJointParams } from "../../src/detector/index.js";
import { checkAlertRules } from "../alert/index.js";
import type { DeviceSettings } from "./device.messages.js";
import { defaultDeviceSettings } from "./device.messages.js";
import { createSeqPolicies } from "./seq-policy.js";

/**
 * `s` checked field by field (RangeError naming the setting and its rule); the detector parameters
 * are resolved to check them. Returns `s` unchanged.
 */
export function checkDeviceSettings(s: Partial<DeviceSettings>): Partial<DeviceSettings> {
  const fail = (key: string, rule: string, v: unknown) => {
    throw new RangeError(`device settings: ${key} ${rule}, got ${JSON.stringify(v)}`);
  };
  if (s.threshold !== undefined && !(s.threshold >= 0 && s.threshold <= 1)) fail("threshold", "must be between 0 and 1", s.threshold);
  if (s.heartbeatTimeoutMs !== undefined && !(Number.isSafeInteger(s.heartbeatTimeoutMs) && s.heartbeatTimeoutMs >= 1)) fail("heartbeatTimeoutMs", "must be an integer >= 1", s.heartbeatTimeoutMs);
  if (s.windowSize !== undefined && !(Number.isSafeInteger(s.windowSize) && s.windowSize >= 1)) fail("windowSize", "must be an integer >= 1", s.windowSize);
  if (s.maxGaps !== undefined && !(Number.isSafeInteger(s.maxGaps) && s.maxGaps >= 0)) fail("maxGaps", "must be an integer >= 0", s.maxGaps);
  if (s.maxSeqJump !== undefined && !(Number.isSafeInteger(s.maxSeqJump) && s.maxSeqJump >= 1)) fail("maxSeqJump", "must be an integer >= 1", s.maxSeqJump);
  if (s.jumpConfirmations !== undefined && !(Number.isSafeInteger(s.jumpConfirmations) && s.jumpConfirmations >= 0)) fail("jumpConfirmations", "must be an integer >= 0", s.jumpConfirmations);
  if (s.historicalAfterMs !== undefined && !(Number.isSafeInteger(s.historicalAfterMs) && s.historicalAfterMs >= 0)) fail("historicalAfterMs", "must be an integer >= 0", s.historicalAfterMs);
  if (s.seqWrap !== undefined) createSeqPolicies({ ...defaultDeviceSettings, seqWrap: s.seqWrap }); // throws on a bad rule
  if (s.detectorParams !== undefined) resolveDetectorParams(s.detectorParams);
  if (s.alertRules !== undefined) checkAlertRules(s.alertRules);
  if (s.jointModel !== undefined && typeof s.jointModel !== "boolean") fail("jointModel", "must be true or false", s.jointModel);
  if (s.jointParams !== undefined) resolveJointParams(s.jointParams);
  return s;
}
