#include "netns.hpp"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "process.hpp"

namespace bft::cluster {

namespace {

constexpr const char* subnet_prefix = "10.77.0.";
constexpr const char* hub_address = "10.77.0.254/24";

}  // namespace

NetnsNetwork::~NetnsNetwork() {
  leave_hub();
  // Node namespaces first, the hub last: deleting a namespace deletes its veth ends.
  for (auto it = created_.rbegin(); it != created_.rend(); ++it)
    if (auto deleted = run_command({"ip", "netns", "delete", *it}); !deleted)
      std::fprintf(stderr, "bft-cluster: cleanup: %s\n", deleted.error().message.c_str());
}

std::string NetnsNetwork::node_namespace(std::size_t node) const { return prefix_ + "n" + std::to_string(node); }

std::string NetnsNetwork::node_address(std::size_t node) const { return subnet_prefix + std::to_string(node + 1); }

Result<void> NetnsNetwork::ip(std::vector<std::string> args) {
  args.insert(args.begin(), "ip");
  return run_command(args);
}

Result<void> NetnsNetwork::create(std::size_t nodes) {
  prefix_ = "bftc-" + std::to_string(getpid()) + "-";
  const std::string hub = prefix_ + "hub";
  auto add_namespace = [&](const std::string& name) -> Result<void> {
    if (auto added = ip({"netns", "add", name}); !added) return added;
    created_.push_back(name);
    return ip({"-n", name, "link", "set", "lo", "up"});
  };
  if (auto ok = add_namespace(hub); !ok) return ok;
  // With STP off a bridge port forwards as soon as it is up: a healed partition is
  // connected again at once.
  for (const auto& step : std::vector<std::vector<std::string>>{
           {"-n", hub, "link", "add", "br0", "type", "bridge", "stp_state", "0"},
           {"-n", hub, "addr", "add", hub_address, "dev", "br0"},
           {"-n", hub, "link", "set", "br0", "up"}})
    if (auto ok = ip(step); !ok) return ok;
  for (std::size_t i = 0; i < nodes; ++i) {
    const std::string name = node_namespace(i);
    const std::string port = "n" + std::to_string(i);
    if (auto ok = add_namespace(name); !ok) return ok;
    for (const auto& step : std::vector<std::vector<std::string>>{
             {"-n", hub, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", name},
             {"-n", hub, "link", "set", port, "master", "br0", "up"},
             {"-n", name, "addr", "add", node_address(i) + "/24", "dev", "eth0"},
             {"-n", name, "link", "set", "eth0", "up"}})
      if (auto ok = ip(step); !ok) return ok;
  }
  return {};
}

Result<void> NetnsNetwork::enter_hub() {
  original_namespace_fd_ = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  if (original_namespace_fd_ < 0)
    return make_error(Errc::io_error, std::string("cannot open /proc/self/ns/net: ") + std::strerror(errno));
  const std::string hub_path = "/var/run/netns/" + prefix_ + "hub";
  const int hub_fd = open(hub_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (hub_fd < 0) return make_error(Errc::io_error, "cannot open " + hub_path + ": " + std::strerror(errno));
  const int entered = setns(hub_fd, CLONE_NEWNET);
  const int setns_errno = errno;
  close(hub_fd);
  if (entered != 0) return make_error(Errc::io_error, std::string("setns into the hub namespace: ") + std::strerror(setns_errno));
  return {};
}

void NetnsNetwork::leave_hub() {
  if (original_namespace_fd_ < 0) return;
  if (setns(original_namespace_fd_, CLONE_NEWNET) != 0)
    std::fprintf(stderr, "bft-cluster: cannot return to the original network namespace: %s\n", std::strerror(errno));
  close(original_namespace_fd_);
  original_namespace_fd_ = -1;
}

Result<void> NetnsNetwork::set_connected(std::size_t node, bool connected) {
  return ip({"-n", prefix_ + "hub", "link", "set", "n" + std::to_string(node), connected ? "up" : "down"});
}

}  // namespace bft::cluster
