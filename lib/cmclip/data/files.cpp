#include "cmclip/data/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>

#include <fmt/format.h>

#include "cmclip/core/error.hpp"
#include "cmclip/core/fs.hpp"

namespace cmclip::data {

namespace fsys = std::filesystem;

void write_bytes(const std::string& path, const void* data, size_t size, const std::string& name) {
  const std::string& shown = name.empty() ? path : name;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) throw RuntimeFailure(shown, "", std::string("cannot create: ") + std::strerror(errno));
  const char* p = static_cast<const char*>(data);
  size_t left = size;
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      throw RuntimeFailure(shown, "", std::string("cannot write (disk full?): ") + std::strerror(err));
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (::close(fd) != 0) throw RuntimeFailure(shown, "", std::string("cannot write (disk full?): ") + std::strerror(errno));
}

StagingFolder::StagingFolder(std::string final_dir) : final_(std::move(final_dir)) {
  while (final_.size() > 1 && final_.back() == '/') final_.pop_back();
  if (final_.empty()) throw UsageError("an output folder path is empty");
  std::string parent = dirname_of(final_);
  if (!is_directory(parent))
    throw InputError(final_, "", fmt::format("cannot write: folder '{}' does not exist", parent));
  if (::access(parent.c_str(), W_OK) != 0)
    throw InputError(final_, "", fmt::format("cannot write: folder '{}' is not writable", parent));
  std::error_code ec;
  if (fsys::exists(final_, ec)) {
    if (!fsys::is_directory(final_, ec)) throw UsageError(fmt::format("{}: exists and is not a folder", final_));
    if (!fsys::is_empty(final_, ec))
      throw UsageError(fmt::format("{}: folder is not empty; give a new or empty folder", final_));
  }
  std::random_device rd;
  temp_ = join_path(dirname_of(final_), fmt::format(".{}.tmp-{}-{:08x}", basename_of(final_), ::getpid(), rd()));
  if (!fsys::create_directory(temp_, ec) || ec)
    throw RuntimeFailure(temp_, "", "cannot create folder: " + ec.message());
}

StagingFolder::~StagingFolder() {
  if (!committed_) {
    std::error_code ec;
    fsys::remove_all(temp_, ec);
  }
}

void StagingFolder::make_dirs(const std::string& relative) {
  std::error_code ec;
  fsys::create_directories(join_path(temp_, relative), ec);
  if (ec) throw RuntimeFailure(join_path(temp_, relative), "", "cannot create folder: " + ec.message());
}

void StagingFolder::commit() {
  if (committed_) return;
  // rename(2) replaces an empty folder atomically.
  if (::rename(temp_.c_str(), final_.c_str()) != 0)
    throw RuntimeFailure(final_, "", std::string("cannot move the images into place: ") + std::strerror(errno));
  committed_ = true;
}

}  // namespace cmclip::data
