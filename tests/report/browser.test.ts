// `results --html` through the built command, on a real night: a scripted model behind the fake
// Messages API edits train.py, a stand-in trainer runs (python3), git is real. The night has
// several runs per experiment (--baseline-runs 2 --confirm-runs 1), a crash, a description and a
// note that try to inject markup, and a resume (a second command on the same tag); then a second
// tag. The page is opened in the system's headless Chromium (playwright-core, no browser download):
// no console error, the chart, a row per experiment, a kept diff, filtering, nothing fetched.
//
// Needs `npm run build` first (npm test does it): it runs dist/cli.js.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firstUserText, startFakeApi, turn, useTool, type Reply } from '../../src/fakeapi/index.js';
import { drillWorkspace, git } from '../helpers/drill.js';

const CLI = path.resolve('dist/cli.js');
if (!fs.existsSync(CLI)) throw new Error('Build first: npm run build (npm test does it).');
const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ANTHROPIC_') && !k.startsWith('OPENAI_')));

/** The system's Chromium (CI installs Debian's package); CHROMIUM_PATH names another. */
const CHROMIUM = [process.env['CHROMIUM_PATH'], '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p): p is string => !!p && fs.existsSync(p)) ?? null;
if (!CHROMIUM) console.log('report browser tests skipped: no Chromium at /usr/bin/chromium (apt-get install chromium, or set CHROMIUM_PATH)');

const TAG = 'night';
const OTHER = 'second';
const ANCHOR = '# experiments: each adds its line below\n';
/**
 * val_bpb is 1.0 minus the GAIN_ lines, 0.0004 lower on an experiment's first run (seed n·1000 + 1):
 * runs of the same code differ, so the noise is measured, and a first run is the lucky draw that a
 * tiny gain needs to be confirmed and then found within the noise.
 */
const TRAINER = `# report-night trainer
import os
${ANCHOR}value = 1.0 - sum(v for k, v in list(globals().items()) if k.startswith("GAIN_")) - (int(os.environ.get("AUTORESEARCH_SEED", "1")) % 1000 == 1) * 0.0004
print("step 00001 | loss 3.2100", flush=True)
if globals().get("CRASH"):
    raise RuntimeError("boom: the planned crash")
print("---")
print(f"val_bpb:          {value:.6f}")
print("peak_vram_mb:     1024.0", flush=True)
`;

const INJECTED = `<img src="http://example.invalid/pixel.png" onerror="window.__pwned=1"> & "quotes"`;
const NOTE = `<script>window.__pwned=2</script> lr matters most`;

/** Each experiment of the two commands on TAG: the line it adds, its description, its notes. */
const PLAN: Record<number, { line: string; description: string; notes?: string }> = {
  1: { line: 'GAIN_1 = 0.05', description: 'raise the learning rate (GAIN_1)' }, // kept, 2 runs
  2: { line: 'GAIN_2 = -0.02', description: `try ${INJECTED}`, notes: NOTE }, // discarded: not better
  3: { line: 'CRASH = 1', description: 'a change that crashes' }, // crash
  4: { line: 'GAIN_4 = 0.03', description: 'wider model (GAIN_4)' }, // kept, after the resume
  5: { line: 'GAIN_5 = 0.0001', description: 'a tiny gain (GAIN_5)' }, // better by about a third of a standard error: within noise, a near miss
};

type Body = { messages?: unknown };
const experimentOf = (body: Body): number => Number(/^Experiment (\d+)\. Make exactly ONE change/m.exec(firstUserText(body))?.[1] ?? NaN);
const stepOf = (body: Body): number => (body.messages as { role?: string }[]).filter((m) => m.role === 'assistant').length;

/** The scripted researcher: add the experiment's line under the anchor, then submit. */
function researcher(body: Body): Reply {
  const p = PLAN[experimentOf(body)] ?? { line: `GAIN_${experimentOf(body)} = -0.01`, description: `line ${experimentOf(body)}` };
  if (stepOf(body) === 0) return turn(useTool('str_replace_based_edit_tool', { command: 'str_replace', path: 'train.py', old_str: ANCHOR, new_str: `${ANCHOR}${p.line}\n` }));
  return turn(useTool('submit_experiment', p.notes ? { description: p.description, notes: p.notes } : { description: p.description }));
}

/** One command of the loop, to its end. */
function runNight(dir: string, url: string, tag: string, experiments: number, runs: string[]): Promise<{ code: number | null; out: string }> {
  const args = ['--tag', tag, '--max-experiments', String(experiments), '--run-cmd', 'python3 train.py', '--no-tui', '--sandbox', 'off', '--lookahead', '0', '--fix-attempts', '0', ...runs];
  const child = spawn(process.execPath, [CLI, ...args], { cwd: dir, env: { ...clean, ANTHROPIC_API_KEY: 'sk-ant-test-report', ANTHROPIC_BASE_URL: url }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (out += d.toString('utf8')));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, out })));
}

function cli(args: string[], cwd: string) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, env: clean, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const dirs: string[] = [];
let dir = '';
/** The report of TAG alone, and of both tags (no --tag). */
let single = '';
let both = '';

beforeAll(async () => {
  const api = await startFakeApi((body) => researcher(body as Body));
  try {
    dir = drillWorkspace('autoresearch-report-', TRAINER, dirs);
    const noise = ['--baseline-runs', '2', '--confirm-runs', '1'];
    const first = await runNight(dir, api.url, TAG, 3, noise);
    expect(first.code, first.out).toBe(0);
    const resumed = await runNight(dir, api.url, TAG, 2, noise);
    expect(resumed.code, resumed.out).toBe(0);
    const other = await runNight(dir, api.url, OTHER, 1, ['--baseline-runs', '1', '--confirm-runs', '0']);
    expect(other.code, other.out).toBe(0);
  } finally {
    await api.close();
  }
  const r1 = cli(['results', '--tag', TAG, '--html', 'out/night.html'], dir);
  expect(r1.code, r1.err).toBe(0);
  expect(r1.out).toContain(`report written to ${path.join(dir, 'out/night.html')}`);
  single = path.join(dir, 'out/night.html');
  // On branch autoresearch/second, no --tag: both tags, side by side.
  const r2 = cli(['results', '--html', 'both.html'], dir);
  expect(r2.code, r2.err).toBe(0);
  both = path.join(dir, 'both.html');
}, 600_000);

afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** results.tsv's rows of a tag, read as a person would. */
function rowsOf(tag: string): Record<string, string>[] {
  const [header, ...lines] = fs.readFileSync(path.join(dir, 'results.tsv'), 'utf8').trimEnd().split('\n');
  const names = header!.split('\t');
  return lines.map((l) => Object.fromEntries(l.split('\t').map((c, i) => [names[i]!, c]))).filter((r) => r['tag'] === tag);
}

describe('results --html (the built command, a scripted night)', () => {
  it('the night really had several runs per experiment, a crash, a resume and a near miss', () => {
    const rows = rowsOf(TAG);
    expect(rows.map((r) => [r['experiment'], r['status'], r['runs']])).toEqual([
      ['0', 'keep', '2'],
      ['1', 'keep', '2'],
      ['2', 'discard', '1'],
      ['3', 'crash', '1'],
      ['4', 'keep', '2'],
      ['5', 'discard', '2'],
    ]);
    expect(rows[5]!['verdict']).toMatch(/^within noise/);
  });

  it('writes one self-contained file: a section per experiment, the kept diff, escaped untrusted text', () => {
    const html = fs.readFileSync(single, 'utf8');
    expect(html.match(/<details class="exp /g)).toHaveLength(6);
    expect(html).toContain('GAIN_1');
    expect(html).not.toContain(INJECTED);
    expect(html).not.toContain('<script>window.__pwned');
    expect(html).toContain('&lt;img src=&quot;http://example.invalid/pixel.png&quot;');
    expect(html).toContain('boom: the planned crash'); // the crash's log tail
    expect(html).not.toContain(`id="t1-tag"`); // --tag: that tag alone
    expect(fs.readFileSync(both, 'utf8')).toContain(`id="t1-tag"`);
    // The report is a file the user asked for: the research repository is otherwise as the loop left it.
    expect(git(dir, 'status', '--porcelain', '--untracked-files=no')).toBe('');
  });

  it('outside the repository (results.tsv copied away): the report still comes, each diff said to be missing', () => {
    const away = fs.mkdtempSync(path.join(path.dirname(dir), 'autoresearch-report-away-'));
    dirs.push(away);
    fs.copyFileSync(path.join(dir, 'results.tsv'), path.join(away, 'results.tsv'));
    const r = cli(['results', '--tag', TAG, '--html', 'r.html'], away);
    expect(r.code, r.err).toBe(0);
    const html = fs.readFileSync(path.join(away, 'r.html'), 'utf8');
    expect(html.match(/<details class="exp /g)).toHaveLength(6);
    expect(html.match(/git no longer has/g)).toHaveLength(5); // every experiment but the baseline
    expect(html).toContain('No run log kept.');
  });

  it('refuses a file name that is not .html, and a tag that is not in the file', () => {
    expect(cli(['results', '--html', 'report.txt'], dir)).toMatchObject({ code: 2, err: expect.stringContaining('must end in .html') });
    expect(cli(['results', '--tag', 'nope', '--html', 'x.html'], dir)).toMatchObject({ code: 2, err: expect.stringContaining('no rows for tag "nope"') });
    expect(fs.existsSync(path.join(dir, 'x.html'))).toBe(false);
  });
});

describe.skipIf(!CHROMIUM)('the report in headless Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM!, args: ['--no-sandbox', '--disable-gpu'], timeout: 120_000 });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
  });

  /** Open `file` with every request recorded and anything but the file itself refused; errors collected. */
  async function open(file: string): Promise<{ page: Page; requests: string[]; errors: string[] }> {
    const page = await browser.newPage();
    const requests: string[] = [];
    const errors: string[] = [];
    const self = pathToFileURL(file).href;
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.route('**/*', (route) => {
      requests.push(route.request().url());
      return route.request().url() === self ? route.continue() : route.abort();
    });
    await page.goto(self, { waitUntil: 'load', timeout: 60_000 });
    return { page, requests, errors };
  }

  const visibleRows = (page: Page) => page.$$eval('#t0-experiments details.exp', (els) => els.filter((e) => !(e as HTMLElement).hidden).map((e) => (e as HTMLElement).dataset['status']));

  // The page's Content-Security-Policy blocks any fetch before it is made, and Chromium logs each
  // block as a console error: a page that tried to load something fails here either way.
  it('renders with no console error and requests nothing but itself', async () => {
    const { page, requests, errors } = await open(single);
    await page.mouse.wheel(0, 5000); // scrolled through, in case something loads late
    await page.waitForTimeout(300);
    expect(errors).toEqual([]);
    expect(requests).toEqual([pathToFileURL(single).href]);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    await page.close();
  }, 120_000);

  it('shows the chart, with hover text naming each experiment', async () => {
    const { page } = await open(single);
    const chart = page.locator('#t0-tag .chart svg');
    expect(await chart.isVisible()).toBe(true);
    expect((await chart.boundingBox())!.width).toBeGreaterThan(400);
    // One dot per measured experiment (the crash is not drawn), each with its <title>.
    const titles = await page.$$eval('#t0-tag .chart svg path[aria-roledescription="circle"] > title', (ts) => ts.map((t) => t.textContent ?? ''));
    expect(titles).toHaveLength(5);
    expect(titles.find((t) => t.startsWith('#1 '))).toContain('raise the learning rate (GAIN_1)');
    await page.close();
  }, 120_000);

  it('has a row for every experiment, and a kept change shows its changed line', async () => {
    const { page } = await open(single);
    const rows = rowsOf(TAG);
    expect(await visibleRows(page)).toEqual(rows.map((r) => r['status']));
    for (const r of rows) expect(await page.locator(`#t0-e${r['experiment']} > summary`).textContent()).toContain(r['commit']);
    const added = page.locator('#t0-k1 .diff tr.add');
    expect(await added.count()).toBe(1);
    expect(await added.isVisible()).toBe(true);
    expect(await added.textContent()).toContain('+GAIN_1 = 0.05');
    expect(await page.locator('#t0-k4 .diff tr.add').textContent()).toContain('+GAIN_4 = 0.03');
    // The untrusted description is shown as text, not run.
    expect(await page.locator('#t0-e2 .c-desc').textContent()).toBe(`try ${INJECTED}`);
    await page.close();
  }, 120_000);

  it('filters by status, and sorts', async () => {
    const { page } = await open(single);
    await page.locator('#t0-experiments input[data-status="keep"]').uncheck();
    await page.locator('#t0-experiments input[data-status="discard"]').uncheck();
    expect(await visibleRows(page)).toEqual(['crash']);
    expect(await page.locator('#t0-experiments .shown').textContent()).toBe('1');
    await page.locator('#t0-experiments input[data-status="crash"]').uncheck();
    await page.locator('#t0-experiments input[data-status="discard"]').check();
    expect(await visibleRows(page)).toEqual(['discard', 'discard']);
    await page.locator('#t0-experiments input[data-status="keep"]').check();
    await page.locator('#t0-experiments input[data-status="crash"]').check();
    // By value: lowest first, the crash (no value) last; a second click, highest first, the crash still last.
    const measured = rowsOf(TAG).filter((r) => r['status'] !== 'crash');
    const byValue = measured.sort((a, b) => Number(a['val_bpb']) - Number(b['val_bpb'])).map((r) => r['experiment']);
    const order = () => page.$$eval('#t0-experiments details.exp', (els) => els.map((e) => (e as HTMLElement).dataset['n']));
    await page.locator('#t0-experiments button[data-key="value"]').click();
    expect(await order()).toEqual([...byValue, '3']);
    await page.locator('#t0-experiments button[data-key="value"]').click();
    expect(await order()).toEqual([...byValue.reverse(), '3']);
    await page.close();
  }, 120_000);

  it('a row opens to its runs, verdict, crash reason, log tail, and a discarded idea its diff', async () => {
    const { page } = await open(single);
    const crash = page.locator('#t0-e3');
    expect(await crash.locator('pre.log').isVisible()).toBe(false);
    await crash.locator('summary').click();
    expect(await crash.locator('pre.log').last().isVisible()).toBe(true);
    expect(await crash.locator('pre.log').last().textContent()).toContain('RuntimeError: boom: the planned crash');
    expect(await crash.locator('.more').textContent()).toContain('exit 1');
    const miss = page.locator('#t0-e5');
    await miss.locator('summary').click();
    const more = (await miss.locator('.more').textContent()) ?? '';
    expect(more).toMatch(/2 runs: \d\.\d{6}, \d\.\d{6}/);
    expect(more).toContain('within noise');
    expect(more).toContain(`git show refs/autoresearch/${TAG}/discarded/`);
    expect(await miss.locator('.diff tr.add').textContent()).toContain('+GAIN_5 = 0.0001');
    // Clicking a chart dot opens its experiment.
    await page.locator('#t0-tag .chart path[aria-roledescription="circle"][aria-label^="#2 "]').dispatchEvent('click');
    await page.waitForFunction(() => (document.getElementById('t0-e2') as HTMLDetailsElement).open, null, { timeout: 10_000 });
    await page.close();
  }, 120_000);

  it('several tags: each its own section, side by side in one table, nothing fetched', async () => {
    const { page, requests, errors } = await open(both);
    expect(errors).toEqual([]);
    expect(requests).toEqual([pathToFileURL(both).href]);
    expect(await page.locator('table.compare tr').count()).toBe(3);
    expect(await page.locator('#t0-tag details.exp').count()).toBe(rowsOf(TAG).length);
    expect(await page.locator('#t1-tag details.exp').count()).toBe(rowsOf(OTHER).length);
    expect(await page.locator('#t1-tag .chart svg').isVisible()).toBe(true);
    await page.close();
  }, 120_000);
});
