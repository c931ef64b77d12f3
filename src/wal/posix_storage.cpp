// POSIX files: every call's failure is an io_error carrying the call, the path and
// strerror; EINTR is retried and short writes are continued.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "bft/wal/storage.hpp"

namespace bft::wal {

namespace {

Error sys_error(const char* call, const std::string& path) {
  return make_error(Errc::io_error, std::string(call) + "(" + path + "): " + std::strerror(errno));
}

int close_retry(int fd) {
  // Linux closes the descriptor even when close() reports EINTR: never retry it.
  return ::close(fd);
}

/// Appends go to `end_` with pwrite, not O_APPEND: past the end there may be zeros
/// written by preallocate(), to be overwritten.
class PosixFile final : public LogFile {
 public:
  PosixFile(int fd, std::string path, std::uint64_t size) : fd_(fd), path_(std::move(path)), end_(size), size_(size) {}
  ~PosixFile() override { (void)close_retry(fd_); }
  PosixFile(const PosixFile&) = delete;
  PosixFile& operator=(const PosixFile&) = delete;

  Result<void> append(std::span<const std::uint8_t> bytes) override {
    if (auto ok = write_at(end_, bytes); !ok) return ok;
    end_ += bytes.size();
    size_ = std::max(size_, end_);
    return {};
  }

  Result<void> sync() override {
    while (::fdatasync(fd_) != 0) {
      if (errno != EINTR) return sys_error("fdatasync", path_);
    }
    return {};
  }

  Result<Bytes> read_all() override {
    struct stat st {};
    if (::fstat(fd_, &st) != 0) return sys_error("fstat", path_);
    Bytes out(static_cast<std::size_t>(st.st_size));
    std::size_t done = 0;
    while (done < out.size()) {
      const ssize_t n = ::pread(fd_, out.data() + done, out.size() - done, static_cast<off_t>(done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return sys_error("pread", path_);
      }
      if (n == 0) break;
      done += static_cast<std::size_t>(n);
    }
    out.resize(done);
    return out;
  }

  Result<void> truncate(std::uint64_t size) override {
    while (::ftruncate(fd_, static_cast<off_t>(size)) != 0) {
      if (errno != EINTR) return sys_error("ftruncate", path_);
    }
    end_ = size;
    size_ = size;
    return sync();
  }

  Result<void> preallocate(std::uint64_t bytes) override {
    static constexpr std::uint8_t zeros[64 * 1024] = {};
    const std::uint64_t target = end_ + bytes;
    while (size_ < target) {
      const std::size_t chunk = static_cast<std::size_t>(std::min<std::uint64_t>(sizeof zeros, target - size_));
      if (auto ok = write_at(size_, std::span<const std::uint8_t>(zeros, chunk)); !ok) return ok;
      size_ += chunk;
    }
    return sync();
  }

 private:
  Result<void> write_at(std::uint64_t offset, std::span<const std::uint8_t> bytes) {
    const std::uint8_t* p = bytes.data();
    std::size_t left = bytes.size();
    while (left > 0) {
      const ssize_t n = ::pwrite(fd_, p, left, static_cast<off_t>(offset));
      if (n < 0) {
        if (errno == EINTR) continue;
        return sys_error("pwrite", path_);
      }
      p += n;
      offset += static_cast<std::uint64_t>(n);
      left -= static_cast<std::size_t>(n);
    }
    return {};
  }

  int fd_;
  std::string path_;
  std::uint64_t end_;   // where the next append goes
  std::uint64_t size_;  // the file's size: end_ plus preallocated zeros
};

class PosixStorage final : public Storage {
 public:
  explicit PosixStorage(std::string directory) : dir_(std::move(directory)) {}

  Result<std::vector<std::string>> list() override {
    DIR* d = ::opendir(dir_.c_str());
    if (!d) return sys_error("opendir", dir_);
    std::vector<std::string> names;
    errno = 0;
    while (const dirent* e = ::readdir(d)) {
      const std::string name = e->d_name;
      if (name != "." && name != "..") names.push_back(name);
    }
    const int err = errno;
    ::closedir(d);
    if (err != 0) {
      errno = err;
      return sys_error("readdir", dir_);
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  Result<std::unique_ptr<LogFile>> open(std::string_view name, bool create) override {
    const std::string path = dir_ + "/" + std::string(name);
    int fd;
    do {
      fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0600);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) return sys_error("open", path);
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      Error error = sys_error("fstat", path);
      (void)close_retry(fd);
      return error;
    }
    return std::unique_ptr<LogFile>(std::make_unique<PosixFile>(fd, path, static_cast<std::uint64_t>(st.st_size)));
  }

  Result<void> remove(std::string_view name) override {
    const std::string path = dir_ + "/" + std::string(name);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return sys_error("unlink", path);
    return {};
  }

  Result<void> sync_directory() override {
    int fd;
    do {
      fd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) return sys_error("open", dir_);
    int rc;
    while ((rc = ::fsync(fd)) != 0 && errno == EINTR) {
    }
    if (rc != 0) {
      Error error = sys_error("fsync", dir_);
      (void)close_retry(fd);
      return error;
    }
    (void)close_retry(fd);
    return {};
  }

 private:
  std::string dir_;
};

}  // namespace

Result<std::unique_ptr<Storage>> open_directory(const std::string& directory) {
  if (::mkdir(directory.c_str(), 0700) != 0 && errno != EEXIST) return sys_error("mkdir", directory);
  struct stat st {};
  if (::stat(directory.c_str(), &st) != 0) return sys_error("stat", directory);
  if (!S_ISDIR(st.st_mode)) return make_error(Errc::io_error, directory + " is not a directory");
  return std::unique_ptr<Storage>(std::make_unique<PosixStorage>(directory));
}

}  // namespace bft::wal
