declare module 's3rver' {
  type BucketConfig = { configs: Array<Buffer | string>; name: string }
  type Options = {
    address?: string
    allowMismatchedSignatures?: boolean
    configureBuckets?: BucketConfig[]
    directory: string
    port?: number
    resetOnClose?: boolean
    silent?: boolean
  }
  /** The Koa context s3rver's middleware receives (the parts the tests use). */
  type Context = {
    body: unknown
    get: (header: string) => string
    path: string
    query: Record<string, string | string[] | undefined>
    status: number
    type: string
  }
  export default class S3rver {
    constructor(options: Options)
    /** Koa's middleware stack (s3rver is a Koa application). */
    middleware: Array<(ctx: Context, next: () => Promise<void>) => Promise<void>>
    run(): Promise<{ address: string; port: number }>
    close(): Promise<void>
  }
}
