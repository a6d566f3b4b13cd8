/**
 * The `ipcarve` command line (commander). Exit codes: 0 ok, 1 the command
 * failed (bad config file, pool full, I/O), 2 usage (unknown command or
 * flag, bad flag value, missing argument). Every error names the flag, or
 * the file, line and YAML path.
 */
import { Command, CommanderError, Option } from "commander";
import { IpamError } from "../errors.js";
import { ConfigError } from "../config/source.js";
import { CliError, UsageError, processIo, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type Io } from "./io.js";
import * as arg from "./args.js";
import { VERSION } from "./version.js";
import { grace } from "./grace.js";

function build(io: Io, setCode: (c: number) => void): Command {
  const program = new Command("ipcarve");
  program
    .description("IPAM for Kubernetes-scale clusters with Cilium cluster-pool semantics: simulate, plan, carve, import/export, lookup, check")
    .version(VERSION, "-V, --version", "print the version")
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })
    .exitOverride()
    .showHelpAfterError("(run with --help for usage)")
    .helpCommand(true)
    .addHelpText("after", `
Exit codes: 0 ok, 1 failure (config, pool, I/O), 2 usage.
Examples:
  ipcarve simulate                                    # the default 50,000-node scenario, report in ./ipcarve-report.html
  ipcarve carve --config examples/seed-cluster-pool-config.yaml
  ipcarve plan --cidr 10.0.0.0/16 --mask 24 --nodes 120 --growth 10/week --target-nodes 400`);

  program
    .command("simulate")
    .description("run a churn scenario over virtual time: nodes join, leave and fail, pods come and go; summary, HTML report and JSON")
    .option("--config <file>", "ClusterPoolConfig, Cilium Helm values or ipcarve YAML (with a scenario: section)")
    .option("--pools <file>", "CiliumPodIPPool objects (one, a List, or YAML documents): named pools (multi-pool), with or instead of --config")
    .option("--nodes <n>", "first-wave peak node count (the node curve is scaled to it)", arg.int(1, 10_000_000))
    .option("--pods-per-node <p>", "max pods per node (Kubernetes maxPods)", arg.int(1, 100_000))
    .option("--churn <r>", "fraction of running pods replaced per virtual hour (mean pod lifetime 1/r hours)", arg.positive)
    .option("--duration <t>", "virtual duration, e.g. 6h or 90m (all scenario times scale)", arg.duration)
    .option("--threads <k>", "threads running pods (results are identical for any k)", arg.int(1, 64))
    .option("--seed <s>", "random seed", arg.int(0, 2 ** 32 - 1))
    .option("--report <file>", "HTML report path", "ipcarve-report.html")
    .option("--no-report", "do not write the HTML report (nor the JSON next to it)")
    .option("--json <file>", "JSON results path (default: next to the report); - prints JSON on stdout")
    .option("--sweep <n>", "run n seeds (seed, seed+1, ...) in parallel on a piscina pool; prints a table", arg.int(2, 10_000))
    .option("-q, --quiet", "no progress output")
    .action(async (o) => {
      const { simulateCommand } = await import("./simulate.js");
      setCode(await simulateCommand(io, o));
    });

  program
    .command("simulate-pools")
    .description("run the multi-pool scenario (named pools per node group, watermarks, release delay) over virtual time: per-pool use and CIDRs moved")
    .option("--nodes <n>", "nodes at the peak (75% general on pool 'default', 25% GPU on pool 'gpu')", arg.int(1, 100_000))
    .option("--duration <t>", "virtual duration, e.g. 2h (all scenario times scale)", arg.duration)
    .option("--seed <s>", "random seed", arg.int(0, 2 ** 32 - 1))
    .option("--json", "print the whole result as JSON")
    .action(async (o) => {
      const { simulatePoolsCommand } = await import("./simulate-pools.js");
      setCode(simulatePoolsCommand(io, o));
    });

  program
    .command("plan")
    .description("capacity planning from the config alone: nodes and pods that fit, exhaustion under growth, mask for a target")
    .option("--config <file>", "config file (any of the three formats)")
    .option("--cidr <cidr>", "pool CIDR instead of a config (repeatable)", arg.cidr)
    .option("--mask <n>", "node mask size with --cidr (default 24 for IPv4, 120 for IPv6)", arg.mask)
    .option("--pods-per-node <p>", "max pods per node (Kubernetes maxPods)", arg.int(1, 1_000_000), 110)
    .option("--nodes <n>", "nodes in the cluster now", arg.int(0, 100_000_000))
    .option("--growth <rate>", "node growth: nodes per period (200/month) or a rate (5%/month)", arg.growth)
    .option("--target-nodes <n>", "find the node mask that fits this many nodes", arg.int(1, 100_000_000))
    .option("--json", "print JSON")
    .action(async (o) => {
      const { planCommand } = await import("./plan.js");
      setCode(planCommand(io, o));
    });

  program
    .command("carve")
    .description("print the node subnet table of a config: node-1..node-N and their pod CIDRs")
    .option("--config <file>", "config file (any of the three formats)")
    .option("--pools <file>", "CiliumPodIPPool objects (one, a List, or YAML documents): named pools (multi-pool), with or instead of --config")
    .option("--nodes <n>", "nodes to add (default: numBigHoleIPAMs, else up to 256; with named pools, per pool)", arg.int(1, 1_000_000))
    .option("--json", "print JSON")
    .action(async (o) => {
      const { carveCommand } = await import("./carve.js");
      setCode(carveCommand(io, o));
    });

  program
    .command("import")
    .description("import a CiliumNode list (kubectl get ciliumnodes -o json|yaml) into a state file; conflicts per node (exit 1 if any)")
    .argument("<file>", "CiliumNode list, JSON or YAML")
    .option("--state <file>", "state file (created with --config if absent)")
    .option("--store <url>", "shared pool on etcd instead: etcd://HOST:PORT[,HOST:PORT]/PREFIX (created with --config if absent)")
    .option("--config <file>", "pool config, to create the state file or store")
    .option("--pools <file>", "CiliumPodIPPool objects (one, a List, or YAML documents): named pools (multi-pool), with or instead of --config")
    .option("--json", "print JSON")
    .action(async (file: string, o) => {
      const { importCommand } = await import("./state.js");
      setCode(await importCommand(io, file, o));
    });

  program
    .command("export")
    .description("print a state file's nodes as a CiliumNode List (JSON)")
    .option("--state <file>", "state file")
    .option("--store <url>", "shared pool on etcd instead: etcd://HOST:PORT[,HOST:PORT]/PREFIX")
    .option("-o, --output <file>", "write to a file instead of stdout")
    .action(async (o) => {
      const { exportCommand } = await import("./state.js");
      setCode(await exportCommand(io, o));
    });

  program
    .command("lookup")
    .description("which node and pod hold an IP (exit 1 if no node subnet holds it)")
    .argument("<ip>", "IPv4 or IPv6 address")
    .option("--state <file>", "state file")
    .option("--store <url>", "shared pool on etcd instead: etcd://HOST:PORT[,HOST:PORT]/PREFIX")
    .option("--json", "print JSON")
    .action(async (ip: string, o) => {
      const { lookupCommand } = await import("./state.js");
      setCode(await lookupCommand(io, ip, o));
    });

  program
    .command("check")
    .description("leaks and consistency of a state file against the cluster (calicoctl ipam check): stale nodes and pods, addresses without owner, counters; exit 1 if any")
    .requiredOption("--state <file>", "state file")
    .option("--nodes <file>", "kubectl get nodes -o json (nodes not in it that hold subnets are leaks)")
    .option("--pods <file>", "kubectl get pods -A -o json (owners namespace/name not in it that hold addresses are leaks)")
    .option("--release", "free the leaks an earlier check reported at least --grace ago (takes the state's lock)")
    .option("--grace <t>", "how long a leak must have been reported before --release frees it (default 15m)", grace)
    .option("--candidates <file>", "where the leaks of each check are kept (default: <state>.leaks.json)")
    .option("--json", "print JSON")
    .action(async (o) => {
      const { checkCommand } = await import("./check.js");
      setCode(checkCommand(io, o));
    });

  program
    .command("bench")
    .description("run the benchmark suite and print (or write) its table")
    .option("--json", "print the records as JSON")
    .option("--filter <text>", "only benchmarks whose name contains text")
    .option("--quick", "fewer iterations")
    .option("-o, --output <file>", "write the table (or JSON) to a file")
    .option("-q, --quiet", "no progress lines")
    .action(async (o) => {
      const { benchCommand } = await import("./bench.js");
      setCode(await benchCommand(io, o));
    });

  program
    .command("version")
    .description("print the version")
    .addOption(new Option("--json", "print JSON"))
    .action((o: { json?: boolean }) => {
      io.out(o.json ? JSON.stringify({ ipcarve: VERSION, node: process.versions.node }) + "\n" : `ipcarve ${VERSION}\n`);
      setCode(EXIT_OK);
    });

  return program;
}

/** Runs the CLI on argv (without node and script); returns the exit code. */
export async function main(argv: readonly string[], io: Io = processIo()): Promise<number> {
  let code = EXIT_OK;
  const program = build(io, (c) => { code = c; });
  try {
    await program.parseAsync([...argv], { from: "user" });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === "commander.helpDisplayed" || e.code === "commander.version") return EXIT_OK;
      return EXIT_USAGE; // commander has printed the message, naming the flag
    }
    if (e instanceof UsageError) {
      io.err(`ipcarve: ${e.message}\n(run with --help for usage)\n`);
      return EXIT_USAGE;
    }
    if (e instanceof ConfigError || e instanceof CliError || e instanceof IpamError) {
      io.err(`${e.message}\n`);
      return EXIT_FAILURE;
    }
    io.err(`ipcarve: ${e instanceof Error ? (process.env.IPCARVE_DEBUG ? e.stack : e.message) : String(e)}\n`);
    return EXIT_FAILURE;
  }
}
