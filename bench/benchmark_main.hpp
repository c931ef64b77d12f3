// main() of the Google Benchmark programs: CLI11 gives them the --help, --version and
// exit codes of every bftcore program (usage errors exit 2); the --benchmark_* flags
// pass through to Google Benchmark.
#pragma once

#include <benchmark/benchmark.h>

#include <CLI/CLI.hpp>
#include <string>

namespace bft::bench {

inline int benchmark_main(int argc, char** argv, const std::string& name, const std::string& description) {
  CLI::App app{description, name};
  app.set_version_flag("--version", BFT_VERSION);
  app.allow_extras();
  app.footer("Google Benchmark's flags pass through, each as --flag=value: --benchmark_filter=REGEX,\n"
             "--benchmark_min_time=SECONDS, --benchmark_out=FILE, --benchmark_out_format=json|console|csv,\n"
             "--benchmark_list_tests=true, ...");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error) == 0 ? 0 : 2;
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

}  // namespace bft::bench
