/**
 * The dashboard page: markup and styles only. Its behaviour is /dashboard.js (script.ts) and its
 * charts uPlot, both served by the node, so the Content-Security-Policy can refuse inline scripts.
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ringcache</title>
<link rel="stylesheet" href="/uplot.css">
<style>
  :root { --alive: #2e9d4f; --suspect: #d99a00; --dead: #c93434; --left: #888; --fg: #1d2330; --muted: #667; }
  body { font: 14px/1.4 system-ui, sans-serif; color: var(--fg); margin: 0; background: #f5f6f8; }
  header { display: flex; gap: 1.5em; align-items: baseline; padding: .8em 1.2em; background: #1d2330; color: #fff; }
  header h1 { font-size: 1.2em; margin: 0; }
  header .conn { margin-left: auto; font-size: .9em; }
  main { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 1em; padding: 1em; }
  section { background: #fff; border-radius: 6px; padding: .8em 1em; box-shadow: 0 1px 2px #0002; }
  section.wide { grid-column: 1 / -1; }
  section h2 { font-size: 1em; margin: 0 0 .6em; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
  table { border-collapse: collapse; width: 100%; }
  tfoot td { font-weight: 600; border-bottom: none; }
  th, td { text-align: left; padding: .25em .5em; border-bottom: 1px solid #eee; font-variant-numeric: tabular-nums; }
  .state { font-weight: 600; }
  .state-alive { color: var(--alive); } .state-suspect { color: var(--suspect); }
  .state-dead { color: var(--dead); } .state-left { color: var(--left); }
  .figures { display: flex; gap: 2em; flex-wrap: wrap; }
  .figure b { display: block; font-size: 1.6em; }
  .bar { height: 8px; background: #eee; border-radius: 4px; margin-top: .3em; }
  .bar div { height: 100%; background: #3b6fd8; border-radius: 4px; }
  .hot { display: grid; grid-template-columns: 1fr 1fr; gap: 1em; }
  .hot ol { margin: 0; padding-left: 1.4em; } .hot li { word-break: break-all; }
  .muted { color: var(--muted); }
  form { display: flex; gap: .5em; margin-bottom: .6em; }
  input { flex: 1; padding: .3em .5em; font: inherit; }
  #auth { display: none; }
  #auth.shown { display: block; }
  .error { color: var(--dead); }
</style>
</head>
<body>
<header>
  <h1>ringcache</h1>
  <span>node <b id="node">…</b></span>
  <span>ring epoch <b id="epoch">…</b></span>
  <span class="conn" id="conn">connecting…</span>
</header>
<main>
  <section id="auth">
    <h2>Credential</h2>
    <p id="auth-why" class="error"></p>
    <form id="auth-form">
      <input id="auth-token" type="password" autocomplete="off" placeholder="a token of a user with role read or above">
      <button type="submit">Use</button>
    </form>
  </section>
  <section>
    <h2>Ring</h2>
    <svg id="ring" viewBox="-110 -110 220 220" width="240" height="240" role="img" aria-label="ring"></svg>
  </section>
  <section class="wide">
    <h2>Members</h2>
    <table id="members"><thead><tr><th>member</th><th>state</th><th>address</th><th>ring share</th><th>keys</th><th>memory</th><th>ops/s</th><th>p99</th></tr></thead><tbody></tbody><tfoot></tfoot></table>
  </section>
  <section>
    <h2>This node</h2>
    <div class="figures">
      <div class="figure"><span class="muted">ops/s</span><b id="ops">–</b></div>
      <div class="figure"><span class="muted">p99</span><b id="p99">–</b></div>
      <div class="figure"><span class="muted">hit ratio</span><b id="hit-ratio">–</b></div>
      <div class="figure"><span class="muted">keys</span><b id="keys">–</b></div>
      <div class="figure"><span class="muted">hints pending</span><b id="hints">–</b></div>
    </div>
    <p><span class="muted">memory</span> <span id="memory">–</span><div class="bar"><div id="memory-bar" style="width:0"></div></div></p>
    <p class="muted" id="rss"></p>
  </section>
  <section>
    <h2>Operations per second</h2>
    <div id="ops-chart"></div>
  </section>
  <section>
    <h2>Latency (ms)</h2>
    <div id="latency-chart"></div>
  </section>
  <section>
    <h2>Hot keys</h2>
    <div class="hot">
      <div><span class="muted">reads</span><ol id="hot-reads"></ol></div>
      <div><span class="muted">writes</span><ol id="hot-writes"></ol></div>
    </div>
  </section>
  <section>
    <h2>Key lookup</h2>
    <form id="lookup-form">
      <input id="lookup-key" placeholder="a key" autocomplete="off">
      <button id="lookup-go" type="submit">Look up</button>
    </form>
    <div id="lookup-result"></div>
  </section>
</main>
<script src="/uplot.js"></script>
<script src="/dashboard.js"></script>
</body>
</html>
`;
