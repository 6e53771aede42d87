#include "cmclip/core/fs.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include <fmt/format.h>

#include "cmclip/core/error.hpp"
#include "cmclip/core/signals.hpp"

namespace cmclip {

std::string dirname_of(const std::string& path) {
  auto pos = path.find_last_of('/');
  if (pos == std::string::npos) return ".";
  if (pos == 0) return "/";
  return path.substr(0, pos);
}

std::string basename_of(const std::string& path) {
  auto pos = path.find_last_of('/');
  return pos == std::string::npos ? path : path.substr(pos + 1);
}

std::string join_path(const std::string& base_dir, const std::string& path) {
  if (path.empty() || path[0] == '/' || base_dir.empty() || base_dir == ".") return path;
  return base_dir.back() == '/' ? base_dir + path : base_dir + "/" + path;
}

bool file_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

std::string absolute_path(const std::string& path) {
  char buf[PATH_MAX];
  if (!::realpath(path.c_str(), buf)) throw InputError(path, "", std::string("cannot resolve: ") + std::strerror(errno));
  return buf;
}

bool is_directory(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

void check_output_path(const std::string& path) {
  if (path.empty()) throw UsageError("an output path is empty");
  std::string dir = dirname_of(path);
  if (!is_directory(dir))
    throw InputError(path, "", fmt::format("cannot write: folder '{}' does not exist", dir));
  if (::access(dir.c_str(), W_OK) != 0)
    throw InputError(path, "", fmt::format("cannot write: folder '{}' is not writable", dir));
  if (is_directory(path)) throw InputError(path, "", "cannot write: it is a folder");
}

void check_input_file(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    throw InputError(path, "", std::string("cannot open: ") + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) throw InputError(path, "", "expected a file, found a folder");
  if (::access(path.c_str(), R_OK) != 0) throw InputError(path, "", "cannot open: not readable");
}

std::string read_file(const std::string& path) {
  check_input_file(path);
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw InputError(path, "", "read error");
  return ss.str();
}

AtomicOutput::AtomicOutput(std::string final_path) : final_(std::move(final_path)) {
  check_output_path(final_);
  std::random_device rd;
  temp_ = join_path(dirname_of(final_),
                    fmt::format(".{}.tmp-{}-{:08x}", basename_of(final_), ::getpid(), rd()));
  slot_ = signals::register_temp(temp_);
}

AtomicOutput::~AtomicOutput() { discard(); }

void AtomicOutput::discard() {
  if (!committed_) ::unlink(temp_.c_str());
  signals::unregister_temp(slot_);
  slot_ = -1;
}

void AtomicOutput::commit() {
  if (committed_) return;
  int fd = ::open(temp_.c_str(), O_RDONLY);
  if (fd < 0)
    throw RuntimeFailure(final_, "", fmt::format("temporary file {} vanished before commit", temp_));
  if (::fsync(fd) != 0) {
    int err = errno;
    ::close(fd);
    throw RuntimeFailure(final_, "", std::string("cannot flush to disk: ") + std::strerror(err));
  }
  ::close(fd);
  if (::rename(temp_.c_str(), final_.c_str()) != 0)
    throw RuntimeFailure(final_, "", std::string("cannot move into place: ") + std::strerror(errno));
  committed_ = true;
  signals::unregister_temp(slot_);
  slot_ = -1;
  int dfd = ::open(dirname_of(final_).c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

}  // namespace cmclip
