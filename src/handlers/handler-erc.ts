import { Facility, HandlerComponent, makeExtendedResultCode } from '../model/result-codes.js';

/**
 * An extended result code of a bus handler from its value: facility 3 (content handler), component 32
 * (EXTERNAL), so 0x501 is 0x32000501. Each handler has its own value block (docs/result-codes.md).
 */
export function handlerErc(value: number): number {
  return makeExtendedResultCode(Facility.UpdateContentHandler, HandlerComponent.External, value);
}

/**
 * A bus handler's table of extended result codes from their values (`handlerErc`): `{ NoPort: 0x501 }`
 * is `{ NoPort: 0x32000501 }`. The doc comment on each entry is what `scripts/gen-result-codes.mjs`
 * writes into docs/result-codes.md.
 */
export function ercTable<T extends Record<string, number>>(values: T): { readonly [K in keyof T]: number } {
  const table: Record<string, number> = {};
  for (const [name, value] of Object.entries(values)) table[name] = handlerErc(value);
  return Object.freeze(table) as { readonly [K in keyof T]: number };
}
