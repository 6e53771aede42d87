// Writes a list in the tsv format that read_list(..., ListFormat::tsv) reads back
// (fas-preprocess(1)): a header naming the columns, then one row per image file. The
// list is written under a temporary name (core/fs.hpp's AtomicOutput) and appears at
// its path only on commit(), so a failed run leaves no half-written list.
#pragma once
#include <cstdint>
#include <fstream>
#include <string>

#include "cmclip/core/fs.hpp"
#include "cmclip/core/modality.hpp"

namespace cmclip::datasets {

class TsvListWriter {
 public:
  struct Row {
    std::string path;  // relative to the folder the list is read against
    int8_t label = kLive;
    Modality modality = Modality::rgb;
    std::string attack_type;  // "" for bona fide
    std::string subject;
    std::string video;
    int32_t frame = -1;
  };

  // Checks the folder at once (exit status 2) and writes the header.
  explicit TsvListWriter(const std::string& path);
  void add(const Row& row);
  // Flushes and closes the temporary file; a write error (a full disk) is a RuntimeFailure.
  void finish();
  void commit() { out_.commit(); }
  const std::string& path() const { return out_.path(); }

 private:
  AtomicOutput out_;
  std::ofstream stream_;
};

}  // namespace cmclip::datasets
