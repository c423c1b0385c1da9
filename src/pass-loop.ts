/**
 * A pass that repeats in the worker process until stopped (the dbt request dispatcher, the endings
 * reconciler): one pass at a time, a pause between passes, a failed pass reported and retried.
 */
export class PassLoop {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = true;

  constructor(
    private readonly pass: () => Promise<unknown>,
    private readonly intervalMs: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const loop = async () => {
      if (this.stopped) return;
      try {
        await this.pass();
      } catch (err) {
        this.onError(err);
      }
      if (!this.stopped) {
        this.timer = setTimeout(() => {
          this.running = loop();
        }, this.intervalMs);
      }
    };
    this.running = loop();
  }

  /** Stops after the pass in flight (if any) settles. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }
}
