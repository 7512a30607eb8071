/**
 * Small hand-made SVG charts (no chart library): daily bars, a line, and a ratio gauge. Each has a
 * text alternative (a caption and an accessible table in a <details>) for people who do not see it.
 */
import type { ReactNode } from 'react';

export interface Series {
  label: string;
  color: string;
  values: number[];
}

const WIDTH = 640;
const HEIGHT = 160;
const PAD = { left: 36, right: 8, top: 10, bottom: 24 };

function niceMax(value: number): number {
  if (value <= 4) return Math.max(1, value);
  const magnitude = 10 ** Math.floor(Math.log10(value));
  return Math.ceil(value / magnitude) * magnitude;
}

function shortDate(date: string): string {
  return date.slice(5);
}

function DataTable({ labels, series }: { labels: string[]; series: Series[] }) {
  return (
    <details className="chart-data">
      <summary>Show as a table</summary>
      <table>
        <thead>
          <tr>
            <th>Day</th>
            {series.map((s) => (
              <th key={s.label}>{s.label}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {labels.map((label, index) => (
            <tr key={label}>
              <td>{label}</td>
              {series.map((s) => (
                <td key={s.label}>{s.values[index] ?? 0}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  );
}

function Legend({ series }: { series: Series[] }) {
  return (
    <div className="legend">
      {series.map((s) => (
        <span key={s.label}>
          <span className="swatch" style={{ background: s.color }} aria-hidden="true" /> {s.label}
        </span>
      ))}
    </div>
  );
}

function Axes({ max, labels }: { max: number; labels: string[] }) {
  // Whole numbers only: counts of people and logins have no halves.
  const ticks = Number.isInteger(max / 2) ? [0, max / 2, max] : [0, max];
  const innerHeight = HEIGHT - PAD.top - PAD.bottom;
  const step = (WIDTH - PAD.left - PAD.right) / Math.max(1, labels.length);
  const every = Math.max(1, Math.ceil(labels.length / 8));
  return (
    <g className="axes">
      {ticks.map((tick) => {
        const y = PAD.top + innerHeight - (tick / max) * innerHeight;
        return (
          <g key={tick}>
            <line x1={PAD.left} x2={WIDTH - PAD.right} y1={y} y2={y} stroke="#e3e7ed" />
            <text x={PAD.left - 6} y={y + 4} textAnchor="end" fontSize="11" fill="#5b6675">
              {Number.isInteger(tick) ? tick : tick.toFixed(1)}
            </text>
          </g>
        );
      })}
      {labels.map((label, index) =>
        index % every === 0 ? (
          <text
            key={label}
            x={PAD.left + step * index + step / 2}
            y={HEIGHT - 6}
            textAnchor="middle"
            fontSize="11"
            fill="#5b6675"
          >
            {shortDate(label)}
          </text>
        ) : null,
      )}
    </g>
  );
}

/** Stacked daily bars (e.g. logins succeeded and failed). */
export function StackedBars({
  title,
  labels,
  series,
}: {
  title: string;
  labels: string[];
  series: Series[];
}) {
  const totals = labels.map((_, index) => series.reduce((sum, s) => sum + (s.values[index] ?? 0), 0));
  const max = niceMax(Math.max(0, ...totals));
  const innerHeight = HEIGHT - PAD.top - PAD.bottom;
  const step = (WIDTH - PAD.left - PAD.right) / Math.max(1, labels.length);
  const barWidth = Math.max(2, step * 0.7);
  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <Legend series={series} />
      <svg
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        role="img"
        aria-label={`${title}: ${totals.reduce((a, b) => a + b, 0)} in total`}
      >
        <Axes max={max} labels={labels} />
        {labels.map((label, index) => {
          let base = PAD.top + innerHeight;
          return (
            <g key={label}>
              {series.map((s) => {
                const value = s.values[index] ?? 0;
                const height = (value / max) * innerHeight;
                base -= height;
                return value > 0 ? (
                  <rect
                    key={s.label}
                    x={PAD.left + step * index + (step - barWidth) / 2}
                    y={base}
                    width={barWidth}
                    height={height}
                    fill={s.color}
                  >
                    <title>{`${label}: ${value} ${s.label.toLowerCase()}`}</title>
                  </rect>
                ) : null;
              })}
            </g>
          );
        })}
      </svg>
      <DataTable labels={labels} series={series} />
    </figure>
  );
}

/** A daily line (e.g. active users). */
export function LineChart({ title, labels, series }: { title: string; labels: string[]; series: Series[] }) {
  const max = niceMax(Math.max(0, ...series.flatMap((s) => s.values)));
  const innerHeight = HEIGHT - PAD.top - PAD.bottom;
  const step = (WIDTH - PAD.left - PAD.right) / Math.max(1, labels.length);
  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <Legend series={series} />
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={title}>
        <Axes max={max} labels={labels} />
        {series.map((s) => {
          const points = s.values.map((value, index) => [
            PAD.left + step * index + step / 2,
            PAD.top + innerHeight - (value / max) * innerHeight,
          ]);
          return (
            <g key={s.label}>
              <polyline
                fill="none"
                stroke={s.color}
                strokeWidth="2"
                points={points.map((p) => p.join(',')).join(' ')}
              />
              {points.map(([x, y], index) => (
                <circle key={labels[index]} cx={x} cy={y} r="2.5" fill={s.color}>
                  <title>{`${labels[index]}: ${s.values[index]}`}</title>
                </circle>
              ))}
            </g>
          );
        })}
      </svg>
      <DataTable labels={labels} series={series} />
    </figure>
  );
}

/** A 0..1 ratio as a ring, with the number in the middle. */
export function RateRing({
  label,
  rate,
  detail,
}: {
  label: string;
  rate: number | null;
  detail?: ReactNode;
}) {
  const radius = 34;
  const circumference = 2 * Math.PI * radius;
  const value = rate ?? 0;
  const color = rate === null ? '#c9d3e0' : value >= 0.98 ? '#1d7a45' : value >= 0.9 ? '#b7791f' : '#b42318';
  return (
    <div className="ring">
      <svg
        viewBox="0 0 90 90"
        width="90"
        height="90"
        role="img"
        aria-label={`${label}: ${rate === null ? 'no data' : `${(value * 100).toFixed(1)}%`}`}
      >
        <circle cx="45" cy="45" r={radius} fill="none" stroke="#e8ecf1" strokeWidth="10" />
        <circle
          cx="45"
          cy="45"
          r={radius}
          fill="none"
          stroke={color}
          strokeWidth="10"
          strokeDasharray={`${circumference * value} ${circumference}`}
          transform="rotate(-90 45 45)"
        />
        <text x="45" y="50" textAnchor="middle" fontSize="15" fontWeight="700" fill="#1c2430">
          {rate === null ? '—' : `${Math.round(value * 100)}%`}
        </text>
      </svg>
      <div>
        <strong>{label}</strong>
        {detail ? <div className="muted small">{detail}</div> : null}
      </div>
    </div>
  );
}
