// `node --import tsx bench/profile.ts FILE.cpuprofile [TOP]`: self-time summary of a CPU profile (by file/package and
// by function), as the benchmarks print it with --profile.
import { summariseProfile } from './lib.ts'

const [file, top] = process.argv.slice(2)
if (!file) {
  process.stderr.write('usage: node --import tsx bench/profile.ts FILE.cpuprofile [TOP]\n')
  process.exit(2)
}
const s = summariseProfile(file, Number(top ?? 25))
process.stdout.write(
  `${file}: ${s.totalMs.toFixed(0)} ms sampled, ${s.idlePct.toFixed(1)}% idle, GC ${s.gcPct.toFixed(1)}% of busy\n`,
)
process.stdout.write('\nself time by file or package (% of busy):\n')
for (const f of s.files) process.stdout.write(`  ${f.pct.toFixed(1).padStart(5)}%  ${f.name}\n`)
process.stdout.write('\nself time by function (% of busy):\n')
for (const f of s.functions) process.stdout.write(`  ${f.pct.toFixed(1).padStart(5)}%  ${f.name}\n`)
