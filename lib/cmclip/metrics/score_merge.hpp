// Sharded scoring (`fas-embed --shard I/N`, e.g. one SLURM array task per shard) and
// the merge of the shard files (`fas-embed --merge a.h5 b.h5 ... -o all.h5`).
//
// Root attributes of a cmclip.scores file written by fas-embed from a sample store:
//   model_hash           string  hash of the checkpoint that scored it
//   samples_fingerprint  string  SampleStore::fingerprint() of the store scored
//   samples_total        int64   number of samples in that store
//   shard                string  "I/N" (0 <= I < N) on a shard; absent on a whole file
// /index holds each row's sample index in the store. A merge requires every input to
// carry the first three (equal across inputs) and `shard`, and the union of the
// /index columns to be 0..samples_total-1, each exactly once. The merged rows are in
// index order and the merged file has the attributes of a whole, unsharded file, so
// merge(shards) equals the unsharded output bit for bit.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "cmclip/h5/scores.hpp"

namespace cmclip::metrics {

inline constexpr const char* kShardModelHash = "model_hash";
inline constexpr const char* kShardSamplesFingerprint = "samples_fingerprint";
inline constexpr const char* kShardSamplesTotal = "samples_total";
inline constexpr const char* kShardAttr = "shard";

// A contiguous, deterministic shard: shard `index` of `count` (0-based).
struct ShardSpec {
  int64_t index = 0;
  int64_t count = 1;
  // "I/N" with 0 <= I < N; UsageError (exit 2) otherwise, naming `what` (the option).
  static ShardSpec parse(const std::string& text, const std::string& what = "--shard");
  std::string str() const;  // "I/N"
  // Rows [first, second) of a store of `total` rows: [floor(I*T/N), floor((I+1)*T/N)).
  std::pair<int64_t, int64_t> rows(int64_t total) const;
};

// Reads the shard files, checks that they come from one model and one sample store
// and cover the store's rows exactly once (InputError, exit 2, naming the first gap
// as an index range, or the files that share an index range), and returns the rows
// in index order with the attributes of a whole file (no `shard`). Features are kept.
ScoreSet merge_score_shards(const std::vector<std::string>& paths);

// merge_score_shards written to `output` (atomic; the same writer as an unsharded run).
// Returns the number of rows.
int64_t merge_score_files(const std::vector<std::string>& paths, const std::string& output);

}  // namespace cmclip::metrics
