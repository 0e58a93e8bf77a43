import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Ports come from 20000 up to just below the kernel's ephemeral range (32768 by default):
 * outgoing connections never take them (a restart() can rebind its port) and the local
 * stack's fixed ports (11883-19000) are below. Each port is also reserved in a file under
 * <tmpdir>/shoal-harness-ports/ so concurrent test processes on this machine never pick the
 * same one; a reservation whose owner process is gone is taken over.
 */
const RANGE_LOW = 20_000;
/** Directory of port reservation files (name = port, content = owner pid). */
export const reservationDir: string = join(tmpdir(), "shoal-harness-ports");
const reservedHere = new Set<number>();
let exitHookInstalled = false;

function rangeHigh(): number {
  try {
    const [low] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/).map(Number);
    if (low !== undefined && Number.isInteger(low) && low > RANGE_LOW + 1000) return Math.min(low - 1, 65_535);
  } catch {
    // not Linux: fall through to the IANA dynamic range's lower bound
  }
  return 32_767;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function reserve(port: number): boolean {
  mkdirSync(reservationDir, { recursive: true });
  const file = join(reservationDir, String(port));
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, "wx");
      writeSync(fd, String(process.pid));
      closeSync(fd);
      if (!exitHookInstalled) {
        exitHookInstalled = true;
        process.once("exit", releaseAllPorts);
      }
      reservedHere.add(port);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      let owner = Number.NaN;
      try {
        owner = Number(readFileSync(file, "utf8"));
      } catch {
        // removed meanwhile: try again
      }
      if (Number.isInteger(owner) && owner > 0 && alive(owner)) return false;
      try {
        unlinkSync(file);
      } catch {
        // someone else took it over first
      }
    }
  }
  return false;
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen({ port, host: "127.0.0.1", exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * A loopback TCP port that is free now and reserved for this process (no other harness user
 * on the machine gets it) until {@link releasePort} or process exit.
 */
export async function freePort(): Promise<number> {
  const high = rangeHigh();
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = RANGE_LOW + Math.floor(Math.random() * (high - RANGE_LOW + 1));
    if (reservedHere.has(port) || !reserve(port)) continue;
    if (await canBind(port)) return port;
    releasePort(port);
  }
  throw new Error(`freePort: no free loopback port in ${RANGE_LOW}-${high} after 200 tries`);
}

/** Gives a port from {@link freePort} back. Unknown ports are ignored. */
export function releasePort(port: number): void {
  if (!reservedHere.delete(port)) return;
  try {
    unlinkSync(join(reservationDir, String(port)));
  } catch {
    // already gone
  }
}

/** Releases every reservation of this process (exit path; synchronous). */
export function releaseAllPorts(): void {
  for (const port of [...reservedHere]) releasePort(port);
}
