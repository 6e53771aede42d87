#include "cmclip/datasets/list_writer.hpp"

#include <cerrno>
#include <cstring>

#include "cmclip/core/error.hpp"

namespace cmclip::datasets {

TsvListWriter::TsvListWriter(const std::string& path) : out_(path), stream_(out_.temp_path(), std::ios::binary) {
  if (!stream_) throw RuntimeFailure(out_.path(), "", "cannot create");
  stream_ << "path\tlabel\tmodality\tattack_type\tsubject\tvideo\tframe\n";
}

void TsvListWriter::add(const Row& row) {
  stream_ << row.path << '\t' << (row.label == kLive ? "live" : "attack") << '\t' << modality_name(row.modality) << '\t'
          << row.attack_type << '\t' << row.subject << '\t' << row.video << '\t' << row.frame << '\n';
}

void TsvListWriter::finish() {
  stream_.close();
  if (!stream_)
    throw RuntimeFailure(out_.path(), "", std::string("cannot write (disk full?): ") + std::strerror(errno));
}

}  // namespace cmclip::datasets
