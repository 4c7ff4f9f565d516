// Words the finance price pages share: billing cycles and their cut-off, PO states, policies.
import { i18n } from "../../i18n";

export type Cycle = "weekly" | "semi_monthly" | "monthly";
export const CYCLES: Cycle[] = ["monthly", "semi_monthly", "weekly"];
export type Policy = "po" | "price_list" | "latest_po";
export const POLICIES: Policy[] = ["price_list", "latest_po", "po"];
export const PO_STATES = ["open", "partial", "received"] as const;

/** "每月最后一天" / "每周日" / "15 日及月末": the cut-off as finance reads it. */
export function cutoffText(cycle: string | undefined, day: number | undefined): string {
  const { t } = i18n.global;
  if (cycle === "weekly") return t("pricing.cutoff.weekly", { day: t(`pricing.weekdays.${day || 7}`) });
  if (cycle === "semi_monthly") return t("pricing.cutoff.semi_monthly", { day: day || 15 });
  return day ? t("pricing.cutoff.monthly_day", { day }) : t("pricing.cutoff.monthly_end");
}

/** A decimal price text as a number of micro-units (exact for 6 decimals), for comparing. */
export function micros(text: string | null | undefined): bigint {
  if (!text) return 0n;
  const m = /^(-?)(\d+)(?:\.(\d{1,6}))?$/.exec(text.trim());
  if (!m) return 0n;
  const v = BigInt(m[2]) * 1000000n + BigInt((m[3] ?? "").padEnd(6, "0"));
  return m[1] ? -v : v;
}

const COLUMNS = ["part_no", "brand", "unit_price", "package", "description", "qty", "number", "date", "customer_code", "currency"];
/** A file column as the page names it (型号 for part_no…); an unknown one as the file wrote it. */
export function columnLabel(column: string | undefined): string {
  return column && COLUMNS.includes(column) ? i18n.global.t(`pricing.columns.${column}`) : column ?? "";
}
