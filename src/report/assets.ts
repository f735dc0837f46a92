// The report's own style and script, inlined into the page: no file beside it, nothing fetched.
// The script only sorts and filters the experiment list and opens an experiment from a link or a
// chart dot; the page reads fine without it (every experiment opens as a <details>).

export const REPORT_CSS = `
:root { --keep: #2a9d3f; --discard: #8a8a8a; --crash: #c62828; --line: #e3e3e3; --soft: #f6f7f8; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0 auto; max-width: 1200px; padding: 16px 24px 64px; color: #1d1d1f; }
h1 { font-size: 22px; margin: 8px 0 4px; } h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 15px; margin: 18px 0 6px; } h4 { font-size: 13px; margin: 10px 0 4px; color: #555; }
code, pre, .diff, .c-commit, .c-value, .num { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12.5px; }
.muted { color: #666; } .tagsec { margin-top: 24px; } nav a { margin-right: 12px; }
.night { background: var(--soft); border: 1px solid var(--line); border-radius: 6px; padding: 10px 14px; font-size: 15px; }
.night b { font-weight: 600; }
.st-keep .c-status, .keep { color: var(--keep); } .st-discard .c-status, .discard { color: var(--discard); } .st-crash .c-status, .crash { color: var(--crash); }
.chart svg { max-width: 100%; height: auto; } .chart path[aria-label] { cursor: pointer; }
.compare { border-collapse: collapse; margin: 8px 0; } .compare td, .compare th { border-bottom: 1px solid var(--line); padding: 4px 10px; text-align: left; }
.found { list-style: none; padding: 0; } .found > li { border-left: 3px solid var(--keep); padding: 2px 0 8px 12px; margin: 0 0 18px; }
.found .gain { font-weight: 600; color: var(--keep); }
.diff { overflow-x: auto; border: 1px solid var(--line); border-radius: 4px; margin: 6px 0; }
.diff table { border-collapse: collapse; width: 100%; } .diff td { padding: 0 8px; white-space: pre; vertical-align: top; }
.diff tr:not(.file):not(.cut) td:nth-child(-n+2) { color: #999; text-align: right; width: 1%; user-select: none; }
.diff .file td { background: #eef1f5; font-weight: 600; padding: 3px 8px; } .diff .hunk td { background: #f3f0ff; color: #5b4bb7; }
.diff .add td:last-child { background: #e6ffec; } .diff .del td:last-child { background: #ffebe9; } .diff .add td:nth-child(2) { background: #ccffd8; } .diff .del td:first-child { background: #ffd7d5; }
.diff .cut td, .diff .meta td { color: #666; font-style: italic; }
.diff .k { color: #cf222e; } .diff .s { color: #0a3069; } .diff .n { color: #0550ae; } .diff .c { color: #6e7781; font-style: italic; } .diff .f { color: #8250df; }
.notes li, .misses li { margin: 4px 0; }
.experiments .bar { display: flex; gap: 14px; align-items: center; margin: 6px 0; flex-wrap: wrap; }
.grid { display: grid; grid-template-columns: 4em 5.5em 4.6em 10em 3em 12em 1fr; gap: 0 10px; align-items: baseline; }
.head { font-weight: 600; border-bottom: 2px solid var(--line); padding: 4px 6px; }
.head button { font: inherit; border: 0; background: none; padding: 0; cursor: pointer; text-align: left; }
.head button[data-dir=asc]::after { content: " ▲"; } .head button[data-dir=desc]::after { content: " ▼"; }
details.exp { border-bottom: 1px solid var(--line); } details.exp > summary { padding: 3px 6px; cursor: pointer; list-style: none; }
details.exp > summary::-webkit-details-marker { display: none; } details.exp[open] > summary { background: var(--soft); }
details.exp > summary:hover { background: #fafbfc; } .c-desc { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.c-verdict { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; color: #555; }
.more { padding: 6px 14px 14px; } .more dl { display: grid; grid-template-columns: 9em 1fr; gap: 2px 12px; margin: 4px 0; } .more dt { color: #666; } .more dd { margin: 0; white-space: pre-wrap; overflow-wrap: anywhere; }
pre.log { background: #1e1f22; color: #e6e6e6; padding: 8px 10px; border-radius: 4px; overflow-x: auto; margin: 4px 0; }
`;

export const REPORT_JS = `
(function () {
  var all = function (sel, el) { return Array.prototype.slice.call((el || document).querySelectorAll(sel)); };
  all('.experiments').forEach(function (table) {
    var body = table.querySelector('.rows');
    var boxes = all('input[data-status]', table);
    var shown = table.querySelector('.shown');
    function filter() {
      var on = {}; boxes.forEach(function (b) { on[b.dataset.status] = b.checked; });
      var count = 0;
      Array.prototype.forEach.call(body.children, function (row) { row.hidden = !on[row.dataset.status]; if (!row.hidden) count++; });
      shown.textContent = String(count);
    }
    boxes.forEach(function (b) { b.addEventListener('change', filter); });
    all('.head button[data-key]', table).forEach(function (button) {
      button.addEventListener('click', function () {
        var key = button.dataset.key, dir = button.dataset.dir === 'asc' ? 'desc' : 'asc', sign = dir === 'asc' ? 1 : -1;
        all('.head button[data-key]', table).forEach(function (b) { delete b.dataset.dir; });
        button.dataset.dir = dir;
        var text = key === 'status';
        var rows = Array.prototype.slice.call(body.children);
        rows.sort(function (a, b) {
          var x = a.dataset[key], y = b.dataset[key];
          if (text) return sign * x.localeCompare(y) || Number(a.dataset.n) - Number(b.dataset.n);
          if (x === '' || y === '') return (x === '' ? 1 : 0) - (y === '' ? 1 : 0); // no value (a crash): last either way
          return sign * (Number(x) - Number(y)) || Number(a.dataset.n) - Number(b.dataset.n);
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
  function open(id) {
    var el = id && document.getElementById(id);
    if (!el) return;
    if (el.tagName === 'DETAILS') { el.hidden = false; el.open = true; }
    el.scrollIntoView({ block: 'start' });
  }
  window.addEventListener('hashchange', function () { open(decodeURIComponent(location.hash.slice(1))); });
  if (location.hash) open(decodeURIComponent(location.hash.slice(1)));
  all('.chart').forEach(function (chart) {
    chart.addEventListener('click', function (e) {
      var dot = e.target.closest && e.target.closest('path[aria-label]');
      var m = dot && /^#(\\d+) /.exec(dot.getAttribute('aria-label'));
      if (m) location.hash = chart.dataset.prefix + 'e' + m[1];
    });
  });
})();
`;
