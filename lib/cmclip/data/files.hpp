// Writing image folders and small files without leaving partial output behind.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace cmclip::data {

// Writes `bytes` to `path` (RuntimeFailure naming the file, or `name` when given: the
// final path of a file written into a staging folder).
void write_bytes(const std::string& path, const void* data, size_t size, const std::string& name = "");

// A folder filled under a temporary name beside its final path and renamed into place
// by commit(); destroyed uncommitted, the temporary tree is removed. The final path
// must not exist or be an empty folder (a UsageError otherwise, so earlier output is
// never mixed with new files).
class StagingFolder {
 public:
  explicit StagingFolder(std::string final_dir);
  ~StagingFolder();
  StagingFolder(const StagingFolder&) = delete;
  StagingFolder& operator=(const StagingFolder&) = delete;

  const std::string& final_path() const { return final_; }
  const std::string& temp_path() const { return temp_; }
  // Creates `relative` (and its parents) inside the temporary folder.
  void make_dirs(const std::string& relative);
  void commit();

 private:
  std::string final_, temp_;
  bool committed_ = false;
};

}  // namespace cmclip::data
