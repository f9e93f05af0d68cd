/**
 * Bounded image work: at most `concurrency` images are processed at once and at most
 * `queueDepth` wait; beyond that `run` refuses at once (the caller answers 503) instead of letting
 * decoded images pile up in memory.
 */
export class WorkLimiter {
  private active = 0
  private readonly waiting: Array<() => void> = []

  constructor(
    readonly concurrency: number,
    readonly queueDepth: number,
  ) {}

  /** Runs `task` when a slot is free; returns undefined without running it when the queue is full. */
  async run<T>(task: () => Promise<T>): Promise<{ value: T } | undefined> {
    if (this.active >= this.concurrency) {
      if (this.waiting.length >= this.queueDepth) return undefined
      await new Promise<void>((resolve) => this.waiting.push(resolve))
    } else {
      this.active++
    }
    try {
      return { value: await task() }
    } finally {
      const next = this.waiting.shift()
      if (next) next()
      else this.active--
    }
  }
}
