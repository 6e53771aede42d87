// The score TSV of `fas-embed -o - --format tsv`, read by fas-eval (man fas-formats(5)):
//
//   source<TAB>video<TAB>attack_type<TAB>label<TAB>score      (header, exactly this)
//   frames/a.png<TAB>v001<TAB><TAB>live<TAB>0.9731
//   frames/b.png<TAB>v002<TAB>print<TAB>attack<TAB>0.0412
//
// One line per sample; `label` is `live` or `attack`; `attack_type` is empty for
// bona fide and names the attack type otherwise; `score` is P(live) written as the
// shortest decimal that reads back as the same float32. In the text fields a
// backslash, tab, newline and carriage return are written \\, \t, \n and \r, so
// every line has exactly five fields. Lines end in \n (a \r before it is ignored).
#pragma once
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "cmclip/h5/scores.hpp"

namespace cmclip::metrics {

inline constexpr const char* kScoreTsvHeader = "source\tvideo\tattack_type\tlabel\tscore";

// Streams score lines (constant memory): fas-embed prints with it.
class ScoreTsvWriter {
 public:
  // The header line comes first; `name` names the output in messages.
  explicit ScoreTsvWriter(std::ostream& out, std::string name = "stdout");
  ~ScoreTsvWriter();  // flushes (errors ignored: call flush())
  // `attack_type` must be empty exactly when `label` is kLive.
  void write(const std::string& source, const std::string& video, const std::string& attack_type, int8_t label,
             float score);
  // A score-file row; its attack code names an entry of `attack_names` ([0] = bona fide).
  void write(const ScoreRow& row, const std::vector<std::string>& attack_names);
  int64_t lines() const { return lines_; }
  // Writes what is buffered; RuntimeFailure when the stream fails (full disk, closed pipe).
  void flush();

 private:
  std::ostream& out_;
  std::string name_;
  std::string buffer_;
  int64_t lines_ = 0;
};

// Every row of a score set, in order.
void write_score_tsv(std::ostream& out, const ScoreSet& set);

struct ScoreTsvRow {
  int64_t line = 0;  // 1-based line number in the input
  std::string source, video, attack_type;
  int8_t label = 1;  // kLive / kAttack
  float score = 0;   // finite
};

// Reads a score TSV, calling `row` for each sample line. `name` names the input in
// errors ("-" reads as "stdin"). Errors (InputError, exit 2) name the line: a wrong
// header, a wrong number of fields, an unknown label, a score that is not a finite
// number, an attack type on a bona fide line or none on an attack line, a bad escape.
void read_score_tsv(std::istream& in, const std::string& name, const std::function<void(const ScoreTsvRow&)>& row);
// Whole-file form: a ScoreSet with index = row number, attack codes in order of first
// appearance, modality rgb and subject -1 (the TSV does not carry them).
ScoreSet read_score_tsv(std::istream& in, const std::string& name);

// How an input path is named in messages: "-" is "stdin".
std::string display_name(const std::string& path);

// Text-field escaping of the format (exposed for the tests).
std::string tsv_escape(const std::string& field);
// Returns false on a malformed escape (a lone backslash or an unknown letter).
bool tsv_unescape(const std::string& field, std::string& out);

}  // namespace cmclip::metrics
