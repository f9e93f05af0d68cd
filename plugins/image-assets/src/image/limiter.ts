/**
 * Bounded image work: at most `concurrency` images are processed at once and at most
 * `queueDepth` wait, each for at most `maxWaitMs`; beyond that `run` refuses (the caller answers
 * 503 with `Retry-After`) instead of letting decoded images and waiting requests pile up.
 * Background work (`runBackground`: the AVIF jobs) shares the same slots but comes last: it takes
 * a slot only when no request is waiting for one, and it waits outside the request queue.
 */
export class WorkLimiter {
  private active = 0
  private readonly waiting: Array<() => void> = []
  private readonly background: Array<() => void> = []

  constructor(
    readonly concurrency: number,
    readonly queueDepth: number,
    readonly maxWaitMs = Number.POSITIVE_INFINITY,
  ) {}

  /** Runs `task` when a slot is free; returns undefined without running it when the queue is full or the wait ran out. */
  async run<T>(task: () => Promise<T>): Promise<{ value: T } | undefined> {
    if (this.active >= this.concurrency) {
      if (this.waiting.length >= this.queueDepth) return undefined
      if (!(await this.turn(this.waiting, this.maxWaitMs))) return undefined
    } else {
      this.active++
    }
    return this.hold(task)
  }

  /**
   * Runs `task` when a slot is free and no request waits for one; waits for that as long as it
   * takes, or until `deadline` (epoch ms), when it returns undefined without running it. Takes no
   * place in the request queue, so background work never makes an upload wait longer or be refused.
   */
  async runBackground<T>(
    task: () => Promise<T>,
    deadline = Number.POSITIVE_INFINITY,
  ): Promise<{ value: T } | undefined> {
    if (this.active >= this.concurrency || this.waiting.length > 0) {
      if (!(await this.turn(this.background, Math.max(1, deadline - Date.now())))) return undefined
    } else {
      this.active++
    }
    return this.hold(task)
  }

  /** Waits in `queue` until a released slot is handed over (true), or for `waitMs` (false). */
  private turn(queue: Array<() => void>, waitMs: number): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const wake = () => {
        clearTimeout(timer)
        resolve(true)
      }
      const timer = Number.isFinite(waitMs)
        ? setTimeout(() => {
            const at = queue.indexOf(wake)
            if (at >= 0) queue.splice(at, 1)
            resolve(false)
          }, waitMs)
        : undefined
      queue.push(wake)
    })
  }

  /** Runs `task` in the slot just taken, and hands the slot on when it ends. */
  private async hold<T>(task: () => Promise<T>): Promise<{ value: T }> {
    try {
      return { value: await task() }
    } finally {
      this.release()
    }
  }

  /** A slot is free: a waiting request gets it, else waiting background work, else it is free. */
  private release(): void {
    const next = this.waiting.shift() ?? this.background.shift()
    if (next) next()
    else this.active--
  }
}
