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

#include "scenario.hpp"

namespace fs = std::filesystem;

namespace {

void usage() {
  std::cerr << "usage: bft-conformance [--trace] [--quiet] PATH...\n"
               "  PATH   a scenario file, or a directory searched recursively for *.json\n"
               "  --trace  print the event-by-event trace of every failing scenario\n"
               "  --quiet  print only failures and the summary\n";
}

}  // namespace

int main(int argc, char** argv) {
  bool trace = false;
  bool quiet = false;
  std::vector<fs::path> files;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--trace") { trace = true; continue; }
    if (arg == "--quiet") { quiet = true; continue; }
    if (arg == "-h" || arg == "--help") { usage(); return 0; }
    std::error_code ec;
    if (fs::is_directory(arg, ec)) {
      for (const auto& entry : fs::recursive_directory_iterator(arg))
        if (entry.is_regular_file() && entry.path().extension() == ".json") files.push_back(entry.path());
    } else if (fs::is_regular_file(arg, ec)) {
      files.emplace_back(arg);
    } else {
      std::cerr << "bft-conformance: no such file or directory: " << arg << "\n";
      return 2;
    }
  }
  if (files.empty()) {
    usage();
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
