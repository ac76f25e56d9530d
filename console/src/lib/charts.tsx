// Small SVG charts (no chart library: a heat map, lines and interval bars are a few lines each).

export function pct(v: number | null | undefined, digits = 1): string {
  return v === null || v === undefined ? "—" : `${(v * 100).toFixed(digits)}%`;
}

/** A matrix of counts: rows ``from``, columns ``to``; the diagonal is what did not change. */
export function HeatMap({
  rows,
  cols,
  value,
  rowTitle,
  colTitle,
}: {
  rows: string[];
  cols: string[];
  value: (r: string, c: string) => number;
  rowTitle: string;
  colTitle: string;
}) {
  const cell = 84;
  const left = 110;
  const top = 46;
  const max = Math.max(1, ...rows.flatMap((r) => cols.map((c) => value(r, c))));
  return (
    <svg width={left + cols.length * cell + 10} height={top + rows.length * cell + 10} className="heatmap" data-testid="swap-heatmap">
      <text x={left + (cols.length * cell) / 2} y={14} textAnchor="middle" className="axis">
        {colTitle}
      </text>
      <text x={8} y={top - 8} className="axis">
        {rowTitle}
      </text>
      {cols.map((c, j) => (
        <text key={c} x={left + j * cell + cell / 2} y={top - 8} textAnchor="middle">
          {c}
        </text>
      ))}
      {rows.map((r, i) => (
        <g key={r}>
          <text x={left - 8} y={top + i * cell + cell / 2 + 4} textAnchor="end">
            {r}
          </text>
          {cols.map((c, j) => {
            const v = value(r, c);
            const share = v / max;
            const swap = r !== c;
            const fill = swap ? `rgba(217,72,15,${0.12 + 0.88 * share})` : `rgba(34,139,230,${0.1 + 0.6 * share})`;
            return (
              <g key={c}>
                <rect x={left + j * cell} y={top + i * cell} width={cell - 2} height={cell - 2} fill={fill} />
                <text x={left + j * cell + cell / 2} y={top + i * cell + cell / 2 + 4} textAnchor="middle" className="count">
                  {v.toLocaleString()}
                </text>
              </g>
            );
          })}
        </g>
      ))}
    </svg>
  );
}

export interface Series {
  name: string;
  points: { x: number; y: number | null; lo?: number | null; hi?: number | null }[];
  color?: string;
}

/** Lines over a numeric x axis, with an optional marked x (the slider's value). */
export function LineChart({
  series,
  width = 520,
  height = 220,
  marker,
  yFormat = (v: number) => pct(v, 0),
  xFormat = (v: number) => String(Math.round(v * 1000) / 1000),
  testId,
}: {
  series: Series[];
  width?: number;
  height?: number;
  marker?: number;
  yFormat?: (v: number) => string;
  xFormat?: (v: number) => string;
  testId?: string;
}) {
  const pad = { l: 48, r: 12, t: 12, b: 28 };
  const xs = series.flatMap((s) => s.points.map((p) => p.x));
  const ys = series.flatMap((s) => s.points.flatMap((p) => [p.y, p.lo, p.hi]).filter((v): v is number => typeof v === "number"));
  if (!xs.length || !ys.length) return <svg width={width} height={height} data-testid={testId} />;
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const [y0, y1] = [Math.min(0, ...ys), Math.max(...ys) * 1.05 || 1];
  const sx = (x: number) => pad.l + ((x - x0) / (x1 - x0 || 1)) * (width - pad.l - pad.r);
  const sy = (y: number) => height - pad.b - ((y - y0) / (y1 - y0 || 1)) * (height - pad.t - pad.b);
  const colors = ["#1c7ed6", "#e8590c", "#2f9e44", "#ae3ec9"];
  return (
    <svg width={width} height={height} className="linechart" data-testid={testId}>
      <line x1={pad.l} y1={height - pad.b} x2={width - pad.r} y2={height - pad.b} className="axis-line" />
      <line x1={pad.l} y1={pad.t} x2={pad.l} y2={height - pad.b} className="axis-line" />
      {[y0, (y0 + y1) / 2, y1].map((v, i) => (
        <text key={i} x={pad.l - 4} y={sy(v) + 4} textAnchor="end" className="tick">
          {yFormat(v)}
        </text>
      ))}
      {[x0, (x0 + x1) / 2, x1].map((v, i) => (
        <text key={i} x={sx(v)} y={height - 8} textAnchor="middle" className="tick">
          {xFormat(v)}
        </text>
      ))}
      {series.map((s, k) => {
        const color = s.color || colors[k % colors.length];
        const pts = s.points.filter((p) => p.y !== null);
        const d = pts.map((p, i) => `${i ? "L" : "M"}${sx(p.x)},${sy(p.y as number)}`).join(" ");
        return (
          <g key={s.name}>
            {pts.map((p, i) =>
              typeof p.lo === "number" && typeof p.hi === "number" ? (
                <line key={`ci${i}`} x1={sx(p.x)} x2={sx(p.x)} y1={sy(p.lo)} y2={sy(p.hi)} stroke={color} strokeOpacity={0.4} strokeWidth={6} />
              ) : null,
            )}
            <path d={d} fill="none" stroke={color} strokeWidth={2} />
            {pts.map((p, i) => (
              <circle key={i} cx={sx(p.x)} cy={sy(p.y as number)} r={3} fill={color} />
            ))}
            <text x={width - pad.r - 4} y={pad.t + 12 + k * 14} textAnchor="end" fill={color} className="legend">
              {s.name}
            </text>
          </g>
        );
      })}
      {marker !== undefined && <line x1={sx(marker)} x2={sx(marker)} y1={pad.t} y2={height - pad.b} className="marker" />}
    </svg>
  );
}

/** Horizontal interval bars: a rate with its confidence interval per arm. */
export function IntervalBars({ rows, testId }: { rows: { label: string; value: number | null; lo?: number | null; hi?: number | null }[]; testId?: string }) {
  const width = 520;
  const rowH = 28;
  const left = 120;
  const max = Math.max(0.01, ...rows.map((r) => r.hi ?? r.value ?? 0));
  const sx = (v: number) => left + (v / max) * (width - left - 60);
  return (
    <svg width={width} height={rows.length * rowH + 10} data-testid={testId}>
      {rows.map((r, i) => (
        <g key={r.label} transform={`translate(0,${i * rowH + 6})`}>
          <text x={left - 8} y={14} textAnchor="end">
            {r.label}
          </text>
          {r.value !== null && <rect x={left} y={4} width={sx(r.value) - left} height={14} fill="#74c0fc" />}
          {typeof r.lo === "number" && typeof r.hi === "number" && (
            <line x1={sx(r.lo)} x2={sx(r.hi)} y1={11} y2={11} stroke="#1864ab" strokeWidth={2} />
          )}
          <text x={sx(r.hi ?? r.value ?? 0) + 6} y={15} className="tick">
            {pct(r.value)}
          </text>
        </g>
      ))}
    </svg>
  );
}
