// Days as the shop counts them (Asia/Shanghai), as "YYYY-MM-DD" strings: what the
// report endpoints take (`from` inclusive, `to` exclusive).
const SHOP_TZ = "Asia/Shanghai";

export function shopToday(): string {
  return new Intl.DateTimeFormat("en-CA", { timeZone: SHOP_TZ, year: "numeric", month: "2-digit", day: "2-digit" })
    .format(new Date());
}

export function addDays(day: string, n: number): string {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

/** The last `n` shop days, today included: [first, last] (both inclusive). */
export function lastDays(n: number): [string, string] {
  const today = shopToday();
  return [addDays(today, 1 - n), today];
}

/** The last `n` closed shop days, yesterday the last: [first, last] (both inclusive). */
export function closedDays(n: number): [string, string] {
  const today = shopToday();
  return [addDays(today, -n), addDays(today, -1)];
}
