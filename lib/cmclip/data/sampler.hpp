// Which samples a training epoch visits, in which order, in which batch.
//  - A pool holds the trainable samples of one store per class (live, attack), as
//    single frames or as groups (videos) from which each epoch draws one frame.
//  - K-shot selection: K videos per class (K stills where there is no video key),
//    drawn from the shot seed, and from each video N fixed frames: every epoch trains
//    on exactly these frames, so a K-shot run never sees more target frames than its
//    shot list names. The list can be written and read back (shots files).
//  - Epoch plans are balanced (the minority class oversampled to the majority, every
//    batch half live, half attack), can mix in a replay store at a fixed ratio, and
//    depend only on (seed, epoch, global batch size): each rank of a data-parallel
//    run takes its slice of every global batch, so N ranks x batch B see exactly the
//    samples that 1 rank x batch N·B sees. A sample repeated within an epoch (the
//    minority class or a small K oversampled) gets a fresh augmentation each time.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cmclip/h5/samples.hpp"

namespace cmclip::data {

struct SampleRef {
  int store = 0;          // 0 target (train), 1 replay
  int64_t index = 0;      // sample index in that store
  uint64_t aug_seed = 0;  // seeds the augmentation; equal for the modalities of a record
};

// One target frame of a K-shot selection: the class (0 attack, 1 live), the video key
// (the source path for stills), the frame id, and the sample index in the store.
struct Shot {
  int cls = 0;
  std::string video;
  int32_t frame = -1;
  int64_t index = -1;
};

struct Pool {
  // groups[c] lists the groups of class c (0 attack, 1 live); a group is a video's
  // frames (one drawn per epoch) or a single frame.
  std::vector<std::vector<int64_t>> groups[2];
  std::vector<std::string> group_keys[2];
  // The store's record numbers (empty when it has none): augmentation is seeded by
  // record, so the co-registered modalities of one capture are augmented alike.
  std::vector<int64_t> records;
  // K-shot pools: the frames selected, live first (empty for a full pool).
  std::vector<Shot> shots;
  size_t count(int cls) const { return groups[cls].size(); }
};

// Every sample of `store` (of modality `m` when given) as its own group.
Pool full_pool(const SampleStore& store, std::optional<Modality> m);
struct KshotOptions {
  int k = 5;                // videos per class (stills when the store has no video keys)
  int frames_per_shot = 1;  // fixed frames per video; 0 = every frame of the video
  uint64_t seed = 0;        // the shot seed (independent of the training seed)
};
// K videos per class of modality `m` and N frames of each, drawn with the shot seed;
// each selected frame is a group of its own. Fails (exit 2) when a class has fewer
// than K videos or a video fewer than N frames.
Pool kshot_pool(const SampleStore& store, Modality m, const KshotOptions& o);
inline Pool kshot_pool(const SampleStore& store, Modality m, int k, uint64_t seed) {
  return kshot_pool(store, m, KshotOptions{k, 1, seed});
}
// The pool of an explicit shot list (read_shots), matched against `store`'s samples of
// modality `m` by video key and frame; errors name `list_path`, the line and the entry.
Pool listed_shots_pool(const SampleStore& store, Modality m, const std::vector<Shot>& shots,
                       const std::string& list_path);

// Shots files: a header line, then one tab-separated line per frame:
//   label (live|attack), video (the source path for stills), frame (-1 for stills).
void write_shots(const std::string& path, const std::vector<Shot>& shots);
std::vector<Shot> read_shots(const std::string& path);
// Refuses (exit 2, naming both stores) a shot whose video or subject also appears in
// `other` (a dev or test store): few-shot samples must not come from evaluation data.
void check_shots_disjoint(const SampleStore& train, const std::vector<Shot>& shots, const SampleStore& other);

struct PlanOptions {
  int64_t global_batch = 8;  // batch size x world size; even with replay
  double replay_ratio = 0;   // share of each batch drawn from the replay pool
  uint64_t seed = 0;
  // Copies of an oversampled sample get their own augmentation draw; false repeats
  // the first copy's (identical tensors: kept only for ablations).
  bool distinct_copies = true;
};

// The global batches of one epoch: balanced, shuffled, full (wrapping around).
std::vector<std::vector<SampleRef>> plan_epoch(const Pool& target, const Pool* replay, int64_t epoch,
                                               const PlanOptions& o);
// The slice of a global batch that rank `rank` of `world` processes.
std::vector<SampleRef> rank_slice(const std::vector<SampleRef>& global_batch, int rank, int world);

}  // namespace cmclip::data
