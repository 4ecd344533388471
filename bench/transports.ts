/**
 * `pnpm bench transports [webpush|apns|fcm …]`: sender CPU per message and throughput of our transports against
 * their peer libraries, each against its stand-in running in a separate process. Writes
 * bench/results/transports.json. See bench/transports/<platform>.ts for each comparison.
 */
import { createReport } from './lib/report.js';

const platforms = ['webpush', 'apns', 'fcm'] as const;
const chosen = process.argv.slice(2).filter((a): a is (typeof platforms)[number] => platforms.includes(a as never));
// Running some platforms keeps the other platforms' rows from the last run; case names start with the platform.
const report = createReport('transports', {
  keep: chosen.length > 0 ? (row) => !chosen.some((platform) => row.case.startsWith(platform)) : undefined,
});
for (const platform of chosen.length > 0 ? chosen : platforms) {
  const module = (await import(`./transports/${platform}.ts`)) as { run: (r: typeof report) => Promise<void> };
  await module.run(report);
}
report.write();
