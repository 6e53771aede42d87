// A contact sheet of a sample store: one PNG grid for a quick visual check of crops,
// labels and modalities (fas-preprocess --preview, fas-synth --preview).
#pragma once
#include <string>

#include "cmclip/h5/samples.hpp"

namespace cmclip::data {

// Rows: the first `max_rows` subjects (videos where subjects are unknown). Columns: each
// attack code present (bona fide first) times each modality present, headed by
// "<attack> <modality>". Each cell is the first capture of that subject and attack;
// thumbnails are the stored images, shrunk to at most `thumb` pixels. Written
// atomically.
void write_contact_sheet(const SampleStore& store, const std::string& png_path, int max_rows = 6, int thumb = 128);
// The same into the temporary file of `out`, committed by the caller (with the tool's
// other outputs).
void write_contact_sheet(const SampleStore& store, const AtomicOutput& out, int max_rows = 6, int thumb = 128);

}  // namespace cmclip::data
