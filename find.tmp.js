const fc = require('/work/main/node_modules/fast-check');
const { runSchedule } = require('/work/main/dist/test/sim/run.js');
const { SCENARIOS } = require('/work/main/dist/test/sim/schedule.js');
(async () => {
  const scen = process.argv[2]; const n = Number(process.argv[3] || 20); const from = Number(process.argv[4] || 1);
  const t = Date.now(); const out = [];
  for (let seed = from; seed < from + n; seed++) {
    const [schedule] = fc.sample(SCENARIOS[scen](), { seed, numRuns: 1 });
    const r = await runSchedule(schedule, seed);
    if (r.violations.length) out.push(seed + ':' + [...new Set(r.violations.map(v => v.checker))].join(','));
    if (process.argv[5] && r.violations.length) console.log(r.violations.slice(0,3));
  }
  console.log(scen, 'failing seeds of', n, out.join(' '), (Date.now() - t) + 'ms');
})();
