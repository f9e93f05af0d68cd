import { describe, expect, it, vi } from 'vitest'

import { WorkLimiter } from 'payload-image-assets/internal'

const deferred = () => {
  let resolve!: () => void
  const promise = new Promise<void>((r) => (resolve = r))
  return { promise, resolve }
}

describe('WorkLimiter', () => {
  it('runs at most `concurrency` tasks, queues `queueDepth` more and refuses the rest at once', async () => {
    const limiter = new WorkLimiter(2, 1)
    const gates = [deferred(), deferred(), deferred()]
    let running = 0
    let peak = 0
    const task = (i: number) => async () => {
      running++
      peak = Math.max(peak, running)
      await gates[i].promise
      running--
      return i
    }
    const first = limiter.run(task(0))
    const second = limiter.run(task(1))
    const third = limiter.run(task(2))
    const fourth = await limiter.run(async () => 'never')
    expect(fourth).toBeUndefined()
    gates[0].resolve()
    expect(await first).toEqual({ value: 0 })
    gates[1].resolve()
    gates[2].resolve()
    expect(await second).toEqual({ value: 1 })
    expect(await third).toEqual({ value: 2 })
    expect(peak).toBe(2)
    // Slots are all free again.
    expect(await limiter.run(async () => 'again')).toEqual({ value: 'again' })
  })

  it('frees the slot when a task fails', async () => {
    const limiter = new WorkLimiter(1, 0)
    await expect(limiter.run(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom')
    expect(await limiter.run(async () => 1)).toEqual({ value: 1 })
  })

  it('gives up on a wait longer than `maxWaitMs` without running the task, and leaves the queue usable', async () => {
    vi.useFakeTimers()
    try {
      const limiter = new WorkLimiter(1, 4, 1000)
      const gate = deferred()
      const busy = limiter.run(() => gate.promise)
      let ran = false
      const waiting = limiter.run(async () => (ran = true))
      await vi.advanceTimersByTimeAsync(999)
      const late = limiter.run(async () => 'late')
      await vi.advanceTimersByTimeAsync(1)
      expect(await waiting).toBeUndefined()
      expect(ran).toBe(false)
      // The one that has waited only 1 ms is still queued and runs when the slot frees.
      gate.resolve()
      await busy
      expect(await late).toEqual({ value: 'late' })
      expect(await limiter.run(async () => 'free')).toEqual({ value: 'free' })
    } finally {
      vi.useRealTimers()
    }
  })

  it('background work waits outside the request queue, for as long as it takes, and a waiting request goes first', async () => {
    const limiter = new WorkLimiter(1, 1, 1000)
    const order: string[] = []
    const gate = deferred()
    const busy = limiter.run(async () => {
      await gate.promise
      order.push('busy')
    })
    // Ten jobs wait; none takes the one place in the request queue.
    const jobs = Array.from({ length: 10 }, (_, i) =>
      limiter.runBackground(async () => order.push(`job ${i}`)),
    )
    const request = limiter.run(async () => order.push('request'))
    expect(await limiter.run(async () => 'refused')).toBeUndefined()
    gate.resolve()
    await busy
    expect(await request).toEqual({ value: 2 })
    await Promise.all(jobs)
    expect(order).toEqual(['busy', 'request', ...jobs.map((_, i) => `job ${i}`)])
    expect(await limiter.run(async () => 'free')).toEqual({ value: 'free' })
  })

  it('background work takes a free slot at once, and gives up at its deadline without running', async () => {
    vi.useFakeTimers()
    try {
      const limiter = new WorkLimiter(1, 4, 1000)
      expect(await limiter.runBackground(async () => 'now')).toEqual({ value: 'now' })
      const gate = deferred()
      const busy = limiter.run(() => gate.promise)
      let ran = false
      const job = limiter.runBackground(async () => (ran = true), Date.now() + 5000)
      let answered = false
      void job.then(() => (answered = true))
      // Far past a request's 1 s wait, the job still waits.
      await vi.advanceTimersByTimeAsync(4999)
      expect(answered).toBe(false)
      await vi.advanceTimersByTimeAsync(1)
      expect(await job).toBeUndefined()
      expect(ran).toBe(false)
      gate.resolve()
      await busy
      expect(await limiter.run(async () => 'free')).toEqual({ value: 'free' })
    } finally {
      vi.useRealTimers()
    }
  })
})
