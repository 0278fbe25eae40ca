/**
 * Latency percentiles against offered load, hand-written SVG: both axes logarithmic (rates double
 * per step; latencies span sub-millisecond to seconds). p50 solid, p99 dashed, one colour per
 * target; a filled point held (p99 within the bound, nothing lost), a hollow one did not.
 */
import type { BenchResults } from './results.js';

const COLOURS: Record<string, string> = { service: '#1f77b4', rabbitmq: '#ff7f0e', ceiling: '#2ca02c' };
const WIDTH = 760;
const HEIGHT = 460;
const MARGIN = { left: 70, right: 190, top: 40, bottom: 56 };

const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function renderLatencyPlot(results: BenchResults, boundMs: number): string {
  const series = results.targets
    .filter((target) => target.fanout && target.fanout.steps.length > 0)
    .map((target) => ({
      name: target.name,
      label: target.label,
      // A rate measured twice (rerun after interference) is drawn with its last measurement.
      steps: [...new Map(target.fanout!.steps.filter((step) => step.latency).map((step) => [step.offeredRate, step])).values()].sort(
        (a, b) => a.offeredRate - b.offeredRate,
      ),
    }));
  const rates = series.flatMap((entry) => entry.steps.map((step) => step.offeredRate));
  const latencies = series.flatMap((entry) => entry.steps.flatMap((step) => [step.latency!.p50, step.latency!.p99]));
  if (rates.length === 0) {
    return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="80"><text x="10" y="40" font-family="sans-serif">No fan-out steps were measured.</text></svg>\n`;
  }

  const xMin = Math.log2(Math.min(...rates)) - 0.3;
  const xMax = Math.log2(Math.max(...rates)) + 0.3;
  const yMin = Math.floor(Math.log10(Math.max(0.1, Math.min(...latencies))));
  const yMax = Math.ceil(Math.log10(Math.max(boundMs * 2, ...latencies)));
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const x = (rate: number) => MARGIN.left + ((Math.log2(rate) - xMin) / (xMax - xMin)) * plotWidth;
  const y = (ms: number) => MARGIN.top + plotHeight - ((Math.log10(Math.max(ms, 10 ** yMin)) - yMin) / (yMax - yMin)) * plotHeight;

  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
  );
  parts.push(`<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`);
  parts.push(
    `<text x="${MARGIN.left}" y="22" font-size="14" font-weight="bold">Fan-out latency against offered load (${escapeXml(results.startedAt.slice(0, 16).replace('T', ' '))} UTC)</text>`,
  );

  for (let exponent = yMin; exponent <= yMax; exponent += 1) {
    const value = 10 ** exponent;
    const at = y(value);
    parts.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotWidth}" y1="${at}" y2="${at}" stroke="#ddd"/>`);
    parts.push(`<text x="${MARGIN.left - 8}" y="${at + 4}" text-anchor="end">${value >= 1 ? value : value.toFixed(1)}</text>`);
  }
  const ticks = [...new Set(rates)].sort((a, b) => a - b);
  for (const rate of ticks) {
    const at = x(rate);
    parts.push(`<line x1="${at}" x2="${at}" y1="${MARGIN.top}" y2="${MARGIN.top + plotHeight}" stroke="#eee"/>`);
    parts.push(
      `<text x="${at}" y="${MARGIN.top + plotHeight + 16}" text-anchor="middle">${rate >= 1000 ? `${rate / 1000}k` : rate}</text>`,
    );
  }
  parts.push(`<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotWidth}" height="${plotHeight}" fill="none" stroke="#333"/>`);
  parts.push(
    `<text x="${MARGIN.left + plotWidth / 2}" y="${HEIGHT - 14}" text-anchor="middle">offered SENDs per second (log scale)</text>`,
  );
  parts.push(
    `<text transform="translate(18 ${MARGIN.top + plotHeight / 2}) rotate(-90)" text-anchor="middle">end-to-end latency, ms (log scale)</text>`,
  );

  const boundY = y(boundMs);
  parts.push(
    `<line x1="${MARGIN.left}" x2="${MARGIN.left + plotWidth}" y1="${boundY}" y2="${boundY}" stroke="#c00" stroke-dasharray="2 3"/>`,
  );
  parts.push(`<text x="${MARGIN.left + plotWidth - 4}" y="${boundY - 4}" text-anchor="end" fill="#c00">p99 bound ${boundMs} ms</text>`);

  for (const entry of series) {
    const colour = COLOURS[entry.name] ?? '#555';
    for (const [key, dash] of [
      ['p50', ''],
      ['p99', ' stroke-dasharray="6 4"'],
    ] as const) {
      const points = entry.steps.map((step) => `${x(step.offeredRate).toFixed(1)},${y(step.latency![key]).toFixed(1)}`).join(' ');
      parts.push(`<polyline points="${points}" fill="none" stroke="${colour}" stroke-width="2"${dash}/>`);
      for (const step of entry.steps) {
        const fill = step.held ? colour : 'white';
        parts.push(
          `<circle cx="${x(step.offeredRate).toFixed(1)}" cy="${y(step.latency![key]).toFixed(1)}" r="3.5" fill="${fill}" stroke="${colour}" stroke-width="1.5"><title>${escapeXml(entry.label)} ${key} at ${step.offeredRate}/s: ${step.latency![key]} ms${step.held ? '' : ` (not held: ${escapeXml(step.reason ?? '')})`}</title></circle>`,
        );
      }
    }
  }

  const legendX = MARGIN.left + plotWidth + 16;
  let legendY = MARGIN.top + 10;
  for (const entry of series) {
    const colour = COLOURS[entry.name] ?? '#555';
    parts.push(`<text x="${legendX}" y="${legendY}" font-weight="bold" fill="${colour}">${escapeXml(entry.label)}</text>`);
    legendY += 16;
    parts.push(
      `<line x1="${legendX}" x2="${legendX + 24}" y1="${legendY - 4}" y2="${legendY - 4}" stroke="${colour}" stroke-width="2"/><text x="${legendX + 30}" y="${legendY}">p50</text>`,
    );
    legendY += 16;
    parts.push(
      `<line x1="${legendX}" x2="${legendX + 24}" y1="${legendY - 4}" y2="${legendY - 4}" stroke="${colour}" stroke-width="2" stroke-dasharray="6 4"/><text x="${legendX + 30}" y="${legendY}">p99</text>`,
    );
    legendY += 24;
  }
  parts.push(`<text x="${legendX}" y="${legendY}" fill="#555">hollow point: step</text>`);
  parts.push(`<text x="${legendX}" y="${legendY + 14}" fill="#555">did not hold</text>`);
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
