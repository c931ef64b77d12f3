// bft-conformance: runs bft-scenario/1 files against the core and judges them as
// ../shared/conformance/FORMAT.md says. Prints PASS/FAIL per scenario and
// "N passed, M failed"; exits 0 only if none failed.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "scenario.hpp"

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  bool trace = false;
  bool quiet = false;
  std::vector<std::string> paths;
  CLI::App app{"Runs bft-scenario/1 files against the core and judges them; exits 0 only if none failed.",
               "bft-conformance"};
  app.set_version_flag("--version", BFT_VERSION);
  app.add_option("PATH", paths, "a scenario file, or a directory searched recursively for *.json")->required();
  app.add_flag("--trace", trace, "print the event-by-event trace of every failing scenario");
  app.add_flag("--quiet", quiet, "print only failures and the summary");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    // --help and --version exit 0; every usage error exits 2.
    return app.exit(error) == 0 ? 0 : 2;
  }

  std::vector<fs::path> files;
  for (const std::string& path : paths) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
      for (const auto& entry : fs::recursive_directory_iterator(path))
        if (entry.is_regular_file() && entry.path().extension() == ".json") files.push_back(entry.path());
    } else if (fs::is_regular_file(path, ec)) {
      files.emplace_back(path);
    } else {
      std::cerr << "bft-conformance: no such file or directory: " << path << "\n";
      return 2;
    }
  }
  if (files.empty()) {
    std::cerr << "bft-conformance: no *.json scenario under the given paths\n";
    return 2;
  }
  std::sort(files.begin(), files.end());

  std::size_t passed = 0;
  std::size_t failed = 0;
  for (const auto& path : files) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    auto scenario = bft::conformance::parse_scenario(text.str());
    if (!scenario.ok()) {
      ++failed;
      std::cout << "FAIL " << path.string() << ": " << scenario.error().message << "\n";
      continue;
    }
    const auto verdict = bft::conformance::run_scenario(*scenario);
    if (verdict.passed) {
      ++passed;
      if (!quiet) std::cout << "PASS " << scenario->name << "\n";
    } else {
      ++failed;
      std::cout << "FAIL " << scenario->name << ": " << verdict.first_difference << "\n";
      if (trace)
        for (const auto& line : verdict.trace) std::cout << "    " << line << "\n";
    }
  }
  std::cout << passed << " passed, " << failed << " failed" << std::endl;
  return failed == 0 ? 0 : 1;
}
