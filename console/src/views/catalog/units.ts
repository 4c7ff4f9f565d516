// The part master's integer units as a person reads them (docs/catalog.md): capacitance
// in femtofarad, voltage in millivolt, resistance in milliohm, power in milliwatt, and
// unit prices as the API's yuan strings with six places (micro-yuan). All of it with
// integers and string digits: never a float, so 0.0065 stays 0.0065.
import type { components } from "../../api/schema";

type Part = components["schemas"]["CatalogPart"];
type Break = components["schemas"]["PriceBreak"];

/** An integer in small units over a power of ten, as decimal text without trailing zeros. */
function scaled(value: number, exponent: number): string {
  const negative = value < 0;
  const digits = String(Math.abs(Math.trunc(value))).padStart(exponent + 1, "0");
  const whole = exponent ? digits.slice(0, -exponent) : digits;
  const frac = exponent ? digits.slice(-exponent).replace(/0+$/, "") : "";
  return `${negative ? "-" : ""}${whole}${frac ? `.${frac}` : ""}`;
}

/** The largest unit in which the value is at least 1 (fine units keep it exact). */
function withUnit(value: number, units: [number, string][]): string {
  for (const [exponent, unit] of units) {
    if (Math.abs(value) >= 10 ** exponent) return `${scaled(value, exponent)}${unit}`;
  }
  const [exponent, unit] = units[units.length - 1];
  return `${scaled(value, exponent)}${unit}`;
}

export const capacitance = (ff: number) => withUnit(ff, [[12, "mF"], [9, "µF"], [6, "nF"], [3, "pF"], [0, "fF"]]);
export const voltage = (mv: number) => withUnit(mv, [[6, "kV"], [3, "V"], [0, "mV"]]);
export const resistance = (mohm: number) => withUnit(mohm, [[9, "MΩ"], [6, "kΩ"], [3, "Ω"], [0, "mΩ"]]);
export function power(mw: number): string {
  const fractions: Record<number, string> = { 31: "1/32W", 50: "1/20W", 63: "1/16W", 100: "1/10W",
    125: "1/8W", 250: "1/4W", 500: "1/2W" };
  return fractions[mw] ?? withUnit(mw, [[3, "W"], [0, "mW"]]);
}
export const tolerance = (tol: string) => (/^[\d.]/.test(tol) ? `±${tol}` : tol);

/** A part's key parameters on one line: "100nF 16V X7R ±10%", "10kΩ 1/16W ±1%". */
export function keyParams(part: Part | null | undefined): string {
  if (!part) return "";
  const out: string[] = [];
  if (part.capacitance_ff != null) out.push(capacitance(part.capacitance_ff));
  if (part.resistance_mohm != null) out.push(resistance(part.resistance_mohm));
  if (part.voltage_mv != null) out.push(voltage(part.voltage_mv));
  if (part.power_mw != null) out.push(power(part.power_mw));
  if (part.dielectric) out.push(part.dielectric);
  if (part.tolerance) out.push(tolerance(part.tolerance));
  for (const p of part.params ?? []) out.push(`${p.name}: ${p.value}`);
  return out.join(" ");
}

/** A group's spec ("mlcc|0402|100000000|16000|X7R|10%") as its key parameters. */
export function specParams(spec: string | null | undefined): string {
  const [category, , ...rest] = (spec ?? "").split("|");
  const n = (s: string | undefined) => (s && /^-?\d+$/.test(s) ? Number(s) : null);
  const out: (string | null)[] = [];
  if (category === "mlcc") {
    const [cap, volt, diel, tol] = rest;
    out.push(n(cap) != null ? capacitance(n(cap)!) : null, n(volt) != null ? voltage(n(volt)!) : null,
      diel || null, tol ? tolerance(tol) : null);
  } else if (category === "chip_resistor") {
    const [res, pow, tol] = rest;
    out.push(n(res) != null ? resistance(n(res)!) : null, n(pow) != null ? power(n(pow)!) : null, tol ? tolerance(tol) : null);
  } else {
    out.push(...rest);
  }
  return out.filter(Boolean).join(" ");
}

/** "0.006500" (yuan, six places) → "¥0.0065"; at least two decimals, never rounded. */
export function unitPrice(text: string | null | undefined): string {
  if (!text) return "—";
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text.trim());
  if (!m) return text;
  const whole = Number(m[2]).toLocaleString("en-US");
  const frac = (m[3] ?? "").replace(/0+$/, "").padEnd(2, "0");
  return `${m[1]}¥${whole}.${frac}`;
}

/** Price breaks as "1+ ¥0.0065 / 1,000+ ¥0.005". */
export function breaksText(breaks: Break[] | null | undefined): string {
  return (breaks ?? []).map((b) => `${(b.min_qty ?? 0).toLocaleString("en-US")}+ ${unitPrice(b.unit_price)}`).join(" / ");
}

export const count = (n: number | null | undefined) => (n ?? 0).toLocaleString("en-US");
