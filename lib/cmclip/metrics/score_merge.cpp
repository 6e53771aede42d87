#include "cmclip/metrics/score_merge.hpp"

#include <algorithm>
#include <charconv>
#include <memory>
#include <set>

#include <fmt/format.h>

#include "cmclip/core/error.hpp"
#include "cmclip/core/log.hpp"
#include "cmclip/h5/schema.hpp"

namespace cmclip::metrics {

namespace {
bool parse_int(const std::string& text, int64_t& out) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return !text.empty() && ec == std::errc() && ptr == end;
}

// What a shard says about itself, read without loading its rows.
struct ShardHeader {
  std::string path, model_hash, fingerprint;
  int64_t total = 0;
  ShardSpec shard;
  std::vector<int64_t> index;
};

ShardHeader read_header(const std::string& path) {
  h5::File f = h5::File::open(path);
  h5::check_format(f, kScoresFormat, kScoresVersion);
  ShardHeader h;
  h.path = path;
  for (const char* name : {kShardModelHash, kShardSamplesFingerprint, kShardSamplesTotal, kShardAttr})
    if (!f.has_attr(name))
      throw InputError(path, std::string("attribute ") + name,
                       "missing: merge takes the shard files of `fas-embed --shard I/N` runs, which record "
                       "model_hash, samples_fingerprint, samples_total and shard");
  h.model_hash = f.attr_string(kShardModelHash);
  h.fingerprint = f.attr_string(kShardSamplesFingerprint);
  h.total = f.attr_int(kShardSamplesTotal);
  h.shard = ShardSpec::parse(f.attr_string(kShardAttr), path + ": attribute shard");
  if (h.total < 0) throw InputError(path, "attribute samples_total", fmt::format("negative ({})", h.total));
  h5::Dataset idx = f.dataset("index");
  idx.expect({h5::DType::i64}, {-1});
  h.index = idx.read<int64_t>();
  return h;
}

// The first run of consecutive indices from `start` held by both sorted lists.
std::pair<int64_t, int64_t> shared_run(std::vector<int64_t> a, std::vector<int64_t> b, int64_t start, int64_t* shared) {
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  std::vector<int64_t> both;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(both));
  *shared = static_cast<int64_t>(both.size());
  auto it = std::lower_bound(both.begin(), both.end(), start);
  int64_t last = start;
  while (++it != both.end() && *it == last + 1) ++last;
  return {start, last};
}

std::string index_range(int64_t first, int64_t last) {
  return first == last ? fmt::format("index {}", first) : fmt::format("indices {}..{}", first, last);
}

// Checks the shards against each other; returns where each store index is held:
// file_of[index] and row_of[index].
void plan_merge(const std::vector<ShardHeader>& shards, std::vector<int32_t>& file_of, std::vector<int64_t>& row_of) {
  const ShardHeader& first = shards.front();
  for (const auto& h : shards) {
    if (h.model_hash != first.model_hash)
      throw InputError(h.path, "attribute model_hash",
                       fmt::format("'{}' differs from '{}' in {}: the shards were scored by different models",
                                   h.model_hash, first.model_hash, first.path));
    if (h.fingerprint != first.fingerprint)
      throw InputError(h.path, "attribute samples_fingerprint",
                       fmt::format("'{}' differs from '{}' in {}: the shards come from different sample stores",
                                   h.fingerprint, first.fingerprint, first.path));
    if (h.total != first.total)
      throw InputError(h.path, "attribute samples_total",
                       fmt::format("{} differs from {} in {}", h.total, first.total, first.path));
    if (h.shard.count != first.shard.count)
      throw InputError(h.path, "attribute shard",
                       fmt::format("shard {} is one of {} shards, but {} is shard {}", h.shard.str(), h.shard.count,
                                   first.path, first.shard.str()));
  }
  file_of.assign(static_cast<size_t>(first.total), -1);
  row_of.assign(static_cast<size_t>(first.total), -1);
  for (size_t f = 0; f < shards.size(); ++f) {
    const auto& h = shards[f];
    for (size_t r = 0; r < h.index.size(); ++r) {
      int64_t k = h.index[r];
      if (k < 0 || k >= first.total)
        throw InputError(h.path, fmt::format("/index[{}]", r),
                         fmt::format("sample index {} is outside the store's 0..{}", k, first.total - 1));
      if (file_of[k] >= 0) {
        const auto& other = shards[file_of[k]];
        int64_t shared = 0;
        auto [a, b] =
            other.path == h.path ? std::pair<int64_t, int64_t>{k, k} : shared_run(other.index, h.index, k, &shared);
        if (other.path == h.path)
          throw InputError(h.path, fmt::format("/index[{}]", r), fmt::format("index {} appears twice in this file", k));
        throw InputError(fmt::format("overlap: {} and {} both hold {} ({} shared rows in all; shards {} and {})",
                                     other.path, h.path, index_range(a, b), shared, other.shard.str(), h.shard.str()));
      }
      file_of[k] = static_cast<int32_t>(f);
      row_of[k] = static_cast<int64_t>(r);
    }
  }
  auto hole = std::find(file_of.begin(), file_of.end(), -1);
  if (hole != file_of.end()) {
    int64_t a = hole - file_of.begin(), b = a;
    while (b + 1 < first.total && file_of[b + 1] < 0) ++b;
    std::set<int64_t> present;
    for (const auto& h : shards) present.insert(h.shard.index);
    std::string missing;
    for (int64_t i = 0; i < first.shard.count; ++i)
      if (!present.count(i)) missing += (missing.empty() ? "" : ", ") + ShardSpec{i, first.shard.count}.str();
    throw InputError(fmt::format("gap: no input holds {} of the {} samples of the store{}", index_range(a, b),
                                 first.total, missing.empty() ? "" : fmt::format(" (shards missing: {})", missing)));
  }
}

// Visits the merged rows in index order, loading each shard when its first row is
// needed and releasing it after its last, so contiguous shards are held one at a time.
template <class Sink>
void merge_rows(const std::vector<std::string>& paths, Sink&& sink) {
  if (paths.empty()) throw UsageError("merge: no input files");
  std::vector<ShardHeader> headers;
  for (const auto& p : paths) headers.push_back(read_header(p));
  std::vector<int32_t> file_of;
  std::vector<int64_t> row_of;
  plan_merge(headers, file_of, row_of);
  std::vector<int64_t> last_use(paths.size(), -1);
  for (size_t k = 0; k < file_of.size(); ++k) last_use[file_of[k]] = static_cast<int64_t>(k);

  std::vector<std::unique_ptr<ScoreSet>> loaded(paths.size());
  const ScoreSet* reference = nullptr;  // the first file's layout and attributes
  std::unique_ptr<ScoreSet> reference_keep;
  for (size_t k = 0; k < file_of.size(); ++k) {
    const int32_t f = file_of[k];
    if (!loaded[f]) {
      loaded[f] = std::make_unique<ScoreSet>(read_scores(paths[f], true, false));
      const ScoreSet& s = *loaded[f];
      if (!reference) {
        reference_keep = std::make_unique<ScoreSet>();  // layout only, rows dropped
        reference_keep->has_score = s.has_score;
        reference_keep->feature_dim = s.feature_dim;
        reference_keep->attack_names = s.attack_names;
        reference_keep->attrs = s.attrs;
        reference_keep->attrs.erase(kShardAttr);
        reference_keep->path = s.path;
        reference = reference_keep.get();
        sink.begin(*reference);
      }
      if (s.has_score != reference->has_score)
        throw InputError(s.path, "/score",
                         fmt::format("{} /score but {} {}", s.has_score ? "has" : "lacks", reference->path,
                                     reference->has_score ? "has one" : "does not"));
      if (s.feature_dim != reference->feature_dim)
        throw InputError(s.path, "/features",
                         fmt::format("feature size {} differs from {} in {}", s.feature_dim, reference->feature_dim,
                                     reference->path));
      if (s.attack_names != reference->attack_names)
        throw InputError(s.path, "/attack_names",
                         fmt::format("differs from {} (different sample stores?)", reference->path));
    }
    sink.row(*loaded[f], static_cast<size_t>(row_of[k]));
    if (last_use[f] == static_cast<int64_t>(k)) loaded[f].reset();
  }
  if (!reference) {  // an empty store: every shard is empty
    ScoreSet s = read_scores(paths.front(), true, false);
    s.attrs.erase(kShardAttr);
    sink.begin(s);
  }
  log::info("merged {} shards: {} rows", paths.size(), file_of.size());
}

void append_row(ScoreSet& out, const ScoreSet& in, size_t r) {
  out.score.push_back(in.score[r]);
  out.label.push_back(in.label[r]);
  out.attack.push_back(in.attack[r]);
  out.modality.push_back(in.modality[r]);
  out.subject.push_back(in.subject[r]);
  out.video.push_back(in.video[r]);
  out.source.push_back(in.source[r]);
  out.index.push_back(in.index[r]);
  if (in.feature_dim > 0)
    out.features.insert(out.features.end(), in.features.begin() + r * in.feature_dim,
                        in.features.begin() + (r + 1) * in.feature_dim);
}
}  // namespace

ShardSpec ShardSpec::parse(const std::string& text, const std::string& what) {
  auto slash = text.find('/');
  ShardSpec s;
  if (slash == std::string::npos || !parse_int(text.substr(0, slash), s.index) ||
      !parse_int(text.substr(slash + 1), s.count) || s.count < 1 || s.index < 0 || s.index >= s.count)
    throw UsageError(
        fmt::format("{}: '{}' is not I/N with 0 <= I < N (e.g. 0/4 .. 3/4; "
                    "with SLURM: --shard $SLURM_ARRAY_TASK_ID/N and --array=0-(N-1))",
                    what, text));
  return s;
}

std::string ShardSpec::str() const { return fmt::format("{}/{}", index, count); }

std::pair<int64_t, int64_t> ShardSpec::rows(int64_t total) const {
  auto at = [&](int64_t i) { return static_cast<int64_t>((static_cast<__int128>(i) * total) / count); };
  return {at(index), at(index + 1)};
}

ScoreSet merge_score_shards(const std::vector<std::string>& paths) {
  struct Collect {
    ScoreSet out;
    void begin(const ScoreSet& layout) {
      out.path = layout.path;
      out.has_score = layout.has_score;
      out.feature_dim = layout.feature_dim;
      out.attack_names = layout.attack_names;
      out.attrs = layout.attrs;
    }
    void row(const ScoreSet& in, size_t r) { append_row(out, in, r); }
  } collect;
  merge_rows(paths, collect);
  return std::move(collect.out);
}

int64_t merge_score_files(const std::vector<std::string>& paths, const std::string& output) {
  struct Write {
    std::string output;
    std::unique_ptr<ScoreWriter> writer;
    void begin(const ScoreSet& layout) {
      writer = std::make_unique<ScoreWriter>(output, layout.feature_dim, layout.has_score);
      writer->set_attack_names(layout.attack_names);
      for (const auto& [name, value] : layout.attrs)
        if (!is_writer_owned_attr(name)) writer->set_attr(name, value);
    }
    void row(const ScoreSet& in, size_t r) {
      ScoreRow row{in.index[r],    in.score[r],   in.label[r], in.attack[r],
                   in.modality[r], in.subject[r], in.video[r], in.source[r]};
      writer->append(row, in.feature_dim > 0 ? in.features.data() + r * in.feature_dim : nullptr);
    }
  } write{output, nullptr};
  merge_rows(paths, write);
  int64_t rows = write.writer->size();
  write.writer->commit();
  return rows;
}

}  // namespace cmclip::metrics
