import test from 'ava';
import { escapeXml, renderChart } from '../bench/chart.js';
import { formatRatio, formatResults, formatTargets, isMet, median, rates, ratioOf, summarize, type Measurement, type TargetCheck } from '../bench/report.js';

const GB = 1e9;
const MiB = 1024 * 1024;

/** Runs of `bytes` at these MB/s rates, as the seconds the harness records. */
function at(bytes: number, ...mbPerSecond: number[]): number[] {
  return mbPerSecond.map((rate) => bytes / 1e6 / rate);
}

function m(workload: string, tool: string, mbPerSecond: number[], extra: Partial<Measurement> = {}, bytes = GB): Measurement {
  return { workload, tool, bytes, seconds: at(bytes, ...mbPerSecond), ...extra };
}

// ---------------------------------------------------------------------------------------------
// A strict little XML reader: enough to prove the SVG is well-formed (balanced, quoted attributes,
// no bare & or <) and to query it, without adding a dependency.

interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: Array<XmlElement | string>;
}

const NAME = '[A-Za-z_][\\w.:-]*';
const OPEN_TAG = new RegExp(`<(${NAME})((?:\\s+${NAME}\\s*=\\s*(?:"[^"]*"|'[^']*'))*)\\s*(/?)>`, 'y');
const CLOSE_TAG = new RegExp(`</(${NAME})\\s*>`, 'y');
const ATTRIBUTE = new RegExp(`(${NAME})\\s*=\\s*(?:"([^"]*)"|'([^']*)')`, 'g');
const ENTITY = /&(?:amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);/y;
const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decode(raw: string, where: number): string {
  if (raw.includes('<')) throw new Error(`a raw < at ${where}`);
  for (let k = raw.indexOf('&'); k >= 0; k = raw.indexOf('&', k + 1)) {
    ENTITY.lastIndex = k;
    if (!ENTITY.test(raw)) throw new Error(`a bare & at ${where + k}: ${raw.slice(k, k + 12)}`);
  }
  return raw.replace(/&(amp|lt|gt|quot|apos);/g, (_, name: string) => ENTITIES[name]!);
}

function parseXml(source: string): XmlElement {
  const document: XmlElement = { name: '#document', attributes: {}, children: [] };
  const stack = [document];
  let i = source.startsWith('<?xml') ? source.indexOf('?>') + 2 : 0;
  while (i < source.length) {
    const lt = source.indexOf('<', i);
    const raw = lt < 0 ? source.slice(i) : source.slice(i, lt);
    if (raw.length > 0) {
      if (stack.length === 1 && raw.trim() !== '') throw new Error(`text outside the root at ${i}`);
      stack[stack.length - 1]!.children.push(decode(raw, i));
    }
    if (lt < 0) break;
    if (source.startsWith('<!--', lt)) {
      const end = source.indexOf('-->', lt);
      if (end < 0) throw new Error(`an unclosed comment at ${lt}`);
      i = end + 3;
      continue;
    }
    CLOSE_TAG.lastIndex = lt;
    const close = CLOSE_TAG.exec(source);
    if (close) {
      const open = stack.pop();
      if (stack.length === 0 || open!.name !== close[1]) throw new Error(`</${close[1]}> at ${lt} closes <${open?.name}>`);
      i = CLOSE_TAG.lastIndex;
      continue;
    }
    OPEN_TAG.lastIndex = lt;
    const tag = OPEN_TAG.exec(source);
    if (!tag) throw new Error(`a malformed tag at ${lt}: ${source.slice(lt, lt + 80)}`);
    const element: XmlElement = { name: tag[1]!, attributes: {}, children: [] };
    for (const [, name, double, single] of tag[2]!.matchAll(ATTRIBUTE)) {
      if (name! in element.attributes) throw new Error(`attribute ${name} twice at ${lt}`);
      element.attributes[name!] = decode(double ?? single!, lt);
    }
    if (stack.length === 1 && document.children.some((child) => typeof child !== 'string')) throw new Error(`a second root at ${lt}`);
    stack[stack.length - 1]!.children.push(element);
    if (tag[3] !== '/') stack.push(element);
    i = OPEN_TAG.lastIndex;
  }
  if (stack.length !== 1) throw new Error(`<${stack[stack.length - 1]!.name}> is never closed`);
  const root = document.children.find((child): child is XmlElement => typeof child !== 'string');
  if (!root) throw new Error('no root element');
  return root;
}

function elements(node: XmlElement, match: (e: XmlElement) => boolean): XmlElement[] {
  const found: XmlElement[] = [];
  for (const child of node.children) {
    if (typeof child === 'string') continue;
    if (match(child)) found.push(child);
    found.push(...elements(child, match));
  }
  return found;
}

function textOf(node: XmlElement): string {
  return node.children.map((child) => (typeof child === 'string' ? child : child.name === 'title' ? '' : textOf(child))).join('');
}

const num = (e: XmlElement, attribute: string) => Number(e.attributes[attribute]);

test('the XML checker itself rejects what is not well-formed', (t) => {
  t.notThrows(() => parseXml('<a x="1"><b/>t &amp; &lt;u&gt;</a>'));
  for (const bad of ['<a><b></a></b>', '<a>', '<a x=1/>', '<a>&</a>', '<a x="<"/>', '<a/><b/>', '<a x="1" x="2"/>', 'text<a/>']) {
    t.throws(() => parseXml(bad), undefined, bad);
  }
});

// ---------------------------------------------------------------------------------------------
// Medians, rates and ratios

test('median takes the middle run for an odd count and the mean of the middle two for an even one', (t) => {
  t.is(median([5, 1, 3]), 3);
  t.is(median([4, 1, 3, 2]), 2.5);
  t.is(median([7]), 7);
  t.true(Number.isNaN(median([])));
});

test('rates are MB/s with MB = 10^6 bytes', (t) => {
  t.deepEqual(rates({ bytes: 2_000_000, seconds: [1, 4] }), [2, 0.5]);
});

test('ratios divide the medians: an odd run count for ferry, an even one for the peer', (t) => {
  // ferry: 200, 250, 500 → median 250. peer: 100, 125, 175, 250 → median 150.
  const measurements = [m('up', 'ferry (ws://)', [500, 200, 250]), m('up', 'scp aes128-gcm', [250, 100, 175, 125])];
  const [workload] = summarize(measurements);
  const [ferry, scp] = workload!.rows;
  t.is(ferry!.tool, 'ferry (ws://)');
  t.is(Number(ferry!.median!.toFixed(9)), 250);
  t.is(Number(scp!.median!.toFixed(9)), 150);
  t.is(Number(scp!.min!.toFixed(9)), 100);
  t.is(Number(scp!.max!.toFixed(9)), 250);
  t.is(Number(scp!.ratio!.toFixed(9)), Number((250 / 150).toFixed(9)));
  t.is(ferry!.ratio, undefined);
  t.is(Number(ratioOf(measurements, 'up', 'scp aes128-gcm').toFixed(9)), Number((250 / 150).toFixed(9)));
  t.true(Number.isNaN(ratioOf(measurements, 'up', 'sftp')));
  t.true(Number.isNaN(ratioOf(measurements, 'down', 'scp aes128-gcm')));

  const table = formatResults(measurements);
  const row = (tool: string) => table.split('\n').find((line) => line.startsWith(`| ${tool} `))!;
  t.regex(row('scp aes128-gcm'), /\| +\*\*150\*\* \| +100 \| +250 \| +4 \| +1\.67× \|/);
  t.regex(row('ferry (ws://)'), /\| +\*\*250\*\* \| +200 \| +500 \| +3 \| +\|$/);
});

test('ferry comes first, then the peers fastest first, whatever the input order', (t) => {
  const measurements = [
    m('up', 'scp', [100]),
    m('up', 'raw TCP (socat) → /dev/null', [1500]),
    m('up', 'ferry (ws://)', [250]),
    m('up', 'vsftpd + curl', [600]),
  ];
  t.deepEqual(
    summarize(measurements)[0]!.rows.map((row) => row.tool),
    ['ferry (ws://)', 'raw TCP (socat) → /dev/null', 'vsftpd + curl', 'scp'],
  );
  const tools = formatResults(measurements)
    .split('\n')
    .filter((line) => line.startsWith('| ') && !line.startsWith('| tool') && !line.startsWith('| ---'))
    .map((line) => line.split('|')[1]!.trim());
  t.deepEqual(tools, ['ferry (ws://)', 'raw TCP (socat) → /dev/null', 'vsftpd + curl', 'scp']);
});

test('with ferry over ws:// and wss://, ratios use ws:// unless another reference is asked for', (t) => {
  const measurements = [m('down', 'ferry (wss://)', [200]), m('down', 'ferry (ws://)', [300]), m('down', 'curl', [100])];
  const [byDefault] = summarize(measurements);
  t.is(byDefault!.reference, 'ferry (ws://)');
  t.deepEqual(byDefault!.rows.map((row) => row.tool), ['ferry (ws://)', 'ferry (wss://)', 'curl']);
  t.is(byDefault!.rows[2]!.ratio, 3);
  t.is(byDefault!.rows[1]!.ratio, undefined);
  t.regex(formatResults(measurements), /ferry \(ws:\/\/\) ÷ tool/);
  t.regex(formatResults(measurements), /the ratios use its ws:\/\/ row/);

  const [tls] = summarize(measurements, { reference: 'ferry (wss://)' });
  t.is(tls!.rows[0]!.tool, 'ferry (wss://)');
  t.is(tls!.rows[2]!.ratio, 2);
  t.regex(formatResults(measurements, { reference: 'ferry (wss://)' }), /ferry \(wss:\/\/\) ÷ tool/);

  // No ws:// row: the first ferry row.
  t.is(summarize([m('x', 'ferry (wss://)', [10]), m('x', 'ferry (h2)', [20])])[0]!.reference, 'ferry (wss://)');
});

test('without a ferry row there are no ratios, and a tool without runs reads "not measured"', (t) => {
  const [workload] = summarize([m('up', 'scp', [100]), m('up', 'sftp', [])]);
  t.is(workload!.reference, undefined);
  t.true(workload!.rows.every((row) => row.ratio === undefined));
  const table = formatResults([m('up', 'ferry (ws://)', [100]), m('up', 'sftp', []), m('up', 'scp', [50])]);
  t.regex(table, /\| sftp +\| +not measured \| +\| +\| +0 \| +\|/);
  t.regex(table, /\| scp +\| +\*\*50\.0\*\* \|.*\| +2\.00× \|/);
});

test('memory-only workloads show the RSS instead of rates; peak RSS is a column only where known', (t) => {
  const measurements = [
    m('up', 'ferry (ws://)', [250], { peakRss: 123 * MiB }),
    m('up', 'scp', [100]),
    m('tree', 'ferry (ws://)', [30]),
    { workload: '2000 idle sessions', tool: 'ferry (ws://)', bytes: 0, seconds: [], rss: 96 * MiB },
  ];
  const [up, tree, idle] = formatResults(measurements).split('\n\n**');
  t.regex(up!, /server peak RSS/);
  t.regex(up!, /\| ferry \(ws:\/\/\) \|.*\| +123 MiB \|/);
  t.regex(up!, /\| scp +\|.*\| +2\.50× \| +\|/);
  t.notRegex(tree!, /RSS/);
  t.regex(idle!, /^2000 idle sessions\*\* · memory only/);
  t.regex(idle!, /\| tool +\| server RSS \|/);
  t.regex(idle!, /\| ferry \(ws:\/\/\) \| \*\*96 MiB\*\* \|/);
  t.notRegex(idle!.split('\n\nMB =')[0]!, /MB\/s|÷/);
  t.true(summarize(measurements)[2]!.memoryOnly);
  t.regex(formatResults(measurements), /MB = 10\^6 bytes/);
});

test('every table row has as many cells as its header, a | in a tool name is escaped', (t) => {
  const table = formatResults([m('up', 'ferry (ws://)', [250], { peakRss: MiB }), m('up', 'a|b <&>', [100])]);
  const lines = table.split('\n').filter((line) => line.startsWith('|'));
  const cells = (line: string) => line.split(/(?<!\\)\|/).length;
  t.true(lines.every((line) => cells(line) === cells(lines[0]!)));
  t.true(lines.some((line) => line.startsWith('| a\\|b <&> ')));
});

// ---------------------------------------------------------------------------------------------
// Targets

test('targets: higher-is-better ratios and lower-is-better memory, met at the threshold itself', (t) => {
  const checks: TargetCheck[] = [
    { label: '1 GiB upload ≥ 1.0× vsftpd + curl', value: 1.234, unit: '×', target: 1, higherIsBetter: true },
    { label: '1 GiB upload ≥ 2.0× scp aes128-gcm', value: 1.99, unit: '×', target: 2, higherIsBetter: true },
    { label: 'tree ≥ 2.5× lftp', value: 2.5, unit: '×', target: 2.5, higherIsBetter: true },
    { label: '50 uploaders: RSS ≤ 300 MiB', value: 142.4, unit: 'MiB', target: 300, higherIsBetter: false },
    { label: '2000 idle sessions ≤ 150 MiB', value: 151, unit: 'MiB', target: 150, higherIsBetter: false },
    { label: '50 uploaders ≥ 80 % of one stream', value: 83, unit: '%', target: 80, higherIsBetter: true },
    { label: 'sftp ≥ 2.0×', value: Number.NaN, unit: '×', target: 2, higherIsBetter: true },
  ];
  t.deepEqual(checks.map(isMet), [true, false, true, true, false, true, false]);
  const lines = formatTargets(checks).split('\n');
  t.regex(lines[0]!, /^\| target +\| +measured \| met\? \|$/);
  const verdicts = lines.slice(2).map((line) => line.split('|').map((c) => c.trim()));
  t.deepEqual(
    verdicts.map((cells) => [cells[2], cells[3]]),
    [
      ['1.23×', 'yes'],
      ['1.99×', 'no'],
      ['2.50×', 'yes'],
      ['142 MiB', 'yes'],
      ['151 MiB', 'no'],
      ['83 %', 'yes'],
      ['not measured', 'no'],
    ],
  );
});

// ---------------------------------------------------------------------------------------------
// The chart

const sample: Measurement[] = [
  m('upload 1 GiB file', 'scp aes128-gcm', [170, 180, 190, 200, 160]),
  m('upload 1 GiB file', 'ferry (ws://)', [200, 240, 250, 260, 300], { peakRss: 123 * MiB }),
  m('upload 1 GiB file', 'vsftpd + curl', [560, 600, 620, 590]),
  m('upload 1 GiB file', 'raw TCP (socat) → /dev/null', [1500, 1450, 1575]),
  m('upload tree 1000 × 64 KiB', 'ferry (ws://)', [22.5, 30, 37.5], {}, 65_536_000),
  m('upload tree 1000 × 64 KiB', 'lftp mirror --parallel=4', [10.6, 12, 13.4], {}, 65_536_000),
  m('upload tree 1000 × 64 KiB', 'a <&> "tool"', [5, 6], {}, 65_536_000),
  { workload: '2000 idle sessions', tool: 'ferry (ws://)', bytes: 0, seconds: [], rss: 96 * MiB },
];

function chart(measurements = sample): XmlElement {
  return parseXml(renderChart(measurements, { title: 'ferry <vs> peers & co', subtitle: '2026-11-22 · 2 cores, "AMD" EPYC' }));
}

function panels(svg: XmlElement): XmlElement[] {
  return elements(svg, (e) => e.attributes.class === 'panel');
}

function rowsOf(panel: XmlElement): XmlElement[] {
  return elements(panel, (e) => e.name === 'g' && e.attributes['data-tool'] !== undefined);
}

function only(node: XmlElement, match: (e: XmlElement) => boolean): XmlElement {
  const found = elements(node, match);
  if (found.length !== 1) throw new Error(`expected one match, found ${found.length}`);
  return found[0]!;
}

test('the chart is well-formed SVG with a viewBox and size, sans-serif text and a title and subtitle', (t) => {
  const source = renderChart(sample, { title: 't', subtitle: 's' });
  const svg = parseXml(source);
  t.is(svg.name, 'svg');
  t.is(svg.attributes.xmlns, 'http://www.w3.org/2000/svg');
  t.is(svg.attributes.width, '900');
  t.is(svg.attributes.viewBox, `0 0 900 ${svg.attributes.height}`);
  t.is(svg.attributes['font-family'], 'sans-serif');
  t.notRegex(source, /<style|<script|@import|href=|url\(/i);
  const texts = elements(svg, (e) => e.name === 'text').map(textOf);
  t.true(texts.includes('t'));
  t.true(texts.includes('s'));
});

test('text is escaped for XML: title, subtitle and a tool named with < & > and quotes', (t) => {
  t.is(escapeXml(`a <&> "b" 'c'`), 'a &lt;&amp;&gt; &quot;b&quot; &apos;c&apos;');
  const source = renderChart(sample, { title: 'ferry <vs> peers & co', subtitle: '2026-11-22 · 2 cores, "AMD" EPYC' });
  t.true(source.includes('a &lt;&amp;&gt; &quot;tool&quot;'));
  const svg = parseXml(source);
  const texts = elements(svg, (e) => e.name === 'text').map(textOf);
  t.true(texts.includes('ferry <vs> peers & co'));
  t.true(texts.includes('2026-11-22 · 2 cores, "AMD" EPYC'));
  t.true(texts.includes('a <&> "tool"'));
  t.is(rowsOf(svg).filter((row) => row.attributes['data-tool'] === 'a <&> "tool"').length, 1);
});

test('one panel per transfer workload (memory-only ones left out), rows in the tables order', (t) => {
  const svg = chart();
  const drawn = panels(svg);
  t.deepEqual(drawn.map((p) => p.attributes['data-workload']), ['upload 1 GiB file', 'upload tree 1000 × 64 KiB']);
  t.deepEqual(rowsOf(drawn[0]!).map((row) => row.attributes['data-tool']), ['ferry (ws://)', 'raw TCP (socat) → /dev/null', 'vsftpd + curl', 'scp aes128-gcm']);
});

/** The medians of `sample` as the chart prints them, per panel, in row order. */
const printed = [
  ['250', '1500', '595', '180'],
  ['30.0', '12.0', '5.50'],
];

test('bars are proportional to the medians within a panel, and whiskers span min to max on the same scale', (t) => {
  const svg = chart();
  const summaries = summarize(sample).filter((s) => !s.memoryOnly);
  for (const [index, panel] of panels(svg).entries()) {
    const summary = summaries[index]!;
    let pixelsPerMB: number | undefined;
    for (const [rowIndex, row] of rowsOf(panel).entries()) {
      const tool = summary.rows.find((r) => r.tool === row.attributes['data-tool'])!;
      const bar = only(row, (e) => e.attributes.class === 'bar');
      const whisker = only(row, (e) => e.attributes.class === 'whisker');
      const x0 = num(bar, 'x');
      pixelsPerMB ??= num(bar, 'width') / tool.median!;
      // Coordinates are rounded to 0.1 px.
      t.true(Math.abs(num(bar, 'width') - pixelsPerMB * tool.median!) <= 0.15, `${tool.tool}: bar width`);
      t.true(Math.abs(num(whisker, 'x1') - (x0 + pixelsPerMB * tool.min!)) <= 0.15, `${tool.tool}: whisker start`);
      t.true(Math.abs(num(whisker, 'x2') - (x0 + pixelsPerMB * tool.max!)) <= 0.15, `${tool.tool}: whisker end`);
      t.true(num(whisker, 'x1') <= num(bar, 'x') + num(bar, 'width') && num(bar, 'x') + num(bar, 'width') <= num(whisker, 'x2'));
      t.is(textOf(only(row, (e) => e.attributes.class === 'value')), printed[index]![rowIndex]!);
    }
  }
});

test('each panel has its own scale: the fastest run reaches past half of the axis in both', (t) => {
  const svg = chart();
  const spans = panels(svg).map((panel) => {
    const bars = elements(panel, (e) => e.attributes.class === 'bar');
    const ends = elements(panel, (e) => e.attributes.class === 'whisker').map((w) => num(w, 'x2'));
    const left = num(bars[0]!, 'x');
    const axis = elements(panel, (e) => e.attributes.class === 'grid').map((line) => num(line, 'x1'));
    return { reach: Math.max(...ends) - left, span: Math.max(...axis) - left };
  });
  for (const { reach, span } of spans) {
    t.true(reach <= span + 0.1);
    t.true(reach > span / 2, `${reach} of ${span}`);
  }
});

test('ferry has its own colour and no ratio; every peer shows ferry ÷ peer beside its bar', (t) => {
  const svg = chart();
  const [upload] = panels(svg);
  const rows = rowsOf(upload!);
  const fills = rows.map((row) => only(row, (e) => e.attributes.class === 'bar').attributes.fill);
  t.true(fills.slice(1).every((fill) => fill === fills[1]));
  t.not(fills[0], fills[1]);
  t.is(elements(rows[0]!, (e) => e.attributes.class === 'ratio').length, 0);
  const summary = summarize(sample)[0]!;
  for (const [i, row] of rows.entries()) {
    if (i === 0) continue;
    const ratio = summary.rows.find((r) => r.tool === row.attributes['data-tool'])!.ratio!;
    t.is(textOf(only(row, (e) => e.attributes.class === 'ratio')), `ferry ${ratio.toFixed(2)}×`);
  }
});

test('the chart grows with its rows, and a tool without runs is drawn as "not measured"', (t) => {
  const small = chart(sample.slice(0, 2));
  const big = chart();
  t.true(num(big, 'height') > num(small, 'height'));
  const missing = chart([...sample, m('upload 1 GiB file', 'sftp aes128-gcm', [])]);
  const row = rowsOf(missing).find((r) => r.attributes['data-tool'] === 'sftp aes128-gcm')!;
  t.is(elements(row, (e) => e.attributes.class === 'bar').length, 0);
  t.true(elements(row, (e) => e.name === 'text').map(textOf).includes('not measured'));
});

test('ratios print with two decimals, and two significant digits when tiny', (t) => {
  t.is(formatRatio(1.4249), '1.42×');
  t.is(formatRatio(12.5), '12.50×');
  t.is(formatRatio(0.0021), '0.0021×');
  t.is(formatRatio(Number.NaN), '—');
});
