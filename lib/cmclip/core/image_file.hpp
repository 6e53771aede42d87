// Image files as every reader of the toolkit opens them (fas-preprocess frames,
// fas-embed --images): the bytes are read once, checked to be complete, and decoded
// by OpenCV from memory. The check catches what a half-copied dataset holds: a PNG
// whose chunks run past the end or that lacks IEND, a JPEG without its end-of-image
// marker after the image data, a BMP shorter than its header says. Such a file is an
// InputError saying so, before a decoder prints its own warnings or, worse, returns a
// partly grey image.
#pragma once
#include <opencv2/core/mat.hpp>

#include <cstdint>
#include <string>

namespace cmclip {

// What is missing from an image file's bytes ("" when they look complete, or are of a
// format not checked here: the decoder then decides).
std::string image_truncation(const std::string& bytes);

// The most pixels an image may have (8192 x 8192): faces need far fewer, and a damaged
// or hostile header can declare billions in a few bytes (gigabytes to decode, minutes
// to resize). Checked on the header where the format's is read here (PNG, JPEG, BMP,
// PNM), before decoding, and on the decoded image.
constexpr uint64_t kMaxImagePixels = uint64_t(1) << 26;

// Reads and decodes `path` with cv::IMREAD_UNCHANGED (any depth and channels; no EXIF
// rotation). InputError naming the file: missing, unreadable, empty, truncated, larger
// than kMaxImagePixels, or not decodable.
cv::Mat read_image_file(const std::string& path);

}  // namespace cmclip
