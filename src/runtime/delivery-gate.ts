/**
 * Deliveries run concurrently; an exclusive section (partition reset or release) waits until none
 * is running and holds new ones back until it finished.
 */
export class DeliveryGate {
  private gate: Promise<void> | null = null;
  private idleWaiters: (() => void)[] = [];
  /** Deliveries running now. */
  running = 0;

  /** No exclusive section is running or waiting. */
  get open(): boolean {
    return this.gate === null;
  }

  /** Resolves once no exclusive section is running or waiting (use when `open` is false). */
  async wait(): Promise<void> {
    while (this.gate !== null) await this.gate;
  }

  /** A delivery starts (after `wait` when the gate was not open). */
  enter(): void {
    this.running++;
  }

  /** A delivery finished. */
  leave(): void {
    if (--this.running === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  /** Resolves when the running count next drops to zero (call while `running > 0`). */
  whenIdle(): Promise<void> {
    return new Promise<void>((r) => this.idleWaiters.push(r));
  }

  /** Run `fn` with no delivery running and new ones held back. */
  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    await this.wait();
    let open!: () => void;
    this.gate = new Promise<void>((r) => (open = r));
    try {
      while (this.running > 0) await this.whenIdle();
      return await fn();
    } finally {
      this.gate = null;
      open();
    }
  }
}
