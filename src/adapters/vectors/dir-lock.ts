import { readFile, unlink, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { VectorStoreError } from "./errors.js";

/**
 * One process per embedded store directory: the store keeps in memory which ids its tables hold
 * (id-filter.ts), so a second writer would go unseen. `<dir>/.shoal-writer.lock` holds the owner's
 * host and pid; a lock left by a process that is gone (a crash, SIGKILL) on this host is taken over.
 */
export class DirLock {
  private constructor(private readonly path: string) {}

  static async acquire(dir: string): Promise<DirLock> {
    const path = join(dir, ".shoal-writer.lock");
    const me = `${hostname()} ${process.pid}\n`;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await writeFile(path, me, { flag: "wx" });
        return new DirLock(path);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      }
      const [host, pidText] = (await readFile(path, "utf8").catch(() => "")).trim().split(" ");
      const pid = Number(pidText);
      if (host === hostname() && Number.isInteger(pid) && pid > 0 && !alive(pid)) {
        await unlink(path).catch(() => undefined);
        continue;
      }
      throw new VectorStoreError(`vector store ${dir} is in use by ${host ?? "?"} pid ${pidText ?? "?"} (one process per directory)`, { reason: "unavailable" });
    }
    throw new VectorStoreError(`vector store ${dir}: could not take ${path}`, { reason: "unavailable" });
  }

  async release(): Promise<void> {
    await unlink(this.path).catch(() => undefined);
  }
}

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
