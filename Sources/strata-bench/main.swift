// strata-bench: the benchmarks that `scripts/bench` runs and compares with their floors.
//
//   strata-bench driver --url URL [--table T --key-column C --value-column V
//                                  --rows N --queries N --tasks N --warmup N --no-pool]
//   strata-bench webhooks --url URL [--events N --workers N --batch N --pool N --migrations DIR]
//   strata-bench charges --url URL [--url URL …] [--charges N --tasks N --wallets N --warmup N
//                                   --migrations DIR --database NAME --prepare-only --run-prefix P]
//
// The floors (pgbench, the C loop over libmariadb) run from the script, in the same
// run and against the same server; this program only measures Strata's side.
import Foundation

let arguments = Array(CommandLine.arguments.dropFirst())
let exitCode: Int32
switch arguments.first {
case "driver":
    exitCode = await DriverBenchmark.main(Array(arguments.dropFirst()))
case "webhooks":
    exitCode = await WebhookBenchmark.main(Array(arguments.dropFirst()))
case "charges":
    exitCode = await ChargeBenchmark.main(Array(arguments.dropFirst()))
case "-h", "--help", "help":
    print(BenchUsage.text + "\n\n" + WebhookBenchmark.usage + "\n\n" + ChargeBenchmark.usage)
    exitCode = 0
default:
    FileHandle.standardError.write(Data((BenchUsage.text + "\n").utf8))
    exitCode = 2
}
exit(exitCode)
