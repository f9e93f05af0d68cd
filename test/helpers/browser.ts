/** Debian's Chromium driven by playwright-core (no browser download). */
import { mkdir } from 'node:fs/promises'
import path from 'node:path'

import { type Browser, chromium, type Page } from 'playwright-core'

export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
]

export const launchChromium = (): Promise<Browser> =>
  chromium.launch({
    args: CHROMIUM_FLAGS,
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  })

export const ARTIFACTS_DIR = path.resolve('test/artifacts')

export const screenshot = async (page: Page, name: string): Promise<string> => {
  await mkdir(ARTIFACTS_DIR, { recursive: true })
  const file = path.join(ARTIFACTS_DIR, `${name}.png`)
  await page.screenshot({ fullPage: true, path: file })
  return file
}

/** Logs into the Payload admin at `base` and waits for the dashboard. */
export const logIn = async (
  page: Page,
  base: string,
  email: string,
  password: string,
): Promise<void> => {
  await page.goto(`${base}/admin/login`)
  await page.fill('#field-email', email)
  await page.fill('#field-password', password)
  await page.click('button[type="submit"]')
  await page.waitForURL((url) => url.pathname === '/admin' || url.pathname === '/admin/', {
    timeout: 120_000,
  })
}
