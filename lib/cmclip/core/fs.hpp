// Files: atomic outputs and small path helpers.
#pragma once
#include <string>

namespace cmclip {

// An output file written under a temporary name in the same folder and renamed into
// place by commit(). Until then the final path is untouched: a failed, interrupted
// or killed run never leaves a file that looks whole, and the previous output stays.
// The destructor (and a fatal signal) removes an uncommitted temporary file.
class AtomicOutput {
 public:
  // Checks at once that the folder exists and is writable (exit status 2 otherwise),
  // so a long run does not fail at its very end.
  explicit AtomicOutput(std::string final_path);
  ~AtomicOutput();
  AtomicOutput(const AtomicOutput&) = delete;
  AtomicOutput& operator=(const AtomicOutput&) = delete;

  const std::string& path() const { return final_; }
  const std::string& temp_path() const { return temp_; }
  // fsync the temporary file, rename it onto the final path, fsync the folder.
  void commit();
  // Remove the temporary file now (also done by the destructor).
  void discard();
  bool committed() const { return committed_; }

 private:
  std::string final_, temp_;
  int slot_ = -1;
  bool committed_ = false;
};

// Fails with a clear message (exit status 2) when `path` cannot be created: missing
// folder, folder not writable, or path is a folder.
void check_output_path(const std::string& path);
// Fails (exit status 2) when `path` does not exist or is not a readable file.
void check_input_file(const std::string& path);

std::string dirname_of(const std::string& path);   // "." for a bare name
std::string basename_of(const std::string& path);
// `path` if absolute, else `base_dir/path`.
std::string join_path(const std::string& base_dir, const std::string& path);
bool file_exists(const std::string& path);
// The canonical absolute path of an existing file or folder (realpath).
std::string absolute_path(const std::string& path);
bool is_directory(const std::string& path);
std::string read_file(const std::string& path);

}  // namespace cmclip
