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
})
