/**
 * Bounded image work: at most `concurrency` images are processed at once and at most
 * `queueDepth` wait, each for at most `maxWaitMs`; beyond that `run` refuses (the caller answers
 * 503 with `Retry-After`) instead of letting decoded images and waiting requests pile up.
 */
export class WorkLimiter {
  private active = 0
  private readonly waiting: Array<() => void> = []

  constructor(
    readonly concurrency: number,
    readonly queueDepth: number,
    readonly maxWaitMs = Number.POSITIVE_INFINITY,
  ) {}

  /** Runs `task` when a slot is free; returns undefined without running it when the queue is full or the wait ran out. */
  async run<T>(task: () => Promise<T>): Promise<{ value: T } | undefined> {
    if (this.active >= this.concurrency) {
      if (this.waiting.length >= this.queueDepth) return undefined
      const turn = await new Promise<boolean>((resolve) => {
        const wake = () => {
          clearTimeout(timer)
          resolve(true)
        }
        const timer = Number.isFinite(this.maxWaitMs)
          ? setTimeout(() => {
              const at = this.waiting.indexOf(wake)
              if (at >= 0) this.waiting.splice(at, 1)
              resolve(false)
            }, this.maxWaitMs)
          : undefined
        this.waiting.push(wake)
      })
      if (!turn) return undefined
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
