// Which samples a training epoch visits, in which order, in which batch.
//  - A pool holds the trainable samples of one store per class (live, attack), as
//    single frames or as groups (videos) from which each epoch draws one frame.
//  - K-shot selection: K videos per class (K frames where there is no video key),
//    drawn deterministically from the seed.
//  - Epoch plans are balanced (the minority class oversampled to the majority, every
//    batch half live, half attack), can mix in a replay store at a fixed ratio, and
//    depend only on (seed, epoch, global batch size): each rank of a data-parallel
//    run takes its slice of every global batch, so N ranks x batch B see exactly the
//    samples that 1 rank x batch N·B sees.
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

struct Pool {
  // groups[c] lists the groups of class c (0 attack, 1 live); a group is a video's
  // frames (one drawn per epoch) or a single frame.
  std::vector<std::vector<int64_t>> groups[2];
  std::vector<std::string> group_keys[2];
  // The store's record numbers (empty when it has none): augmentation is seeded by
  // record, so the co-registered modalities of one capture are augmented alike.
  std::vector<int64_t> records;
  size_t count(int cls) const { return groups[cls].size(); }
};

// Every sample of `store` (of modality `m` when given) as its own group.
Pool full_pool(const SampleStore& store, std::optional<Modality> m);
// K videos per class of modality `m` (K frames per class when the store has no video
// keys), chosen with `seed`. Fails (exit 2) when a class has fewer than K.
Pool kshot_pool(const SampleStore& store, Modality m, int k, uint64_t seed);

struct PlanOptions {
  int64_t global_batch = 8;   // batch size x world size; even
  double replay_ratio = 0;    // share of each batch drawn from the replay pool
  uint64_t seed = 0;
};

// The global batches of one epoch: balanced, shuffled, full (wrapping around).
std::vector<std::vector<SampleRef>> plan_epoch(const Pool& target, const Pool* replay, int64_t epoch,
                                               const PlanOptions& o);
// The slice of a global batch that rank `rank` of `world` processes.
std::vector<SampleRef> rank_slice(const std::vector<SampleRef>& global_batch, int rank, int world);

}  // namespace cmclip::data
