/**
 * The clock of the flow-of-work fakes (Teams, Slack): token lifetimes, rate-limit windows and
 * timestamps all read it, so a test can cross a window or a token expiry without sleeping.
 *
 * By default it follows real time (a hub under test and the fake agree on "now"); `advance(ms)`
 * moves it ahead. `freeze(at)` stops it, so a burst of requests lands in one instant and a
 * sliding window is tested exactly; `resume()` follows real time again from the frozen reading.
 */
export class FakeClock {
  #frozenAt: number | undefined;
  #offset = 0;

  constructor(options: { frozenAt?: number } = {}) {
    this.#frozenAt = options.frozenAt;
  }

  /** Milliseconds since the epoch, as the fake sees them. */
  now(): number {
    return (this.#frozenAt ?? Date.now()) + this.#offset;
  }

  /** Whole seconds since the epoch (JWT `iat`/`nbf`/`exp`, Slack timestamps). */
  nowSeconds(): number {
    return Math.floor(this.now() / 1000);
  }

  advance(ms: number): void {
    this.#offset += ms;
  }

  freeze(at: number = this.now()): void {
    this.#offset = 0;
    this.#frozenAt = at;
  }

  resume(): void {
    if (this.#frozenAt === undefined) return;
    this.#offset = this.#frozenAt + this.#offset - Date.now();
    this.#frozenAt = undefined;
  }

  get frozen(): boolean {
    return this.#frozenAt !== undefined;
  }
}
