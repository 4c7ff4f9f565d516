// Tiers as an operator types them: "from attainment % → bonus %", each a percent with up
// to two decimals. Attainment may pass 100 % (up to 1000 %), a bonus is at most 50 %
// (the API's bounds). Whether the tiers increase is the API's rule (TARGET_TIERS_INVALID).
import { percent } from "../../format";

export interface TierText { from: string; bonus: string }
export interface Tier { attainment_bp: number; bonus_bp: number }

export const ATTAINMENT_MAX_BP = 100_000;
export const BONUS_MAX_BP = 5_000;

/** "120" / "12.5" → basis points, or null when it is not a percent within 0..max. */
export function toBp(text: string, maxBp: number): number | null {
  const m = /^\s*(\d{1,4})(?:\.(\d{1,2}))?\s*$/.exec(text ?? "");
  if (!m) return null;
  const bp = Number(m[1]) * 100 + Number((m[2] ?? "").padEnd(2, "0"));
  return bp <= maxBp ? bp : null;
}

export const tierText = (t: Tier): TierText => ({ from: String(t.attainment_bp / 100), bonus: String(t.bonus_bp / 100) });

/** The highest tier a month's attainment reached (null: none). */
export function reached(tiers: Tier[] | undefined, attainmentBp: number | undefined): Tier | null {
  let best: Tier | null = null;
  for (const t of tiers ?? []) if ((attainmentBp ?? 0) >= t.attainment_bp) best = t;
  return best;
}

export const tierLabel = (t: Tier) => `≥ ${percent(t.attainment_bp)} → +${percent(t.bonus_bp)}`;
