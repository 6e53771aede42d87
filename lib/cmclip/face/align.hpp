// Aligned face crops: the similarity transform (rotation, uniform scale, translation)
// that maps the five detected landmarks onto a canonical five-point template in the
// least-squares sense (Umeyama 1991), and the crop it gives; the affine transform of a
// plain box crop, so both kinds of crop store where each crop pixel came from.
#pragma once
#include <opencv2/core.hpp>

#include <array>
#include <cstdint>

namespace cmclip::face {

using Landmarks = std::array<cv::Point2f, 5>;

// The usual 112 x 112 five-point face template (eyes, nose tip, mouth corners; image
// left first) scaled to size x size and shrunk towards the crop's centre by
// 1 / (1 + 2 * margin), so margin 0 is the tight 112-px layout and 0.25 leaves a
// quarter of the face's width of context on each side.
Landmarks face_template(int size, double margin);

// The 2 x 3 similarity (CV_64F) mapping `from` onto `to` with the least squared error.
cv::Mat similarity_transform(const Landmarks& from, const Landmarks& to);

// The 2 x 3 affine (CV_64F) of a crop of `box` resized to size x size, in OpenCV's
// pixel-centre convention: u = (x - box.x + 0.5) * size / box.width - 0.5.
cv::Mat box_transform(const cv::Rect& box, int size);

// `t` (a transform from frame `from`) for a co-registered frame of size `to` with the
// same field of view.
cv::Mat rescale_transform(const cv::Mat& t, cv::Size from, cv::Size to);

// Warps an 8-bit grey or RGB image by `t` into size x size RGB bytes at `out` (HWC).
// Outside the image is black. Bilinear; a transform that shrinks by 2 or more first
// averages the image down by the whole factor (cv::INTER_AREA), so fine detail does
// not alias.
void warp_crop(const cv::Mat& image, const cv::Mat& t, int size, uint8_t* out);

// Applies a 2 x 3 transform to a point.
cv::Point2f apply(const cv::Mat& t, cv::Point2f p);

}  // namespace cmclip::face
