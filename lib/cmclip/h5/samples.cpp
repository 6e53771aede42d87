#include "cmclip/h5/samples.hpp"

#include <algorithm>
#include <limits>

#include <fmt/format.h>

#include "cmclip/core/error.hpp"
#include "cmclip/core/fs.hpp"
#include "cmclip/core/sha256.hpp"
#include "cmclip/h5/schema.hpp"

namespace cmclip {

namespace {
constexpr int64_t kChunkRows = 64;  // samples buffered before a write
}

// ----- writer -----

SampleWriter::SampleWriter(const std::string& path, int height, int width, int channels)
    : out_(std::make_unique<AtomicOutput>(path)), h_(height), w_(width), c_(channels) {
  if (height <= 0 || width <= 0 || (channels != 1 && channels != 3))
    throw std::invalid_argument(fmt::format("sample store: bad image shape {}x{}x{}", height, width, channels));
  file_ = std::make_unique<h5::File>(h5::File::create(*out_));
  const h5::Group& g = *file_;
  auto big = h5::DatasetOptions::compressed({1, h_, w_, c_}, true);
  g.create_dataset("images", h5::DType::u8, {0, h_, w_, c_}, big);
  // Metadata columns are checksummed too (not the strings: HDF5 cannot), so a flipped
  // label is an error naming /label, not a silently wrong sample.
  auto meta = [](int64_t rows) { return h5::DatasetOptions::compressed({rows}, true); };
  g.create_dataset("label", h5::DType::i8, {0}, meta(4096)).set_attr("meaning", "1 = live (bona fide), 0 = attack");
  g.create_dataset("attack", h5::DType::i16, {0}, meta(4096))
      .set_attr("meaning", "0 = bona fide, else an index into /attack_names");
  g.create_dataset("modality", h5::DType::i8, {0}, meta(4096)).set_attr("names", modality_names());
  g.create_dataset("subject", h5::DType::i32, {0}, meta(4096));
  g.create_dataset("video", h5::DType::string, {0}, meta(1024));
  g.create_dataset("frame", h5::DType::i32, {0}, meta(4096));
  g.create_dataset("source", h5::DType::string, {0}, meta(1024));
  auto bbox = meta(1024);
  bbox.chunk = {1024, 4};
  g.create_dataset("bbox", h5::DType::f32, {0, 4}, bbox).set_attr("meaning", "x, y, width, height in the source frame");
  g.create_dataset("record", h5::DType::i64, {0}, meta(4096))
      .set_attr("meaning", "samples of one capture (co-registered modalities) share a record number");
}

SampleWriter::~SampleWriter() = default;

int16_t SampleWriter::attack_code(const std::string& name) {
  if (name.empty() || name == "bona fide") return 0;
  auto it = std::find(attack_names_.begin(), attack_names_.end(), name);
  if (it != attack_names_.end()) return static_cast<int16_t>(it - attack_names_.begin());
  attack_names_.push_back(name);
  return static_cast<int16_t>(attack_names_.size() - 1);
}

void SampleWriter::set_attack_names(const std::vector<std::string>& names) {
  if (names.empty()) throw std::invalid_argument("attack names must start with the bona fide entry");
  attack_names_ = names;
}

void SampleWriter::set_attr(const std::string& name, const h5::AttrValue& value) { attrs_[name] = value; }

void SampleWriter::with_face_geometry() {
  if (count_ > 0) throw std::logic_error("sample store: with_face_geometry() after the first sample");
  if (geometry_) return;
  geometry_ = true;
  const h5::Group& g = *file_;
  auto opts = [](std::vector<int64_t> chunk) {
    auto o = h5::DatasetOptions::compressed({chunk[0]}, true);
    o.chunk = chunk;
    return o;
  };
  g.create_dataset("landmarks", h5::DType::f32, {0, 5, 2}, opts({1024, 5, 2}))
      .set_attr("meaning",
                "x, y of left eye, right eye, nose, left and right mouth corner (image left first) "
                "in the source frame; NaN without landmarks");
  g.create_dataset("crop_transform", h5::DType::f32, {0, 2, 3}, opts({1024, 2, 3}))
      .set_attr("meaning", "2x3 affine from source-frame pixel coordinates to crop pixel coordinates");
  g.create_dataset("detector_score", h5::DType::f32, {0}, opts({4096}))
      .set_attr("meaning", "the chosen face's detector score (mtcnn: probability; haar: neighbours); NaN: no face");
}

void SampleWriter::append(const uint8_t* image, const SampleMeta& meta) {
  if (meta.label != kLive && meta.label != kAttack)
    throw std::invalid_argument(
        fmt::format("sample {}: label {} is neither 1 (live) nor 0 (attack)", count_, meta.label));
  images_.insert(images_.end(), image, image + size_t(h_) * w_ * c_);
  metas_.push_back(meta);
  ++count_;
  if (static_cast<int64_t>(metas_.size()) >= kChunkRows) flush_buffer();
}

void SampleWriter::flush_buffer() {
  if (metas_.empty()) return;
  const h5::Group& g = *file_;
  int64_t start = count_ - static_cast<int64_t>(metas_.size());
  int64_t n = static_cast<int64_t>(metas_.size());
  std::vector<int32_t> frame;
  std::vector<float> bbox;
  std::vector<int64_t> record;
  std::vector<float> landmarks, transform, score;
  for (const auto& m : metas_) {
    landmarks.insert(landmarks.end(), m.landmarks.begin(), m.landmarks.end());
    transform.insert(transform.end(), m.crop_transform.begin(), m.crop_transform.end());
    score.push_back(m.detector_score);
    frame.push_back(m.frame);
    bbox.insert(bbox.end(), m.bbox.begin(), m.bbox.end());
    record.push_back(m.record);
  }
  g.dataset("images").write_rows(start, n, images_.data());
  h5::write_shared_columns(g, start, metas_);
  g.dataset("frame").write_rows(start, n, frame.data());
  g.dataset("bbox").write_rows(start, n, bbox.data());
  g.dataset("record").write_rows(start, n, record.data());
  if (geometry_) {
    g.dataset("landmarks").write_rows(start, n, landmarks.data());
    g.dataset("crop_transform").write_rows(start, n, transform.data());
    g.dataset("detector_score").write_rows(start, n, score.data());
  }
  images_.clear();
  metas_.clear();
}

void SampleWriter::finish() {
  if (finished_) return;
  flush_buffer();
  const h5::Group& g = *file_;
  for (int16_t a : g.dataset("attack").read<int16_t>())
    if (a < 0 || a >= static_cast<int16_t>(attack_names_.size()))
      throw std::logic_error(fmt::format("sample store: attack code {} has no name", a));
  g.write_strings("attack_names", attack_names_);
  h5::finish_file(file_, "num_samples", count_, attrs_, kSamplesFormat, kSamplesVersion);
  finished_ = true;
}

const std::string& SampleWriter::temp_path() const { return out_->temp_path(); }

void SampleWriter::commit() {
  finish();
  out_->commit();
}

// ----- reader -----

SampleStore::SampleStore(const std::string& path)
    : path_(path), file_(std::make_shared<h5::File>(h5::File::open(path))) {
  const h5::File& f = *file_;
  h5::check_format(f, kSamplesFormat, kSamplesVersion);
  using h5::DType;
  h5::Dataset images = f.dataset("images");
  h5::Shape s = images.shape();
  if (s.size() != 4)
    throw InputError(path, "/images", fmt::format("expected uint8 [N, H, W, C], found {}", h5::shape_str(s)));
  n_ = s[0];
  images.expect({DType::u8}, {n_, -1, -1, -1});
  h_ = static_cast<int>(s[1]);
  w_ = static_cast<int>(s[2]);
  c_ = static_cast<int>(s[3]);
  if (c_ != 1 && c_ != 3) throw InputError(path, "/images", fmt::format("expected 1 or 3 channels, found {}", c_));
  h5::LabelColumns labels = h5::read_label_columns(f, path, n_);
  label_ = std::move(labels.label);
  attack_ = std::move(labels.attack);
  attack_names_ = std::move(labels.attack_names);
  f.dataset("modality").expect({DType::i8}, {n_});
  f.dataset("subject").expect({DType::i32}, {n_});
  f.dataset("frame").expect({DType::i32}, {n_});
  f.dataset("video").expect({DType::string}, {n_});
  f.dataset("source").expect({DType::string}, {n_});
  f.dataset("bbox").expect({DType::f32}, {n_, 4});
  modality_ = f.read<int8_t>("modality");
  subject_ = f.read<int32_t>("subject");
  frame_ = f.read<int32_t>("frame");
  if (f.has("record")) {
    f.dataset("record").expect({DType::i64}, {n_});
    record_ = f.read<int64_t>("record");
  }
  // Face geometry: all three datasets or none (older stores).
  if (f.has("detector_score") || f.has("landmarks") || f.has("crop_transform")) {
    f.dataset("landmarks").expect({DType::f32}, {n_, 5, 2});
    f.dataset("crop_transform").expect({DType::f32}, {n_, 2, 3});
    f.dataset("detector_score").expect({DType::f32}, {n_});
    score_ = f.read<float>("detector_score");
  }
  h5::check_modality_codes(path, modality_);
}

std::vector<std::string> SampleStore::videos(int64_t start, int64_t count) const {
  return file_->dataset("video").read_strings(start, count);
}
std::vector<std::string> SampleStore::sources(int64_t start, int64_t count) const {
  return file_->dataset("source").read_strings(start, count);
}
std::vector<float> SampleStore::bboxes(int64_t start, int64_t count) const {
  std::vector<float> out(static_cast<size_t>(count) * 4);
  file_->dataset("bbox").read_rows(start, count, out.data());
  return out;
}

std::vector<float> SampleStore::rows_or_unknown(const char* name, int64_t start, int64_t count, size_t per_row) const {
  std::vector<float> out(static_cast<size_t>(count) * per_row, std::numeric_limits<float>::quiet_NaN());
  if (has_face_geometry()) file_->dataset(name).read_rows(start, count, out.data());
  return out;
}
std::vector<float> SampleStore::landmarks(int64_t start, int64_t count) const {
  return rows_or_unknown("landmarks", start, count, 10);
}
std::vector<float> SampleStore::crop_transforms(int64_t start, int64_t count) const {
  return rows_or_unknown("crop_transform", start, count, 6);
}
float SampleStore::detector_score(int64_t i) const {
  return has_face_geometry() ? score_.at(static_cast<size_t>(i)) : std::numeric_limits<float>::quiet_NaN();
}

SampleMeta SampleStore::meta(int64_t i) const {
  if (i < 0 || i >= n_) throw std::out_of_range(fmt::format("{}: sample {} of {}", path_, i, n_));
  SampleMeta m;
  m.label = label_[i];
  m.attack = attack_[i];
  m.modality = static_cast<Modality>(modality_[i]);
  m.subject = subject_[i];
  m.frame = frame_[i];
  m.video = videos(i, 1)[0];
  m.source = sources(i, 1)[0];
  auto b = bboxes(i, 1);
  std::copy(b.begin(), b.end(), m.bbox.begin());
  m.record = record_.empty() ? -1 : record_[i];
  auto l = landmarks(i, 1), t = crop_transforms(i, 1);
  std::copy(l.begin(), l.end(), m.landmarks.begin());
  std::copy(t.begin(), t.end(), m.crop_transform.begin());
  m.detector_score = detector_score(i);
  return m;
}

void SampleStore::read_images(int64_t start, int64_t count, uint8_t* out) const {
  if (start < 0 || count < 0 || start + count > n_)
    throw InputError(path_, "/images",
                     fmt::format("samples [{}, {}) requested, store has {}", start, start + count, n_));
  try {
    file_->dataset("images").read_rows(start, count, out);
  } catch (const InputError& e) {
    throw InputError(path_, fmt::format("/images samples [{}, {})", start, start + count),
                     "cannot read (damaged file or failed Fletcher-32 checksum)");
  }
}

std::string SampleStore::fingerprint() const {
  Sha256 h;
  h.update(fmt::format("{}:{}x{}x{}:{}", n_, h_, w_, c_, attr_or("created_at", "")));
  h.update(label_.data(), label_.size());
  h.update(modality_.data(), modality_.size());
  h.update(attack_.data(), attack_.size() * sizeof(int16_t));
  return h.hex_digest().substr(0, 16);
}

std::string SampleStore::attr_or(const std::string& name, const std::string& fallback) const {
  if (!file_->has_attr(name)) return fallback;
  return h5::attr_to_string(file_->attr(name));
}

}  // namespace cmclip
