// Files: atomic outputs and small path helpers.
#pragma once
#include <cstddef>
#include <string>

namespace cmclip {

// An output file, or a folder of files, written under a temporary name in the same
// folder and renamed into place by commit(). Until then the final path is untouched: a
// failed, interrupted or killed run never leaves output that looks whole, and the
// previous output stays. The destructor removes an uncommitted temporary file or
// folder (a fatal signal removes a file; a folder's temporary name starts with a dot).
class AtomicOutput {
 public:
  enum class Kind { file, folder };
  // Checks at once that the parent folder exists and is writable (exit status 2
  // otherwise), so a long run does not fail at its very end. A folder's final path must
  // not exist or be an empty folder (a UsageError otherwise: earlier output is never
  // mixed with new files); its temporary folder is created now.
  explicit AtomicOutput(std::string final_path, Kind kind = Kind::file);
  ~AtomicOutput();
  AtomicOutput(const AtomicOutput&) = delete;
  AtomicOutput& operator=(const AtomicOutput&) = delete;

  const std::string& path() const { return final_; }
  const std::string& temp_path() const { return temp_; }
  // A folder: creates `relative` (and its parents) inside the temporary folder.
  void make_dirs(const std::string& relative) const;
  // fsync the temporary file (a folder: its files are written by write_bytes), rename
  // it onto the final path, fsync the parent folder.
  void commit();
  // Remove the temporary file or folder now (also done by the destructor).
  void discard();
  bool committed() const { return committed_; }

 private:
  std::string final_, temp_;
  Kind kind_;
  int slot_ = -1;
  bool committed_ = false;
};

// Writes `size` bytes to `path` (RuntimeFailure naming the file, or `name` when given:
// the final path of a file written into an atomic output folder).
void write_bytes(const std::string& path, const void* data, size_t size, const std::string& name = "");

// Fails with a clear message (exit status 2) when `path` cannot be created: missing
// folder, folder not writable, or path is a folder.
void check_output_path(const std::string& path);
// Fails (exit status 2) when `path` does not exist or is not a readable file.
void check_input_file(const std::string& path);

std::string dirname_of(const std::string& path);  // "." for a bare name
std::string basename_of(const std::string& path);
// `path` if absolute, else `base_dir/path`.
std::string join_path(const std::string& base_dir, const std::string& path);
bool file_exists(const std::string& path);
// The canonical absolute path of an existing file or folder (realpath).
std::string absolute_path(const std::string& path);
bool is_directory(const std::string& path);
std::string read_file(const std::string& path);
// Where fetched models and vocabularies live: $CMCLIP_HOME, else $HOME/.cache/cmclip
// (./.cache/cmclip without HOME).
std::string cmclip_home();

}  // namespace cmclip
