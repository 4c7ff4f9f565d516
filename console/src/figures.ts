// How report figures read: a ratio (0.1234) as percent, a duration in seconds in words.
import { i18n } from "./i18n";

export function ratio(value: number | null | undefined, digits = 1): string {
  if (value === null || value === undefined || Number.isNaN(value)) return "—";
  return `${(value * 100).toFixed(digits)}%`;
}

export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return "—";
  const { t } = i18n.global;
  if (seconds < 60) return t("figures.seconds", { n: Math.round(seconds) });
  if (seconds < 3600) return t("figures.minutes", { n: (seconds / 60).toFixed(1).replace(/\.0$/, "") });
  if (seconds < 86_400) return t("figures.hours", { n: (seconds / 3600).toFixed(1).replace(/\.0$/, "") });
  return t("figures.days", { n: (seconds / 86_400).toFixed(1).replace(/\.0$/, "") });
}
