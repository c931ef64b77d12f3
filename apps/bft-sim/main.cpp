// bft-sim: runs seeded simulations of a cluster of shipped bftcore replicas, with a lossy
// network, partitions, crashes and Byzantine validators, and checks agreement, validity,
// double signing and liveness. Every run is reproducible from its seed.
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

#include "bft/sim/simulation.hpp"
#include "bft/sim/summary.hpp"

namespace {

using namespace bft::sim;
using WallClock = std::chrono::steady_clock;

struct Cli {
  SimOptions options;
  std::uint64_t first_seed = 1;
  std::uint64_t seeds = 1;
  bool json = false;
  bool quiet = false;
  std::string timeline;
  TimelineOptions timeline_options;
  /// Where the timelines of failing seeds are written (the first few of them).
  std::string failure_timeline_dir = ".";
  std::vector<std::string> reproduce_args;  // the options that define the cluster, not the seeds
};

[[noreturn]] void fail_usage(const std::string& message) {
  std::fprintf(stderr, "bft-sim: %s\n(see bft-sim --help)\n", message.c_str());
  std::exit(2);
}

// Values are read here rather than by CLI11's conversions, which would also take 0x..
// and a leading 0 as octal: every number stays decimal, as the options document.
template <class T>
T parse_number(std::string_view text) {
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty())
    throw CLI::ValidationError("expects a number, not '" + std::string(text) + "'");
  return value;
}

double parse_probability(std::string_view text) {
  const double p = parse_number<double>(text);
  if (!(p >= 0 && p <= 1)) throw CLI::ValidationError("expects a probability in [0, 1]");
  return p;
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  while (true) {
    const auto at = text.find(separator);
    parts.push_back(text.substr(0, at));
    if (at == std::string_view::npos) return parts;
    text.remove_prefix(at + 1);
  }
}

template <class T>
T must(bft::Result<T> result) {
  if (!result) throw CLI::ValidationError(result.error().message);
  return std::move(result.value());
}

using ApplyValue = std::function<void(const std::string&)>;

/// Runs `apply` on an option's value; its errors name the option.
void apply_named(const std::string& name, const ApplyValue& apply, const std::string& value) {
  try {
    apply(value);
  } catch (const CLI::ValidationError& error) {
    throw CLI::ValidationError(name, error.what());
  }
}

/// An option whose value `apply` reads (a repeated option's last value counts).
void add_value_option(CLI::App& app, const std::string& name, const std::string& value_name,
                      const std::string& help, const std::string& group, ApplyValue apply) {
  app.add_option_function<std::string>(
         name, [name, apply = std::move(apply)](const std::string& value) { apply_named(name, apply, value); },
         help)
      ->type_name(value_name)
      ->group(group);
}

/// An option that may be given many times; `apply` reads each value in turn.
void add_repeatable_option(CLI::App& app, const std::string& name, const std::string& value_name,
                           const std::string& help, const std::string& group, ApplyValue apply) {
  app.add_option_function<std::vector<std::string>>(
         name,
         [name, apply = std::move(apply)](const std::vector<std::string>& values) {
           for (const std::string& value : values) apply_named(name, apply, value);
         },
         help)
      ->type_name(value_name)
      ->group(group)
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
}

Cli parse(int argc, char** argv) {
  Cli cli;
  std::vector<LinkDelaySpec> link_delays;
  CLI::App app{"Simulates a cluster of bftcore validators in virtual time and checks agreement, validity,\n"
               "double signing and liveness. The same options and seed reproduce the same run exactly.",
               "bft-sim"};
  app.set_version_flag("--version", BFT_VERSION);
  // A repeated option's last value counts (a script may append an override), unless it is repeatable.
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);

  // The options that define the cluster also go into each failure's reproduce command.
  auto defines_cluster = [&cli](const std::string& name, ApplyValue apply) -> ApplyValue {
    return [&cli, name, apply = std::move(apply)](const std::string& value) {
      apply(value);
      cli.reproduce_args.push_back(name);
      cli.reproduce_args.push_back(value);
    };
  };
  auto cluster_option = [&](const std::string& name, const std::string& value_name, const std::string& help,
                            const std::string& group, ApplyValue apply) {
    add_value_option(app, name, value_name, help, group, defines_cluster(name, std::move(apply)));
  };
  auto repeatable_cluster_option = [&](const std::string& name, const std::string& value_name,
                                       const std::string& help, const std::string& group, ApplyValue apply) {
    add_repeatable_option(app, name, value_name, help, group, defines_cluster(name, std::move(apply)));
  };
  auto cluster_flag = [&](const std::string& name, const std::string& help, bool& target) {
    app.add_flag_callback(
           name,
           [&cli, &target, name] {
             target = true;
             cli.reproduce_args.push_back(name);
           },
           help)
        ->group("faults");
  };

  cluster_option("--validators", "N", "validators (default 4)", "cluster",
                 [&](const std::string& v) { cli.options.validators = parse_number<std::size_t>(v); });
  cluster_option("--weights", "W,W,...", "vote power (and propose weight) of each validator (default 1 each)",
                 "cluster", [&](const std::string& v) {
                   cli.options.weights.clear();
                   for (auto w : split(v, ',')) cli.options.weights.push_back(parse_number<std::uint64_t>(w));
                 });
  cluster_option("--heights", "H", "heights every correct node must decide (default 10)", "cluster",
                 [&](const std::string& v) { cli.options.heights = parse_number<bft::Height>(v); });
  cluster_option("--proposer", "RULE", "rr | wrr | seed-pcg (default wrr: weighted round robin)", "cluster",
                 [&](const std::string& v) {
                   const auto rule = parse_proposer_rule(v);
                   if (!rule) throw CLI::ValidationError("expects rr, wrr or seed-pcg");
                   cli.options.proposer = *rule;
                 });
  cluster_option("--timeouts-ms", "P,V,C",
                 "propose, prevote and precommit base timeouts; each round adds half (default 500,200,200)", "cluster",
                 [&](const std::string& v) {
                   const auto parts = split(v, ',');
                   if (parts.size() != 3) throw CLI::ValidationError("expects PROPOSE,PREVOTE,PRECOMMIT");
                   bft::TimeoutRule* rules[] = {&cli.options.consensus.propose, &cli.options.consensus.prevote,
                                                &cli.options.consensus.precommit};
                   for (std::size_t k = 0; k < 3; ++k) {
                     const auto base = parse_number<std::int64_t>(parts[k]);
                     *rules[k] = {bft::Duration{base}, bft::Duration{base / 2}};
                   }
                 });
  cluster_flag("--disk-faults",
               "crashes may be a failed fsync or a flipped bit in a synced WAL or guard byte (needs --crash-restart)",
               cli.options.disk_faults);
  cluster_flag("--wipe-disks-on-crash",
               "a broken node for testing the checkers: crashed nodes restart with empty disks (needs --crash-restart)",
               cli.options.wipe_disks_on_crash);
  cluster_flag("--real-crypto", "sign with ed25519 instead of the simulation's hash signatures (slower)",
               cli.options.real_crypto);
  cluster_flag("--blocks",
               "each node runs the engine bft-node runs (block store in memory, mempool, start-up handshake) with a "
               "simulated application, and clients send transactions",
               cli.options.blocks);

  add_value_option(app, "--seed", "S", "run seed S (default 1)", "seeds",
                   [&](const std::string& v) { cli.first_seed = parse_number<std::uint64_t>(v); });
  add_value_option(app, "--seeds", "K", "run K seeds: S, S+1, ..., S+K-1", "seeds", [&](const std::string& v) {
    cli.seeds = parse_number<std::uint64_t>(v);
    if (cli.seeds == 0) throw CLI::ValidationError("expects at least 1");
  });

  cluster_option("--full-nodes", "K", "K more nodes without a vote at genesis, which follow the chain (default 0)",
                 "cluster", [&](const std::string& v) { cli.options.full_nodes = parse_number<std::size_t>(v); });
  cluster_option("--validator-change-every", "P",
                 "every P heights a block changes the set: a full node joins or leaves, or without full nodes a "
                 "correct validator's power goes up or back (default 0: never)",
                 "cluster", [&](const std::string& v) { cli.options.validator_change_every = parse_number<bft::Height>(v); });
  cluster_option("--byzantine", "F", "F Byzantine validators, drawn per seed (default 0)", "faults",
                 [&](const std::string& v) { cli.options.byzantine = parse_number<std::size_t>(v); });
  cluster_option("--fault", "KIND", "equivocate | silent | random | amnesia (default equivocate)", "faults",
                 [&](const std::string& v) {
                   const auto fault = parse_fault(v);
                   if (!fault) throw CLI::ValidationError("expects equivocate, silent, random or amnesia");
                   cli.options.fault = *fault;
                 });
  cluster_flag("--allow-unsafe", "allow Byzantine power of a third or more (n < 3f + 1)", cli.options.allow_unsafe);
  cluster_flag("--crash-restart",
               "crash correct nodes at random points (also mid-write) and restart them from their WAL",
               cli.options.crash_restart);

  cluster_option("--delay-ms", "A..B", "per-message delay range of every link (default 10..50)", "network",
                 [&](const std::string& v) {
                   const auto range = must(parse_ms_range(v));
                   cli.options.network.default_link.min_delay = range.first;
                   cli.options.network.default_link.max_delay = range.second;
                 });
  repeatable_cluster_option("--link-delay", "I-J:A..B", "delay range of the link I -> J (J may be *); repeatable",
                            "network", [&](const std::string& v) { link_delays.push_back(must(parse_link_delay(v))); });
  cluster_option("--drop", "P", "loss probability (default 0)", "network",
                 [&](const std::string& v) { cli.options.network.default_link.drop = parse_probability(v); });
  cluster_option("--duplicate", "P", "duplication probability (default 0)", "network",
                 [&](const std::string& v) { cli.options.network.default_link.duplicate = parse_probability(v); });
  cluster_option("--reorder", "P", "probability that a message is held back so later ones overtake it", "network",
                 [&](const std::string& v) { cli.options.network.default_link.reorder = parse_probability(v); });
  repeatable_cluster_option(
      "--partition", "SPEC",
      "e.g. 0,1|2,3@1000..5000 (groups of nodes, active 1000 ms to 5000 ms; one group isolates it from the rest); "
      "repeatable or ';'-separated",
      "network", [&](const std::string& v) {
        for (auto spec : split(v, ';'))
          if (!spec.empty()) cli.options.network.partitions.push_back(must(parse_partition(spec)));
      });
  cluster_option("--gossip-ms", "G", "how often replicas re-send their own messages (default 4 x max delay)", "network",
                 [&](const std::string& v) { cli.options.gossip_interval = must(parse_ms_range(v)).first; });
  cluster_option("--liveness-ms", "L",
                 "time after the last heal within which every correct node must reach the target height "
                 "(default derived from timeouts and heights)", "network",
                 [&](const std::string& v) { cli.options.liveness_bound = must(parse_ms_range(v)).first; });

  app.add_flag("--json", cli.json, "end stdout with one JSON object of totals")->group("output");
  app.add_option("--timeline", cli.timeline, "draw the run as an SVG timeline (single seed only)")
      ->type_name("FILE.svg")
      ->group("output");
  add_value_option(app, "--timeline-window", "A..B", "draw only this window of simulated time (ms)", "output",
                   [&](const std::string& v) {
                     const auto window = must(parse_ms_range(v));
                     cli.timeline_options.from = window.first;
                     cli.timeline_options.to = window.second;
                   });
  app.add_option("--failure-timelines", cli.failure_timeline_dir,
                 "directory for the timelines of the first 10 failing seeds, seed-S.svg (default: here; "
                 "'none' writes none)")
      ->type_name("DIR")
      ->group("output");
  app.add_flag("--quiet", cli.quiet, "no progress display")->group("output");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    // --help and --version exit 0; every usage error exits 2.
    std::exit(app.exit(error) == 0 ? 0 : 2);
  }

  // Link overrides start from the default link, so they apply after --drop and friends.
  for (const LinkDelaySpec& spec : link_delays) {
    for (std::uint32_t to = 0; to < cli.options.validators; ++to) {
      if (to == spec.from || (spec.to && *spec.to != to)) continue;
      LinkModel link = cli.options.network.default_link;
      link.min_delay = spec.min_delay;
      link.max_delay = spec.max_delay;
      cli.options.network.set_link(spec.from, to, link);
    }
  }
  if (!cli.timeline.empty() && cli.seeds != 1) fail_usage("--timeline draws a single seed; drop --seeds");
  if (auto ok = cli.options.validate(); !ok) fail_usage(ok.error().message);
  return cli;
}

std::string reproduce_command(const Cli& cli, std::uint64_t seed) {
  std::string command = "bft-sim";
  for (const std::string& arg : cli.reproduce_args) {
    const bool plain = arg.find_first_of(" |;*\"'") == std::string::npos;
    command += plain ? " " + arg : " '" + arg + "'";
  }
  return command + " --seed " + std::to_string(seed) + " --timeline seed-" + std::to_string(seed) + ".svg";
}

/// The progress display on stderr: a line redrawn in place on a terminal, plain lines
/// every few seconds otherwise (logs, CI).
class ProgressDisplay {
 public:
  ProgressDisplay(bool enabled, std::uint64_t seeds)
      : enabled_(enabled), live_(isatty(STDERR_FILENO) == 1), seeds_(seeds), started_(WallClock::now()) {}

  void update(const Progress& p, std::uint64_t seeds_done, std::uint64_t failed, bool final_for_seed) {
    if (!enabled_) return;
    const auto now = WallClock::now();
    const auto interval = live_ ? std::chrono::milliseconds(100) : std::chrono::milliseconds(2000);
    const bool last = final_for_seed && seeds_done == seeds_;
    if (!last && now - last_print_ < interval) return;
    last_print_ = now;
    const double wall_s = std::chrono::duration<double>(now - started_).count();
    char line[256];
    std::snprintf(line, sizeof line,
                  "seed %llu | height %llu/%llu (fastest %llu) | round changes %llu | simulated %.1f s | seeds %llu/%llu"
                  " done, %llu failed | %.1f s",
                  static_cast<unsigned long long>(p.seed), static_cast<unsigned long long>(p.lowest_height),
                  static_cast<unsigned long long>(p.target), static_cast<unsigned long long>(p.highest_height),
                  static_cast<unsigned long long>(p.round_changes), to_ms(p.now) / 1000,
                  static_cast<unsigned long long>(seeds_done), static_cast<unsigned long long>(seeds_),
                  static_cast<unsigned long long>(failed), wall_s);
    if (live_) {
      std::fprintf(stderr, "\r\033[2K%s%s", line, last ? "\n" : "");
    } else {
      std::fprintf(stderr, "progress: %s\n", line);
    }
    std::fflush(stderr);
  }

 private:
  bool enabled_;
  bool live_;
  std::uint64_t seeds_;
  WallClock::time_point started_;
  WallClock::time_point last_print_{};
};

void report_failure(const Cli& cli, const RunResult& run) {
  std::printf("FAIL seed %llu:%s\n", static_cast<unsigned long long>(run.seed),
              run.complete ? "" : (run.stopped_on_violation ? " (stopped at the first violation)" : " (incomplete)"));
  std::size_t shown = 0;
  for (const Violation& v : run.violations) {
    if (shown++ == 5) {
      std::printf("  ... %zu more\n", run.violations.size() - 5);
      break;
    }
    std::printf("  %s at %.3f ms: %s\n", std::string(to_string(v.kind)).c_str(), to_ms(v.at), v.detail.c_str());
  }
  if (!run.byzantine_nodes.empty()) {
    std::printf("  byzantine:");
    for (auto node : run.byzantine_nodes) std::printf(" v%u", node);
    std::printf("\n");
  }
  std::printf("  reproduce: %s\n", reproduce_command(cli, run.seed).c_str());
}

bool write_timeline(const Trace& trace, const std::string& path, const TimelineOptions& options) {
  std::ofstream file(path);
  write_timeline_svg(trace, file, options);
  if (!file) std::fprintf(stderr, "bft-sim: cannot write %s\n", path.c_str());
  return static_cast<bool>(file);
}

/// Runs a failed seed again with a trace (the same run: a seed determines it) and draws it.
void write_failure_timeline(const Cli& cli, std::uint64_t seed) {
  Trace trace;
  RunHooks hooks;
  hooks.trace = &trace;
  if (!run_simulation(cli.options, seed, hooks)) return;
  const std::string path = cli.failure_timeline_dir + "/seed-" + std::to_string(seed) + ".svg";
  if (write_timeline(trace, path, cli.timeline_options)) std::printf("  timeline: %s\n", path.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  const Cli cli = parse(argc, argv);
  Summary summary;
  ProgressDisplay display(!cli.quiet, cli.seeds);
  const auto started = WallClock::now();
  std::uint64_t done = 0;
  std::uint64_t failure_timelines = 0;

  for (std::uint64_t k = 0; k < cli.seeds; ++k) {
    const std::uint64_t seed = cli.first_seed + k;
    Trace trace;
    RunHooks hooks;
    if (!cli.timeline.empty()) hooks.trace = &trace;
    hooks.progress_every = 4096;
    hooks.progress = [&](const Progress& p) { display.update(p, done, summary.seeds_failed(), false); };
    auto run = run_simulation(cli.options, seed, hooks);
    if (!run) fail_usage(run.error().message);
    ++done;
    summary.add(*run);
    display.update(Progress{seed, run->end_time, run->heights_committed, run->heights_committed, cli.options.heights,
                            run->round_changes},
                   done, summary.seeds_failed(), true);
    if (run->failed()) {
      report_failure(cli, *run);
      if (cli.timeline.empty() && cli.failure_timeline_dir != "none" && failure_timelines++ < 10)
        write_failure_timeline(cli, seed);
    }
    if (!cli.timeline.empty()) {
      if (!write_timeline(trace, cli.timeline, cli.timeline_options)) return 2;
      std::printf("timeline: %s\n", cli.timeline.c_str());
    }
  }
  summary.set_wall_ms(std::chrono::duration<double, std::milli>(WallClock::now() - started).count());

  std::printf("bft-sim: %zu validators, %zu full nodes, %zu Byzantine (%s), %llu heights\n", cli.options.validators,
              cli.options.full_nodes,
              cli.options.byzantine, std::string(to_string(cli.options.fault)).c_str(),
              static_cast<unsigned long long>(cli.options.heights));
  std::fputs(summary.to_text().c_str(), stdout);
  const bool ok = summary.seeds_failed() == 0 && summary.seeds_incomplete() == 0;
  std::printf("result: %s\n", ok ? "PASS" : "FAIL");
  if (cli.json) std::printf("%s\n", summary.to_json().c_str());
  return ok ? 0 : 1;
}
