/**
 * The chart's bottom panel: the project's figures as ratios of their references (one bar each, log
 * scale, 1 = the reference), with the target as a tick where there is one; green when met, red when
 * not, grey without a target.
 */

export interface Bar {
  /** "what / against what". */
  label: string;
  value: number | null;
  /** The target on the same scale, or null. */
  target: number | null;
  met: boolean | null;
  /** Shown at the right of the bar. */
  text: string;
}

const ROW = 22;
const LO = 0.01;
const HI = 100;

export const barsHeight = (bars: readonly Bar[]) => 56 + bars.length * ROW;

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const f = (x: number) => (Math.round(x * 10) / 10).toString();

export function barsPanel(bars: readonly Bar[], x0: number, y0: number, w: number): string {
  const labelW = 300;
  const textW = 290;
  const bx = x0 + labelW;
  const bw = w - labelW - textW;
  const sx = (v: number) =>
    bx + ((Math.log10(Math.min(HI, Math.max(LO, v))) - Math.log10(LO)) / Math.log10(HI / LO)) * bw;
  const top = y0 + 14;
  const h = bars.length * ROW;
  let out = `<text x="${x0}" y="${y0 - 10}" font-size="13" font-weight="bold">The project as a ratio of its references (log scale; 1 = the reference; tick = target)</text>`;
  for (const d of [0.01, 0.1, 1, 10, 100]) {
    out += `<line x1="${f(sx(d))}" y1="${top}" x2="${f(sx(d))}" y2="${top + h}" stroke="${d === 1 ? '#888' : '#ddd'}"/>`;
    out += `<text x="${f(sx(d))}" y="${top + h + 14}" font-size="10" text-anchor="middle">${d}x</text>`;
  }
  bars.forEach((b, i) => {
    const y = top + i * ROW;
    const color = b.met === null ? '#999' : b.met ? '#2ca02c' : '#d62728';
    out += `<text x="${x0}" y="${y + 15}" font-size="11">${esc(b.label)}</text>`;
    if (b.value !== null && Number.isFinite(b.value) && b.value > 0) {
      const [a, c] = [sx(1), sx(b.value)].sort((p, q) => p - q) as [number, number];
      out += `<rect x="${f(a)}" y="${y + 5}" width="${f(Math.max(1, c - a))}" height="${ROW - 9}" fill="${color}" opacity="0.75"/>`;
    }
    if (b.target !== null) {
      out += `<line x1="${f(sx(b.target))}" y1="${y + 2}" x2="${f(sx(b.target))}" y2="${y + ROW - 1}" stroke="#000" stroke-width="2"/>`;
    }
    out += `<text x="${bx + bw + 8}" y="${y + 15}" font-size="11" fill="${color}">${esc(b.text)}</text>`;
  });
  return out;
}
