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
  export default class S3rver {
    constructor(options: Options)
    run(): Promise<{ address: string; port: number }>
    close(): Promise<void>
  }
}
