// shoal.v1.ConfigService: the layered configuration as `shoal config` shows and changes it, over
// gRPC-web and Connect; and the operations on the Consul document both share.
export { createConfigService, DEFAULT_AUTHOR } from "./config-service.js";
export type { ConfigServiceDeps } from "./config-service.js";
export {
  ConfigVersionNotFoundError,
  applyEdit,
  diffChanges,
  documentValidator,
  openConfigDocument,
  pickDiff,
  planRollback,
  planSet,
  problemsOf,
  resolveOptionsOf,
  withConfigDocument,
} from "./edits.js";
export type { ConfigTarget, DiffSide, DocumentEdit, DocumentValidator, OpenDocument, SetEdit } from "./edits.js";
export { InvalidConfigPathError, documentPath, resolvedPath, valueAt } from "./document.js";
export { effectiveEntries, readEffective, sourceLabel } from "./effective.js";
export type { EffectiveEntry, EffectiveView } from "./effective.js";
