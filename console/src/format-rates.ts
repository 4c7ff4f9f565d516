// Rates as an operator types them: percent with up to two decimals ("12.5" → 1250 bp).
export function percentToBp(text: string): number | null {
  const m = /^\s*(\d{1,3})(?:\.(\d{1,2}))?\s*$/.exec(text);
  if (!m) return null;
  const bp = Number(m[1]) * 100 + Number((m[2] ?? "").padEnd(2, "0"));
  return bp <= 10000 ? bp : null;
}

/** bp → the percent an operator edits ("" for none). */
export function bpToPercentText(bp: number | null | undefined): string {
  return bp === null || bp === undefined ? "" : String(bp / 100);
}
