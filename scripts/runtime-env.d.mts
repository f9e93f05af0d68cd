export declare const jemallocPath: () => string | undefined
export declare const runtimeEnv: (
  base?: Record<string, string | undefined>,
) => Record<string, string | undefined>
export declare const runtimeNodeArgs: string[]
