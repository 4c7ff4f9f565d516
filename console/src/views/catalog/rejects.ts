// What was wrong with a refused import row, in the operator's language. The report gives
// a row, a column and the importer's English reason (backend/catalog/importer.py) but no
// code: the reason's known phrasings are mapped to a kind here, the reason itself is
// shown beside it (and alone when no phrasing matches).
const KINDS: [RegExp, string][] = [
  [/^missing$/, "missing"],
  [/longer than \d+ characters/, "too_long"],
  [/^unknown package/, "unknown_package"],
  [/^unknown dielectric/, "unknown_dielectric"],
  [/^not a (capacitance|resistance|voltage|power|tolerance)/, "bad_value"],
  [/^finer than/, "too_fine"],
  [/negative price/, "negative_price"],
  [/more than six decimals/, "too_many_decimals"],
  [/goes down in quantity|must increase/, "tiers_down"],
  [/not a tier|no price break|^not a price/, "bad_tiers"],
  [/unit price rises/, "price_rises"],
  [/first price break starts at/, "first_not_moq"],
  [/not a multiple/, "not_multiple"],
  [/the same part as row/, "duplicate"],
  [/^below \d+/, "too_small"],
  [/^one of active/, "bad_lifecycle"],
  [/^not a (whole )?number/, "not_number"],
  [/cell too large/, "cell_too_large"],
];

/** The kind of a refusal (an i18n key under catalog_import.kinds), or null when unknown. */
export function rejectKind(reason: string | null | undefined): string | null {
  const text = reason ?? "";
  for (const [pattern, kind] of KINDS) if (pattern.test(text)) return kind;
  return null;
}

export const REJECT_KINDS = KINDS.map(([, kind]) => kind);
