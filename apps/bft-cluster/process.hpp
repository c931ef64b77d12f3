// Child processes for bft-cluster: long-running nodes and short `ip` commands. Every
// child gets its own process group (a Ctrl-C at the terminal reaches bft-cluster only,
// which then shuts the nodes down in order) and dies with bft-cluster if that is killed.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "bft/result.hpp"

namespace bft::cluster {

/// Starts argv[0] (searched in PATH) with stdout and stderr appended to `log`.
Result<pid_t> spawn(const std::vector<std::string>& argv, const std::filesystem::path& log);

/// Runs a command to completion. Errors (io_error) carry its output when it fails.
Result<void> run_command(const std::vector<std::string>& argv);

/// How a reaped child ended, e.g. "exit code 1" or "killed by signal 9".
std::string describe_wait_status(int status);

/// Whether `status` (from waitpid) is a plain exit 0.
bool exited_cleanly(int status);

/// The last `lines` lines of a text file, for failure reports.
std::string tail_of(const std::filesystem::path& file, std::size_t lines);

}  // namespace bft::cluster
