// Status values as the operator reads them: a translated label and an el-tag colour.
import { i18n } from "./i18n";

type TagType = "success" | "warning" | "danger" | "info" | "primary";

const TYPES: Record<string, Record<string, TagType>> = {
  distributor: { none: "info", pending: "warning", approved: "success", disabled: "danger" },
  order: { pending_payment: "info", paid: "success", shipped: "primary", completed: "success",
    cancelled: "info", refunded: "danger", partially_refunded: "warning" },
  commission: { pending: "warning", available: "success", withdrawn: "primary", reversed: "danger" },
  payout: { pending: "info", in_wallet: "primary", submitting: "warning", wait_user_confirm: "warning",
    processing: "warning", succeeded: "success", failed: "danger", cancelled: "info", expired: "info" },
  refund: { processing: "warning", succeeded: "success", failed: "danger" },
  risk: { pending: "warning", approved: "success", rejected: "danger" },
  target_bonus: { paid: "success", none: "info", partly_reversed: "warning", reversed: "danger" },
  lifecycle: { active: "success", nrnd: "warning", eol: "danger" },
  substitute_group: { proposed: "warning", approved: "success", rejected: "info" },
  catalog_import: { queued: "info", running: "primary", done: "success", failed: "danger" },
};

/** The label of a status value (`labels.<kind>.<value>`), or the raw value when unknown. */
export function statusLabel(kind: string, value: string | null | undefined): string {
  if (!value) return "—";
  const key = `labels.${kind}.${value}`;
  return i18n.global.te(key) ? i18n.global.t(key) : value;
}

export function statusType(kind: string, value: string | null | undefined): TagType {
  return (value && TYPES[kind]?.[value]) || "info";
}

export function statusOptions(kind: string): { value: string; label: string }[] {
  return Object.keys(TYPES[kind] ?? {}).map((value) => ({ value, label: statusLabel(kind, value) }));
}

/** What a payout or withdrawal waits for: the code translated, else the API's own words. */
export function waitingLabel(code: string | null | undefined, text: string | null | undefined): string {
  if (!code) return text || "—";
  const key = `labels.waiting_for.${code}`;
  return i18n.global.te(key) ? i18n.global.t(key) : text || code;
}
