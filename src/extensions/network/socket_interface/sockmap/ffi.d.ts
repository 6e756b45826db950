// Minimal local typings for the maintained ffi-napi/ref-napi forks (they ship none). Only what
// libbpf.ts uses: the low-level CIF + ffi_call path (the high-level Library() proxy costs about
// 3 us per argument here, the direct path about 1.5 us per call).
declare module '@2060.io/ffi-napi' {
  export class DynamicLibrary {
    constructor(path: string, mode?: number);
    get(symbol: string): Buffer;
  }
  export function CIF(returnType: string, argTypes: string[]): Buffer;
  export function errno(): number;
}

declare module '@2060.io/ffi-napi/lib/bindings' {
  export function ffi_call(cif: Buffer, fn: Buffer, result: Buffer, argv: Buffer): void;
}

declare module '@2060.io/ref-napi' {
  export function address(buffer: Buffer): number;
}
