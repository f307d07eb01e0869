// SPDX-License-Identifier: Apache-2.0
// The claims peer: graphile-worker (npm, default settings) working off N queued no-op jobs with
// C concurrent workers on the run's PostgreSQL. Prints one "BENCH {json}" line.
// Environment: BENCH_PG_HOST, BENCH_PG_PORT, BENCH_PG_USER, BENCH_PG_DB, BENCH_JOBS,
// BENCH_CONCURRENCY.
"use strict";

const { EventEmitter } = require("events");
const { Pool } = require("pg");
const { run, runMigrations } = require("graphile-worker");

const jobs = Number(process.env.BENCH_JOBS);
const concurrency = Number(process.env.BENCH_CONCURRENCY);

async function main() {
  const pgPool = new Pool({
    host: process.env.BENCH_PG_HOST,
    port: Number(process.env.BENCH_PG_PORT),
    user: process.env.BENCH_PG_USER,
    database: process.env.BENCH_PG_DB,
    max: concurrency + 2,
  });
  // Default logging (a line per job), as mse-server writes an access-log line per request.
  await runMigrations({ pgPool });
  // Queued before the clock starts, in one statement, as the MSE side's executions are.
  await pgPool.query("DELETE FROM graphile_worker._private_jobs");
  await pgPool.query(
    "SELECT graphile_worker.add_job('bench', json_build_object('n', g)) " +
      "FROM generate_series(1, $1::int) g",
    [jobs],
  );

  let done = 0;
  let failed = 0;
  let first = null;
  let finish;
  const finished = new Promise((resolve) => (finish = resolve));
  // Listening before the workers start, so that the first job is seen.
  const events = new EventEmitter();
  events.on("job:start", () => {
    if (first === null) first = process.hrtime.bigint();
  });
  events.on("job:success", () => {
    if (++done + failed === jobs) finish(process.hrtime.bigint());
  });
  events.on("job:error", () => {
    if (done + ++failed === jobs) finish(process.hrtime.bigint());
  });
  const runner = await run({
    pgPool,
    events,
    concurrency,
    noHandleSignals: true,
    pollInterval: 1000,
    taskList: { bench: async () => {} },
  });
  const end = await finished;
  const seconds = Number(end - first) / 1e9;
  await runner.stop();
  await pgPool.end();
  process.stdout.write(
    "BENCH " +
      JSON.stringify({
        jobs,
        completed: done,
        failed,
        concurrency,
        seconds,
        jobs_per_s: done / seconds,
        version: require("graphile-worker/package.json").version,
        node: process.version,
      }) +
      "\n",
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
