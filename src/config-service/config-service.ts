import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { CALLER } from "../access/index.js";
import { ConfigConflictError, ConfigError } from "../config/index.js";
import type { ConfigService } from "../gen/shoal/v1/config_pb.js";
import { guard } from "../grpc/guard.js";
import { InvalidConfigPathError } from "./document.js";
import { ConfigVersionNotFoundError, applyEdit, diffChanges, openConfigDocument, pickDiff, planRollback, planSet, problemsOf, withConfigDocument } from "./edits.js";
import type { ConfigTarget, DocumentEdit, OpenDocument } from "./edits.js";
import { readEffective } from "./effective.js";
import * as v from "./convert.js";

/** What shoal.v1.ConfigService needs: the configuration of this process, and how it learns of changes. */
export interface ConfigServiceDeps extends ConfigTarget {
  /**
   * Subscribes to "the effective configuration of this process changed"; returns the unsubscribe.
   * WatchConfig answers at once and again after every notification. Wire it to the process's
   * ConfigWatcher: `changes: (l) => watcher.subscribe(() => l())`. Absent: WatchConfig sends the
   * configuration once and then only keeps the stream open.
   */
  readonly changes?: (listener: () => void) => () => void;
  /** Where unexpected errors go (callers see INTERNAL without them). */
  readonly onInternalError?: (method: string, err: unknown) => void;
}

/** History author of writes whose caller is not known (no access check on the port). */
export const DEFAULT_AUTHOR = "console";

/**
 * shoal.v1.ConfigService as a Connect implementation: the operations of `shoal config` (print,
 * set, diff, history, rollback) on the same code (./edits.ts) and the same Consul document
 * `<consul.prefix>/<env>/config.yaml`. Writes are validated by the validator `shoal config set`
 * uses (INVALID_ARGUMENT with its messages, nothing written) and recorded in the history with the
 * caller's token name as author. Secrets are redacted in every answer. Consul unreachable:
 * UNAVAILABLE; not configured: FAILED_PRECONDITION (ListConfigHistory: no versions). Every call
 * resolves afresh (files, Consul, environment), like `shoal config print`; WatchConfig re-reads
 * after each `changes` notification (bursts coalesce) and ends with the error if a read fails.
 */
export function createConfigService(d: ConfigServiceDeps): ServiceImpl<typeof ConfigService> {
  const onInternal = d.onInternalError ?? (() => {});
  const guarded = guard(onInternal, mapError);
  const withDocument = <T>(fn: (doc: OpenDocument) => Promise<T>) => withConfigDocument(d, notConfigured, fn);
  const effective = guarded(async (_req: unknown) => ({ config: v.effectiveConfigOf(await readEffective(d)) }));

  /** Writes `edit`; the validator's refusal becomes INVALID_ARGUMENT. */
  const write = async (doc: OpenDocument, edit: DocumentEdit, message: string, ctx: HandlerContext) => {
    const author = ctx.values.get(CALLER)?.name ?? DEFAULT_AUTHOR;
    try {
      const entry = await applyEdit(doc, edit, { author, message: message || edit.message });
      return { version: BigInt(entry.n), changes: edit.changes.map(v.changeOf) };
    } catch (e) {
      if (e instanceof ConfigError) throw v.invalidChange(e.issues, e.message);
      throw e;
    }
  };

  return {
    getConfig: effective,

    validateConfigChange: guarded(async (req) => {
      const [path, value] = [v.keyPath(req.path), v.valueYaml(req.valueYaml)];
      return withDocument(async (doc) => {
        const edit = await planSet(doc.store, path, value);
        const problems = problemsOf(doc.validate, edit.doc);
        return { valid: problems.length === 0, problems: problems.map(v.problemOf), changes: edit.changes.map(v.changeOf) };
      });
    }),

    setConfigKey: guarded(async (req, ctx) => {
      const [path, value, message] = [v.keyPath(req.path), v.valueYaml(req.valueYaml), v.historyMessage(req.message)];
      return withDocument(async (doc) => {
        const edit = await planSet(doc.store, path, value);
        if (req.expectedVersion !== 0n) {
          // Checked after the read the edit is based on: a write in between fails its check-and-set.
          const now = await doc.store.latestVersion();
          if (BigInt(now) !== req.expectedVersion) {
            throw new ConnectError(`${doc.store.key} is at version ${now}, not ${req.expectedVersion}: re-read and retry`, Code.Aborted);
          }
        }
        return write(doc, edit, message, ctx);
      });
    }),

    listConfigHistory: guarded(async () => {
      const doc = openConfigDocument(d);
      if (doc === undefined) return { versions: [] };
      try {
        return { versions: (await doc.store.history()).reverse().map(v.versionEntryOf) };
      } finally {
        doc.close();
      }
    }),

    diffConfig: guarded(async (req) => {
      const from = v.historyVersion(req.fromVersion, "from_version", req.toVersion !== 0n);
      const to = v.historyVersion(req.toVersion, "to_version", false);
      return withDocument(async (doc) => {
        const sides = await pickDiff(doc.store, from, to);
        return { changes: sides === undefined ? [] : diffChanges(sides.before, sides.after).map(v.changeOf) };
      });
    }),

    rollbackConfig: guarded(async (req, ctx) => {
      const [n, message] = [v.historyVersion(req.version, "version", true), v.historyMessage(req.message)];
      return withDocument(async (doc) => write(doc, await planRollback(doc.store, n), message, ctx));
    }),

    async *watchConfig(req, ctx) {
      let dirty = true;
      let wake: (() => void) | undefined;
      const notify = () => {
        dirty = true;
        wake?.();
      };
      // Subscribed before the first read: a change during it is not missed.
      const unsubscribe = d.changes?.(notify) ?? (() => {});
      ctx.signal.addEventListener("abort", notify);
      try {
        for (;;) {
          if (!dirty) await new Promise<void>((resolve) => (wake = resolve));
          wake = undefined;
          if (ctx.signal.aborted) return;
          dirty = false;
          yield await effective(req, ctx);
        }
      } finally {
        unsubscribe();
        ctx.signal.removeEventListener("abort", notify);
      }
    },
  };
}

const notConfigured = () =>
  new ConnectError("no Consul is configured (consul.url): the configuration is read-only here", Code.FailedPrecondition);

/** The service's own errors as codes (the rest: see guard). Messages are value-free by the errors' contracts. */
function mapError(e: unknown): ConnectError | undefined {
  if (e instanceof ConfigConflictError) return new ConnectError(e.message, Code.Aborted);
  if (e instanceof ConfigVersionNotFoundError) return new ConnectError(e.message, Code.NotFound);
  if (e instanceof InvalidConfigPathError) return v.invalid("path", `${e.message}: dotted keys such as detector.threshold`);
  // The stored document or the files do not parse or resolve: nothing the request can fix.
  if (e instanceof ConfigError) return new ConnectError(e.message, Code.FailedPrecondition);
  // Consul answered 4xx (an ACL refusal, say): retrying will not help.
  if ((e as { name?: unknown; reason?: unknown }).name === "ConsulError" && (e as { reason?: unknown }).reason === "rejected") {
    return new ConnectError((e as Error).message, Code.FailedPrecondition);
  }
  return undefined;
}
