// A validator built against the installed package: one bft::node::Node running the
// key-value application, the only validator of its own network, runs for a moment and
// commits blocks alone. Everything
// it needs (key, configuration, data directory) goes into a fresh temporary directory.
// Exit 0 when it committed at least one block and stopped cleanly.
#include <bft/crypto/ed25519.hpp>
#include <bft/crypto/key_file.hpp>
#include <bft/node/block_store.hpp>
#include <bft/node/config.hpp>
#include <bft/node/kv_application.hpp>
#include <bft/node/node.hpp>
#include <stdlib.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

int main() {
  namespace fs = std::filesystem;
  std::string pattern = (fs::temp_directory_path() / "bft-validator-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) return 1;
  const fs::path dir = pattern;

  const auto signer = bft::crypto::Ed25519Signer::generate();
  if (!bft::crypto::write_key_file(dir / "node.key", signer).ok()) return 1;
  std::ofstream(dir / "node.json") << R"({"chain_id": "consumer", "listen": "127.0.0.1:0", "http": "127.0.0.1:0",
      "key_file": "node.key", "data_dir": "data",
      "validators": [{"public_key": ")" + bft::crypto::to_hex(signer.public_key()) + R"(", "address": "127.0.0.1:1"}]})";

  auto config = bft::node::load_config(dir / "node.json");
  auto key = bft::crypto::read_key_file(dir / "node.key");
  if (!config || !key) return 1;
  const bft::node::Logger logger(bft::node::LogLevel::warn, "consumer");
  auto app = bft::node::KvApplication::open((dir / "data" / "app").string());
  if (!app) {
    std::fprintf(stderr, "validator: %s\n", app.error().message.c_str());
    return 1;
  }
  auto node = bft::node::Node::open(std::move(*config), std::move(*key), **app, logger);
  if (!node) {
    std::fprintf(stderr, "validator: %s\n", node.error().message.c_str());
    return 1;
  }
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    (*node)->stop();
  });
  const int code = (*node)->run();
  stopper.join();
  node->reset();

  auto blocks = bft::node::BlockStore::open((dir / "data" / "blocks").string());
  const bft::Height committed = blocks ? blocks->tip() : 0;
  std::printf("validator: exit %d, %llu blocks committed alone\n", code, static_cast<unsigned long long>(committed));
  fs::remove_all(dir);
  return code == 0 && committed > 0 ? 0 : 1;
}
