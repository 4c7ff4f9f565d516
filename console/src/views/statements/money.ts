// Statement money as finance reads it: integer cents in their currency, thousands separated.
const SYMBOLS: Record<string, string> = { CNY: "¥", USD: "$", EUR: "€", HKD: "HK$" };

export function money(cents: number | null | undefined, currency = "CNY"): string {
  if (cents === null || cents === undefined) return "—";
  const sign = cents < 0 ? "-" : "";
  const abs = Math.abs(cents);
  const whole = Math.floor(abs / 100).toLocaleString("en-US");
  const symbol = SYMBOLS[currency] ?? `${currency} `;
  return `${sign}${symbol}${whole}.${String(abs % 100).padStart(2, "0")}`;
}

/** Totals per currency on one line: "¥1,234.00 · $5.00". */
export function totalsText(totals: { currency?: string; amount_cents?: number }[] | undefined): string {
  if (!totals || totals.length === 0) return "—";
  return totals.map((x) => money(x.amount_cents, x.currency)).join(" · ");
}

/** Run and statement states that are still moving: the page polls while it sees one. */
export const MOVING = ["queued", "generating", "sending"];
