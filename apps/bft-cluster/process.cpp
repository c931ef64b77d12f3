#include "process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <fstream>

namespace bft::cluster {

namespace {

/// Between fork and exec only async-signal-safe calls: everything is prepared before.
[[noreturn]] void exec_child(char* const* argv, int output_fd, pid_t parent) {
  setpgid(0, 0);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127);  // the parent died before prctl took effect
  dup2(output_fd, STDOUT_FILENO);
  dup2(output_fd, STDERR_FILENO);
  const int null_fd = open("/dev/null", O_RDONLY);
  if (null_fd >= 0) dup2(null_fd, STDIN_FILENO);
  execvp(argv[0], argv);
  const char message[] = "bft-cluster: exec failed\n";
  [[maybe_unused]] auto ignored = write(STDERR_FILENO, message, sizeof message - 1);
  _exit(127);
}

Result<pid_t> fork_exec(const std::vector<std::string>& args, int output_fd) {
  std::vector<char*> argv;
  for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) return make_error(Errc::io_error, std::string("fork: ") + std::strerror(errno));
  if (pid == 0) exec_child(argv.data(), output_fd, parent);
  return pid;
}

std::string joined(const std::vector<std::string>& argv) {
  std::string text;
  for (const std::string& arg : argv) text += (text.empty() ? "" : " ") + arg;
  return text;
}

}  // namespace

Result<pid_t> spawn(const std::vector<std::string>& argv, const std::filesystem::path& log) {
  const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return make_error(Errc::io_error, "cannot open " + log.string() + ": " + std::strerror(errno));
  auto pid = fork_exec(argv, fd);
  close(fd);
  return pid;
}

Result<void> run_command(const std::vector<std::string>& argv) {
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return make_error(Errc::io_error, std::string("pipe: ") + std::strerror(errno));
  auto pid = fork_exec(argv, pipe_fds[1]);
  close(pipe_fds[1]);
  std::string output;
  char buffer[512];
  for (ssize_t n; (n = read(pipe_fds[0], buffer, sizeof buffer)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    output.append(buffer, static_cast<std::size_t>(n));
  }
  close(pipe_fds[0]);
  if (!pid) return pid.error();
  int status = 0;
  while (waitpid(*pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (exited_cleanly(status)) return {};
  while (!output.empty() && output.back() == '\n') output.pop_back();
  return make_error(Errc::io_error, "'" + joined(argv) + "' failed (" + describe_wait_status(status) + ")" +
                                        (output.empty() ? "" : ": " + output));
}

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return "exit code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "wait status " + std::to_string(status);
}

bool exited_cleanly(int status) { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }

std::string tail_of(const std::filesystem::path& file, std::size_t lines) {
  std::ifstream in(file);
  std::deque<std::string> last;
  for (std::string line; std::getline(in, line);) {
    last.push_back(std::move(line));
    if (last.size() > lines) last.pop_front();
  }
  std::string text;
  for (const std::string& line : last) text += "    | " + line + "\n";
  return text;
}

}  // namespace bft::cluster
