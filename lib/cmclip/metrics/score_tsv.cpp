#include "cmclip/metrics/score_tsv.hpp"

#include <charconv>
#include <cmath>
#include <istream>
#include <map>
#include <ostream>

#include <fmt/format.h>

#include "cmclip/core/error.hpp"
#include "cmclip/h5/samples.hpp"

namespace cmclip::metrics {

namespace {
constexpr size_t kFlushBytes = 1 << 16;
}  // namespace

std::string display_name(const std::string& path) { return path == "-" ? "stdin" : path; }

std::string tsv_escape(const std::string& field) {
  if (field.find_first_of("\\\t\n\r") == std::string::npos) return field;
  std::string out;
  out.reserve(field.size() + 8);
  for (char c : field) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        out += c;
    }
  }
  return out;
}

bool tsv_unescape(const std::string& field, std::string& out) {
  out.clear();
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] != '\\') {
      out += field[i];
      continue;
    }
    if (++i == field.size()) return false;
    switch (field[i]) {
      case '\\':
        out += '\\';
        break;
      case 't':
        out += '\t';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      default:
        return false;
    }
  }
  return true;
}

ScoreTsvWriter::ScoreTsvWriter(std::ostream& out, std::string name) : out_(out), name_(std::move(name)) {
  buffer_ = kScoreTsvHeader;
  buffer_ += '\n';
}

void ScoreTsvWriter::write(const std::string& source, const std::string& video, const std::string& attack_type,
                           int8_t label, float score) {
  if ((label == kLive) != attack_type.empty())
    throw RuntimeFailure(fmt::format("score TSV: sample '{}' is {} but its attack type is '{}'", source,
                                     label == kLive ? "live" : "an attack", attack_type));
  buffer_ += tsv_escape(source);
  buffer_ += '\t';
  buffer_ += tsv_escape(video);
  buffer_ += '\t';
  buffer_ += tsv_escape(attack_type);
  buffer_ += label == kLive ? "\tlive\t" : "\tattack\t";
  fmt::format_to(std::back_inserter(buffer_), "{}\n", score);  // shortest round-trip form
  ++lines_;
  if (buffer_.size() >= kFlushBytes) flush();
}

void ScoreTsvWriter::write(const ScoreRow& row, const std::vector<std::string>& attack_names) {
  if (row.attack < 0 || size_t(row.attack) >= attack_names.size())
    throw RuntimeFailure(fmt::format("score TSV: attack code {} has no name", row.attack));
  write(row.source, row.video, row.label == kLive ? std::string() : attack_names[row.attack], row.label, row.score);
}

void ScoreTsvWriter::flush() {
  out_.write(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
  buffer_.clear();
  out_.flush();
  if (!out_) throw RuntimeFailure(name_, "", "cannot write the score TSV (disk full? closed pipe?)");
}

ScoreTsvWriter::~ScoreTsvWriter() {
  if (buffer_.empty()) return;
  try {
    flush();
  } catch (...) {
  }
}

void write_score_tsv(std::ostream& out, const ScoreSet& set) {
  ScoreTsvWriter w(out);
  for (size_t i = 0; i < set.size(); ++i)
    w.write(set.source[i], set.video[i], set.label[i] == kLive ? std::string() : set.attack_names.at(set.attack[i]),
            set.label[i], set.score[i]);
  w.flush();
}

void read_score_tsv(std::istream& in, const std::string& name, const std::function<void(const ScoreTsvRow&)>& row) {
  const std::string file = display_name(name);
  std::string line;
  int64_t number = 0;
  auto fail = [&](const std::string& what) { throw InputError(file, fmt::format("line {}", number), what); };
  if (!std::getline(in, line)) {
    number = 1;
    fail(fmt::format("empty input; expected the header '{}'", "source<TAB>video<TAB>attack_type<TAB>label<TAB>score"));
  }
  number = 1;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line != kScoreTsvHeader)
    fail(
        "expected the header 'source<TAB>video<TAB>attack_type<TAB>label<TAB>score' (a fas-embed --format tsv "
        "output or a cmclip.scores HDF5 file)");
  ScoreTsvRow r;
  std::string_view field[5];
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    int count = 0;
    size_t start = 0;
    for (;;) {
      size_t tab = line.find('\t', start);
      if (count < 5)
        field[count] = std::string_view(line).substr(start, tab == std::string::npos ? std::string::npos : tab - start);
      ++count;
      if (tab == std::string::npos) break;
      start = tab + 1;
    }
    if (count != 5)
      fail(fmt::format("expected 5 tab-separated fields (source, video, attack_type, label, score), found {}", count));
    r.line = number;
    if (field[3] == "live") r.label = kLive;
    else if (field[3] == "attack") r.label = kAttack;
    else fail(fmt::format("label '{}' is neither 'live' nor 'attack'", field[3]));
    const char* begin = field[4].data();
    const char* end = begin + field[4].size();
    auto [ptr, ec] = std::from_chars(begin, end, r.score);
    if (field[4].empty() || ec != std::errc() || ptr != end) fail(fmt::format("score '{}' is not a number", field[4]));
    if (!std::isfinite(r.score)) fail(fmt::format("score '{}' is not finite", field[4]));
    const char* names[3] = {"source", "video", "attack_type"};
    std::string* outs[3] = {&r.source, &r.video, &r.attack_type};
    for (int k = 0; k < 3; ++k) {
      std::string raw(field[k]);
      if (raw.find('\\') == std::string::npos) *outs[k] = std::move(raw);
      else if (!tsv_unescape(raw, *outs[k]))
        fail(fmt::format("{} field has a malformed escape (only \\\\, \\t, \\n, \\r are defined)", names[k]));
    }
    if (r.label == kLive && !r.attack_type.empty())
      fail(fmt::format("a live sample has attack type '{}' (expected empty)", r.attack_type));
    if (r.label == kAttack && r.attack_type.empty()) fail("an attack sample has no attack type");
    row(r);
  }
  if (in.bad()) throw InputError(file, "", "read error");
}

ScoreSet read_score_tsv(std::istream& in, const std::string& name) {
  ScoreSet s;
  s.path = name;
  std::map<std::string, int16_t> codes;
  read_score_tsv(in, name, [&](const ScoreTsvRow& r) {
    int16_t code = 0;
    if (r.label == kAttack) {
      auto it = codes.find(r.attack_type);
      if (it == codes.end()) {
        if (s.attack_names.size() > 32767)
          throw InputError(display_name(name), fmt::format("line {}", r.line), "more than 32767 attack types");
        code = static_cast<int16_t>(s.attack_names.size());
        codes.emplace(r.attack_type, code);
        s.attack_names.push_back(r.attack_type);
      } else {
        code = it->second;
      }
    }
    s.index.push_back(static_cast<int64_t>(s.score.size()));
    s.score.push_back(r.score);
    s.label.push_back(r.label);
    s.attack.push_back(code);
    s.modality.push_back(0);
    s.subject.push_back(-1);
    s.video.push_back(r.video);
    s.source.push_back(r.source);
  });
  return s;
}

}  // namespace cmclip::metrics
