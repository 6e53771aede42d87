#include "cmclip/core/fs.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
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
  if (!::realpath(path.c_str(), buf))
    throw InputError(path, "", std::string("cannot resolve: ") + std::strerror(errno));
  return buf;
}

bool is_directory(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

void check_output_path(const std::string& path) {
  if (path.empty()) throw UsageError("an output path is empty");
  std::string dir = dirname_of(path);
  if (!is_directory(dir)) throw InputError(path, "", fmt::format("cannot write: folder '{}' does not exist", dir));
  if (::access(dir.c_str(), W_OK) != 0)
    throw InputError(path, "", fmt::format("cannot write: folder '{}' is not writable", dir));
  if (is_directory(path)) throw InputError(path, "", "cannot write: it is a folder");
}

void check_input_file(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) throw InputError(path, "", std::string("cannot open: ") + std::strerror(errno));
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

namespace {
// Folders are handled with POSIX calls, not std::filesystem: the PyPI torch wheel's
// libtorch.so exports its own copy of std::filesystem::remove_all, which takes the
// place of libstdc++'s and crashes (a null function pointer) when called.
bool folder_is_empty(const std::string& path) {
  DIR* d = ::opendir(path.c_str());
  if (!d) return false;
  bool empty = true;
  while (dirent* e = ::readdir(d))
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) {
      empty = false;
      break;
    }
  ::closedir(d);
  return empty;
}

int remove_entry(const char* path, const struct stat*, int, struct FTW*) { return ::remove(path); }

// Removes `path` and everything under it (links are removed, not followed).
void remove_tree(const std::string& path) { ::nftw(path.c_str(), remove_entry, 16, FTW_DEPTH | FTW_PHYS); }

// Creates `relative` and its missing parents inside the existing folder `base`;
// RuntimeFailure naming the folder otherwise.
void make_folders(const std::string& base, const std::string& relative) {
  for (size_t slash = relative.find('/');; slash = relative.find('/', slash + 1)) {
    std::string path = join_path(base, relative.substr(0, slash));
    if (::mkdir(path.c_str(), 0755) != 0) {
      int err = errno;
      if (err != EEXIST || !is_directory(path))
        throw RuntimeFailure(
            path, "",
            std::string("cannot create folder: ") + (err == EEXIST ? "a file has its name" : std::strerror(err)));
    }
    if (slash == std::string::npos) break;
  }
}

// A folder's final path is new or an empty folder; its parent exists and is writable.
void check_output_folder(const std::string& path) {
  if (path.empty()) throw UsageError("an output folder path is empty");
  std::string parent = dirname_of(path);
  if (!is_directory(parent))
    throw InputError(path, "", fmt::format("cannot write: folder '{}' does not exist", parent));
  if (::access(parent.c_str(), W_OK) != 0)
    throw InputError(path, "", fmt::format("cannot write: folder '{}' is not writable", parent));
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) throw UsageError(fmt::format("{}: exists and is not a folder", path));
    if (!folder_is_empty(path))
      throw UsageError(fmt::format("{}: folder is not empty; give a new or empty folder", path));
  }
}

void fsync_folder(const std::string& path) {
  int dfd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}
}  // namespace

AtomicOutput::AtomicOutput(std::string final_path, Kind kind) : final_(std::move(final_path)), kind_(kind) {
  if (kind_ == Kind::folder) {
    while (final_.size() > 1 && final_.back() == '/') final_.pop_back();
    check_output_folder(final_);
  } else {
    check_output_path(final_);
  }
  std::random_device rd;
  temp_ = join_path(dirname_of(final_), fmt::format(".{}.tmp-{}-{:08x}", basename_of(final_), ::getpid(), rd()));
  if (kind_ == Kind::file) {
    slot_ = signals::register_temp(temp_);
    return;
  }
  if (::mkdir(temp_.c_str(), 0755) != 0)
    throw RuntimeFailure(temp_, "", std::string("cannot create folder: ") + std::strerror(errno));
}

AtomicOutput::~AtomicOutput() { discard(); }

void AtomicOutput::discard() {
  if (!committed_) {
    if (kind_ == Kind::folder) {
      remove_tree(temp_);
    } else {
      ::unlink(temp_.c_str());
    }
  }
  signals::unregister_temp(slot_);
  slot_ = -1;
}

void AtomicOutput::make_dirs(const std::string& relative) const { make_folders(temp_, relative); }

void AtomicOutput::commit() {
  if (committed_) return;
  if (kind_ == Kind::file) {
    int fd = ::open(temp_.c_str(), O_RDONLY);
    if (fd < 0) throw RuntimeFailure(final_, "", fmt::format("temporary file {} vanished before commit", temp_));
    if (::fsync(fd) != 0) {
      int err = errno;
      ::close(fd);
      throw RuntimeFailure(final_, "", std::string("cannot flush to disk: ") + std::strerror(err));
    }
    ::close(fd);
  }
  // rename(2) also replaces an empty folder atomically.
  if (::rename(temp_.c_str(), final_.c_str()) != 0)
    throw RuntimeFailure(final_, "", std::string("cannot move into place: ") + std::strerror(errno));
  committed_ = true;
  signals::unregister_temp(slot_);
  slot_ = -1;
  fsync_folder(dirname_of(final_));
}

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
  if (::close(fd) != 0)
    throw RuntimeFailure(shown, "", std::string("cannot write (disk full?): ") + std::strerror(errno));
}

std::string cmclip_home() {
  const char* home = std::getenv("CMCLIP_HOME");
  if (home && *home) return home;
  const char* user_home = std::getenv("HOME");
  return std::string(user_home ? user_home : ".") + "/.cache/cmclip";
}

}  // namespace cmclip
