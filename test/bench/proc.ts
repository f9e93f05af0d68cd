/** Process measurements from /proc (Linux): peak RSS of this process, and RSS/CPU of others. */
import { readFileSync, writeFileSync } from 'node:fs'

const statusField = (pid: number | 'self', field: string): number => {
  const match = readFileSync(`/proc/${pid}/status`, 'utf8').match(
    new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'),
  )
  return match ? Number(match[1]) * 1024 : 0
}

/** Resets this process's peak RSS (VmHWM) to its current RSS. */
export const resetPeakRss = (): void => {
  try {
    writeFileSync('/proc/self/clear_refs', '5')
  } catch {
    // not Linux, or not permitted: the peak then covers the whole process life
  }
}

export const peakRss = (pid: number | 'self' = 'self'): number => statusField(pid, 'VmHWM')
export const currentRss = (pid: number | 'self' = 'self'): number => statusField(pid, 'VmRSS')

/** This pid and all its descendants. */
export const processTree = (pid: number): number[] => {
  const out = [pid]
  try {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
    for (const child of children) out.push(...processTree(Number(child)))
  } catch {
    // gone
  }
  return out
}

/** Polls the summed RSS of a process tree until stopped; returns the highest sum seen. */
export const watchTreeRss = (pid: number, everyMs = 20): (() => number) => {
  let peak = 0
  const timer = setInterval(() => {
    let sum = 0
    for (const p of processTree(pid)) {
      try {
        sum += currentRss(p)
      } catch {
        // exited between listing and reading
      }
    }
    peak = Math.max(peak, sum)
  }, everyMs)
  return () => {
    clearInterval(timer)
    return peak
  }
}
