// Conventions shared by the three file schemas (docs/design.md §4, man fas-formats(5)):
// a root attribute `format` naming the schema, `format_version`, and provenance.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cmclip/h5/h5.hpp"

namespace cmclip::h5 {

// Root attributes format, format_version, created_by, command_line, created_at.
void write_provenance(const Group& root, const std::string& format, int64_t version);

// The last step of every writer before it closes its file: what was written so far
// is flushed to disk (H5Fflush), and only then are the provenance and format
// attributes set. A file cut short (SIGKILL, a crash) before that point lacks its
// format attribute, so it is never taken for a valid file of the schema; cut short
// after it, it holds everything already.
void seal(const File& file, const std::string& format, int64_t version);

// A writer's last steps on its file: the row count (attribute `count_name`), the
// attributes the writer was given, seal(), and the file closed and released. Renaming
// it into place is left to the writer's AtomicOutput.
void finish_file(std::unique_ptr<File>& file, const std::string& count_name, int64_t count,
                 const std::map<std::string, AttrValue>& attrs, const std::string& format, int64_t version);

// The columns that sample stores and score files share (label, attack, modality,
// subject, video, source), rows [start, start + rows.size()), from any row type with
// those fields (SampleMeta, ScoreRow).
template <class Row>
void write_shared_columns(const Group& g, int64_t start, const std::vector<Row>& rows) {
  const int64_t n = static_cast<int64_t>(rows.size());
  std::vector<int8_t> label, modality;
  std::vector<int16_t> attack;
  std::vector<int32_t> subject;
  std::vector<std::string> video, source;
  for (const Row& r : rows) {
    label.push_back(r.label);
    attack.push_back(r.attack);
    modality.push_back(static_cast<int8_t>(r.modality));
    subject.push_back(r.subject);
    video.push_back(r.video);
    source.push_back(r.source);
  }
  g.dataset("label").write_rows(start, n, label.data());
  g.dataset("attack").write_rows(start, n, attack.data());
  g.dataset("modality").write_rows(start, n, modality.data());
  g.dataset("subject").write_rows(start, n, subject.data());
  g.dataset("video").write_strings(start, video);
  g.dataset("source").write_strings(start, source);
}

// The label columns of a sample store or score file: label, attack and attack_names.
struct LabelColumns {
  std::vector<int8_t> label;
  std::vector<int16_t> attack;
  std::vector<std::string> attack_names;
};

// Reads the label columns of a file of n rows, checked: label int8 [n], attack int16 [n],
// attack_names strings, not empty (entry 0 names bona fide); every label 1 (live) or 0
// (attack), every attack code an entry of attack_names, 0 on a live row and not 0 on an
// attack row. An InputError names the file, the dataset and the row. The one check of
// these columns for every reader (sample store, score file, fas-eval's input).
LabelColumns read_label_columns(const Group& g, const std::string& path, int64_t n);

// Fails unless every code of a modality column names a modality (0 rgb, 1 depth,
// 2 nir, 3 thermal); the InputError names the file and the row.
void check_modality_codes(const std::string& path, const std::vector<int8_t>& codes);

// Fails (exit status 2) unless the file's `format` is `format` and its
// `format_version` is between 1 and `newest_supported`; the message says what the
// file is instead (another cmclip schema, or not a cmclip file at all).
void check_format(const File& file, const std::string& format, int64_t newest_supported);

// The format attribute of an HDF5 file, or "" when it has none; an InputError when it
// cannot be read (a damaged file) or is not a string.
std::string format_of(const File& file);

}  // namespace cmclip::h5
