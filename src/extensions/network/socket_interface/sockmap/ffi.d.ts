// Minimal local typings for the maintained ffi-napi/ref-napi forks (they ship none).
declare module '@2060.io/ffi-napi' {
  export type FfiSignature = [string, string[]];
  export type FfiFunction = (...args: unknown[]) => unknown;
  export function Library(name: string, functions: Record<string, FfiSignature>): Record<string, FfiFunction>;
  export function errno(): number;
}

declare module '@2060.io/ref-napi' {
  export function isNull(buffer: Buffer): boolean;
  export function address(buffer: Buffer): number;
}
