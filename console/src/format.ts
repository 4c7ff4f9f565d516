// How money, rates and times read in the console: fen as yuan with two decimals,
// basis points as percent, instants in the shop's time zone (Asia/Shanghai).
const SHOP_TZ = "Asia/Shanghai";

export function yuan(fen: number | null | undefined): string {
  if (fen === null || fen === undefined) return "—";
  const sign = fen < 0 ? "-" : "";
  const abs = Math.abs(fen);
  const whole = Math.floor(abs / 100).toLocaleString("en-US");
  return `${sign}¥${whole}.${String(abs % 100).padStart(2, "0")}`;
}

/** "12.34" (what an operator types) → 1234 fen; null when it is not an amount. */
export function toFen(text: string): number | null {
  const m = /^\s*(\d+)(?:\.(\d{1,2}))?\s*$/.exec(text);
  if (!m) return null;
  return Number(m[1]) * 100 + Number((m[2] ?? "").padEnd(2, "0"));
}

export function percent(bp: number | null | undefined): string {
  if (bp === null || bp === undefined) return "—";
  return `${(bp / 100).toFixed(2).replace(/\.?0+$/, "")}%`;
}

export function when(iso: string | null | undefined): string {
  if (!iso) return "—";
  return new Date(iso).toLocaleString("zh-CN", { timeZone: SHOP_TZ, hour12: false });
}

export function day(iso: string | null | undefined): string {
  if (!iso) return "—";
  return new Date(iso).toLocaleDateString("zh-CN", { timeZone: SHOP_TZ });
}
