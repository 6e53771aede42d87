// fas-preprocess's options (each group registers itself on the command line) and the
// face detector and crop kind they select.
#include <fmt/format.h>

#include "cmclip/core/app.hpp"
#include "cmclip/core/error.hpp"
#include "cmclip/core/log.hpp"
#include "cmclip/face/mtcnn.hpp"
#include "cmclip/face/preprocess.hpp"

namespace cmclip::face {

// ---------------------------------------------------------------- options

const NameTable<DetectChoice>& detect_names() {
  static const NameTable<DetectChoice> table{{DetectChoice::automatic, "auto"},
                                             {DetectChoice::mtcnn, "mtcnn"},
                                             {DetectChoice::haar, "haar"},
                                             {DetectChoice::none, "none"}};
  return table;
}

const NameTable<CropChoice>& crop_names() {
  static const NameTable<CropChoice> table{
      {CropChoice::automatic, "auto"}, {CropChoice::aligned, "aligned"}, {CropChoice::box, "box"}};
  return table;
}

const NameTable<NoFace>& no_face_names() {
  static const NameTable<NoFace> table{{NoFace::fail, "fail"}, {NoFace::skip, "skip"}, {NoFace::center, "center"}};
  return table;
}

void ListOptions::register_on(CLI::App& app) {
  auto* g = app.add_option_group("Input");
  g->add_option("--format", format, "List format: casia-surf, casia-fas, cefa, wmca or tsv")
      ->required()
      ->check(one_of(datasets::list_format_names()));
  g->add_option("--list", list, "The dataset's list file ('-' reads standard input)")->required();
  g->add_option("--root", root, "Folder the list's paths are relative to (default: the list's folder)");
  g->add_option("--modalities", modalities,
                "Modalities every capture must have and stores, comma-separated: rgb, depth, nir, thermal "
                "(default: each capture stores the modalities it has)");
  g->add_option("--label-polarity", label_polarity,
                "live=1 or live=0: which label number means live, overriding the format's convention "
                "(casia-surf, cefa: live=1; casia-fas, wmca: live=0)");
  g->add_flag("--skip-missing", skip_missing,
              "Skip captures whose files are missing (counted and logged) instead of failing");
}

void ListOptions::validate() const {
  datasets::parse_list_format(format);
  datasets::parse_label_polarity(label_polarity);
  if (!modalities.empty()) datasets::parse_modality_list(modalities, "--modalities");
}

void FrameOptions::register_on(CLI::App& app) {
  auto* g = app.add_option_group("Frames");
  g->add_option("--frames", frames,
                "Frames per video, folder of frames or frame container: N spread evenly "
                "(frame floor((i+0.5)*total/N)), or all")
      ->default_val("all");
  g->add_option("--depth-range", depth_range,
                "16-bit depth to 8 bits over a fixed range NEAR:FAR in the file's units, near bright "
                "(default: each frame's range of non-zero values)");
}

int FrameOptions::wanted() const {
  if (frames == "all") return 0;
  try {
    size_t used = 0;
    int n = std::stoi(frames, &used);
    if (used == frames.size() && n >= 1) return n;
  } catch (const std::exception&) {
  }
  throw UsageError(fmt::format("--frames '{}': expected a number >= 1 or all", frames));
}

void FrameOptions::validate() const {
  wanted();
  DepthRule::parse(depth_range);
}

void CropOptions::register_on(CLI::App& app) {
  auto* g = app.add_option_group("Face crop");
  g->add_option("--detect", detect,
                "Face detector: auto (mtcnn when its networks are installed, else haar), mtcnn (landmarks; "
                "scripts/fetch-models.sh installs it), haar (OpenCV cascade: the fallback that needs no download) "
                "or none (frames are already face crops)")
      ->default_val("auto")
      ->check(one_of(detect_names().names()));
  g->add_option("--crop", crop,
                "auto (aligned where the detector gives landmarks, else box), aligned (eyes, nose and mouth "
                "on a fixed template) or box (the face's square box grown by --margin)")
      ->default_val("auto")
      ->check(one_of(crop_names().names()));
  g->add_option("--margin", margin, "Box crops: enlargement on each side, as a fraction of the detected face's side")
      ->default_val(0.15)
      ->check(CLI::Range(0.0, 2.0));
  g->add_option("--align-margin", align_margin,
                "Aligned crops: context around the 112-px face template, as a fraction of its width on each side")
      ->default_val(0.25)
      ->check(CLI::Range(0.0, 2.0));
  g->add_option("--min-score", min_score, "MTCNN: the face probability a face needs to be chosen")
      ->default_val(0.9)
      ->check(CLI::Range(0.0, 1.0));
  g->add_option("--on-no-face", on_no_face,
                "When no face is found or none reaches --min-score: fail, skip the capture, or center "
                "(centred square crop)")
      ->default_val("fail")
      ->check(one_of(no_face_names().names()));
  g->add_option("--cascade", cascade, std::string("Haar cascade XML (default ") + kDefaultCascade + ")");
  g->add_option("--mtcnn-dir", mtcnn_dir,
                "Folder of MTCNN's pnet.onnx, rnet.onnx, onet.onnx (default ${CMCLIP_HOME:-~/.cache/cmclip}/mtcnn)");
  g->add_option("--size", size, "Side of the stored square crops, in pixels")
      ->default_val(224)
      ->check(CLI::Range(8, 4096));
}

void CropOptions::validate() const {
  DetectChoice d = detect_names().parse(detect, "--detect");
  CropChoice c = crop_names().parse(crop, "--crop");
  if (c == CropChoice::aligned && (d == DetectChoice::haar || d == DetectChoice::none))
    throw UsageError(fmt::format("--crop aligned needs the landmarks of --detect mtcnn, not --detect {}", detect));
  if (!(min_score >= 0 && min_score <= 1)) throw UsageError("--min-score: expected a number from 0 to 1");
  if (!(align_margin >= 0 && align_margin <= 2)) throw UsageError("--align-margin: expected a number from 0 to 2");
  no_face_names().parse(on_no_face, "--on-no-face");
  if (!(margin >= 0 && margin <= 2)) throw UsageError("--margin: expected a number from 0 to 2");
  if (size < 8 || size > 4096) throw UsageError("--size: expected 8 to 4096 pixels");
}

// ---------------------------------------------------------------- detector

// The detector --detect names; auto: MTCNN where its three networks are installed,
// else Haar. Says which and why.
std::unique_ptr<FaceFinder> make_detector(const CropOptions& o) {
  std::string dir = o.mtcnn_dir.empty() ? default_mtcnn_dir() : o.mtcnn_dir;
  bool mtcnn = o.detect == "mtcnn" || (o.detect == "auto" && mtcnn_present(dir));
  if (mtcnn) {
    auto d = std::make_unique<MtcnnDetector>(dir);
    log::info("face detector: mtcnn ({}), networks in {}",
              o.detect == "auto" ? "installed, so the default" : "--detect mtcnn", dir);
    return d;
  }
  auto d = std::make_unique<FaceDetector>(o.cascade.empty() ? kDefaultCascade : o.cascade, !o.cascade.empty());
  if (o.detect == "auto")
    log::info("face detector: haar, the fallback: no MTCNN networks in {} (scripts/fetch-models.sh installs them)",
              dir);
  else log::info("face detector: haar (--detect haar), cascade {}", d->cascade_path());
  return d;
}

CropKind crop_kind(const CropOptions& o, const FaceFinder* detector) {
  if (o.crop == "box" || !detector) return CropKind::box;
  if (o.crop == "aligned" && detector->name() != "mtcnn")
    throw UsageError("--crop aligned needs the landmarks of --detect mtcnn, and the MTCNN networks are not installed");
  return detector->name() == "mtcnn" ? CropKind::aligned : CropKind::box;
}

}  // namespace cmclip::face
