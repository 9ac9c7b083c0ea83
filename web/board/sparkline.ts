/**
 * An inline SVG sparkline of signed movement deltas: one bar per movement, up (green) for units
 * added, down (red) for units removed, around a zero line. Scaled to the largest |delta| shown.
 */
const SVG = 'http://www.w3.org/2000/svg';

function el<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

export function sparkline(deltas: number[], opts: { width: number; height: number; label: string; slots?: number }): SVGSVGElement {
  const { width, height } = opts;
  const slots = Math.max(opts.slots ?? 30, deltas.length);
  const svg = el('svg', { class: 'sparkline', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': opts.label });
  svg.append(el('title', {}));
  svg.firstChild!.textContent = opts.label;
  const mid = height / 2;
  svg.append(el('line', { class: 'spark-zero', x1: 0, x2: width, y1: mid, y2: mid }));
  const max = Math.max(1, ...deltas.map((d) => Math.abs(d)));
  const step = width / slots;
  const barW = Math.max(1, step - 1);
  // Right-aligned: the newest movement is at the right edge.
  const x0 = width - deltas.length * step;
  deltas.forEach((d, i) => {
    const h = Math.max(1, (Math.abs(d) / max) * (mid - 1));
    svg.append(
      el('rect', {
        class: d >= 0 ? 'spark-up' : 'spark-down',
        x: (x0 + i * step).toFixed(2),
        y: (d >= 0 ? mid - h : mid).toFixed(2),
        width: barW.toFixed(2),
        height: h.toFixed(2),
      }),
    );
  });
  return svg;
}
