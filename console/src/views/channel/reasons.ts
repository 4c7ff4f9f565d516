// Why a distributor is listed, in words: each reason code of the channel health lists
// (dormant, gmv_drop, refund_rate, low_conversion) with the figures and the threshold
// behind it ("30 天 GMV 比前 30 天下降 62%").
import type { components } from "../../api/schema";
import { i18n } from "../../i18n";
import { percent, yuan } from "../../format";

export type HealthRow = components["schemas"]["HealthRow"];
export type HealthFigures = components["schemas"]["HealthFigures"];
export type ChannelSettings = components["schemas"]["ChannelSettings"];
export type DistributorHealth = components["schemas"]["DistributorHealth"];
export type ChannelAction = "warn" | "freeze" | "unfreeze" | "revoke" | "restore";
export type ListKind = "dormant" | "at_risk";

/** The drop of the last 30 days' GMV against the 30 days before, in whole percent (null: nothing before). */
export function gmvDrop(f: HealthFigures): number | null {
  const prev = f.gmv_prev_30d_fen ?? 0;
  if (prev <= 0) return null;
  return Math.round(((prev - (f.gmv_30d_fen ?? 0)) * 100) / prev);
}

export function reasonText(code: string, f: HealthFigures, s: ChannelSettings | null): string {
  const { t, te } = i18n.global;
  switch (code) {
    case "dormant":
      return f.days_since_last_sale == null
        ? t("channel.reasons.dormant_never", { limit: s?.dormant_days ?? "—" })
        : t("channel.reasons.dormant", { n: f.days_since_last_sale, limit: s?.dormant_days ?? "—" });
    case "gmv_drop":
      return t("channel.reasons.gmv_drop", { pct: gmvDrop(f) ?? "—", now: yuan(f.gmv_30d_fen), before: yuan(f.gmv_prev_30d_fen) });
    case "refund_rate":
      return t("channel.reasons.refund_rate", { rate: percent(f.refund_rate_bp), limit: percent(s?.refund_rate_bp) });
    case "low_conversion":
      return t("channel.reasons.low_conversion", { rate: percent(f.conversion_bp ?? 0), orders: f.share_orders_30d ?? 0,
        visits: f.visits_30d ?? 0, limit: percent(s?.min_conversion_bp) });
    default:
      return te(`channel.reason_names.${code}`) ? t(`channel.reason_names.${code}`) : code;
  }
}

export const REASON_TAG: Record<string, "danger" | "warning" | "info"> = {
  dormant: "info", gmv_drop: "warning", refund_rate: "danger", low_conversion: "warning",
};

/** The actions that make sense for a distributor in this state. */
export function actionsFor(frozen: boolean | undefined, status: string | undefined): ChannelAction[] {
  if (status === "disabled") return frozen ? ["unfreeze", "restore"] : ["restore"];
  return ["warn", frozen ? "unfreeze" : "freeze", "revoke"];
}
