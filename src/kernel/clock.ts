/** The only source of the current time. Tests pass a fixed or manual clock. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number
}

export const systemClock: Clock = { now: () => Date.now() }

/** A clock that moves only when told to; for tests. */
export function manualClock(startMs: number): Clock & { advance(ms: number): void; set(ms: number): void } {
  let t = startMs
  return {
    now: () => t,
    advance(ms: number) {
      t += ms
    },
    set(ms: number) {
      t = ms
    },
  }
}

export const epochSeconds = (clock: Clock): number => Math.floor(clock.now() / 1000)

export const isoNow = (clock: Clock): string => new Date(clock.now()).toISOString()
