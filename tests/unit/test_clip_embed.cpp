// fas-embed end to end: PNG files on disk and a prompt file through the built tool to
// the HDF5 outputs, compared with the reference (prompts: the fixture's text features;
// PNGs: the model on the reference-preprocessed tensors of preprocess.h5). Also the
// list and prompt readers' errors.
#include <boost/test/unit_test.hpp>

#include <torch/torch.h>

#include <cstdlib>

#include "cmclip/clip/embed.hpp"
#include "cmclip/clip/text_file.hpp"
#include "cmclip/clip/weights.hpp"
#include "cmclip/h5/h5.hpp"
#include "cmclip/h5/scores.hpp"
#include "cmclip/h5/tensor.hpp"
#include "test_support.hpp"

using namespace cmclip;
using namespace cmclip::clip;
using cmclip::test::expect_error;
using cmclip::test::ScratchDir;

namespace {
int run_tool(const std::string& args, const std::string& log) {
  std::string cmd = std::string(CMCLIP_BINARY_DIR) + "/bin/fas-embed -q " + args + " 2>" + log;
  int status = std::system(cmd.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

double max_abs(const at::Tensor& a, const at::Tensor& b) {
  BOOST_REQUIRE_MESSAGE(a.sizes() == b.sizes(), a.sizes() << " vs " << b.sizes());
  return (a - b).abs().max().item<double>();
}
}  // namespace

BOOST_AUTO_TEST_SUITE(clip_embed)

BOOST_AUTO_TEST_CASE(prompt_file_through_fas_embed_matches_the_reference,
                     CMCLIP_NEEDS_SHARED("fixtures/clip-tiny", test::kSharedBpe)) {
  std::string model = test::fixture("clip-tiny/model.pt"), exp = test::fixture("clip-tiny/expected.h5");
  if (model.empty() || exp.empty()) return;
  ScratchDir dir("embedtext");
  h5::File f = h5::File::open(exp);
  std::vector<std::string> prompts = f.read_strings("prompts");
  std::string text;
  for (const auto& p : prompts) text += p + "\n";
  test::write_text(dir.file("prompts.txt"), text);
  std::string args = "--model " + model + " --text-heads 2 --bpe " + test::shared_dir() +
                     "/data/bpe_simple_vocab_16e6.txt.gz --truncate --batch-size 4 --text-file " +
                     dir.file("prompts.txt") + " -o " + dir.file("text.h5");
  BOOST_REQUIRE_EQUAL(run_tool(args, dir.file("log")), 0);
  TextFeatures t = read_text_features(dir.file("text.h5"));
  BOOST_TEST(t.text == prompts);
  BOOST_TEST((t.line == std::vector<int64_t>{1, 2, 3, 4, 5, 6}));
  at::Tensor tokens = at::from_blob(t.tokens.data(), {6, 77}, at::kLong);
  BOOST_TEST(at::equal(tokens, h5::read_tensor(f, "tokens")));
  at::Tensor features = at::from_blob(t.features.data(), {6, t.feature_dim}, at::kFloat);
  double d = max_abs(features, h5::read_tensor(f, "text_features"));
  BOOST_TEST_MESSAGE("fas-embed --text-file vs reference text features: max abs err " << d);
  BOOST_TEST(d <= 2e-5);

  // Without --truncate the long prompt (line 5) is refused and nothing is written.
  args = "--model " + model + " --text-heads 2 --bpe " + test::shared_dir() + "/data/bpe_simple_vocab_16e6.txt.gz" +
         " --text-file " + dir.file("prompts.txt") + " -o " + dir.file("refused.h5");
  BOOST_TEST(run_tool(args, dir.file("log2")) == 2);
  BOOST_TEST(test::read_text(dir.file("log2")).find("line 5") != std::string::npos);
  BOOST_TEST(!test::exists(dir.file("refused.h5")));
}

BOOST_AUTO_TEST_CASE(png_files_through_fas_embed_match_the_reference_pipeline,
                     CMCLIP_NEEDS_SHARED("fixtures/clip-tiny")) {
  std::string model = test::fixture("clip-tiny/model.pt"), pre = test::fixture("clip-tiny/preprocess.h5");
  if (model.empty() || pre.empty()) return;
  ScratchDir dir("embedimg");
  h5::File f = h5::File::open(pre);
  h5::Group png = f.group("png");
  std::vector<std::string> cases = png.children();
  std::string list;
  std::vector<at::Tensor> reference_inputs;
  for (const auto& c : cases) {
    list += test::fixture("clip-tiny/" + png.group(c).attr_string("file")) + "\n\n";  // blank lines: not entries
    reference_inputs.push_back(h5::read_tensor(png.group(c), "expected_chw_float32"));
  }
  test::write_text(dir.file("list.txt"), list);
  BOOST_REQUIRE_EQUAL(run_tool("--model " + model + " --text-heads 2 --batch-size 2 --images " + dir.file("list.txt") +
                                   " -o " + dir.file("img.h5"),
                               dir.file("log")),
                      0);
  ScoreSet s = read_scores(dir.file("img.h5"), /*with_features=*/true, /*require_score=*/false);
  BOOST_TEST(!s.has_score);
  BOOST_REQUIRE_EQUAL(s.size(), cases.size());
  BOOST_TEST((s.index == std::vector<int64_t>{1, 3, 5}));  // line numbers
  BOOST_TEST(s.source[0].find(png.group(cases[0]).attr_string("file")) != std::string::npos);
  // The reference preprocessing (torchvision on Pillow) fed to the model.
  Clip clip = load_clip(model, ClipLoadOptions{{std::nullopt, 2}});
  torch::NoGradGuard no_grad;
  at::Tensor want = clip->encode_image(at::stack(reference_inputs));
  at::Tensor got = at::from_blob(s.features.data(), {static_cast<int64_t>(s.size()), s.feature_dim}, at::kFloat);
  double d = max_abs(got, want);
  BOOST_TEST_MESSAGE("fas-embed --images (PNG L, P, RGBA) vs model on reference-preprocessed pixels: max abs err "
                     << d);
  BOOST_TEST(d <= 2e-5);
  BOOST_TEST(std::get<std::string>(s.attrs.at("clip_weights_sha256")) == clip_weights_hash(clip));
}

BOOST_AUTO_TEST_CASE(list_and_prompt_files_are_checked_line_by_line) {
  ScratchDir dir("embedlists");
  test::write_text(dir.file("a.png"), "x");
  test::write_text(dir.file("list.txt"), "a.png\r\n\nmissing.png\n");
  expect_error([&] { read_image_list(dir.file("list.txt")); }, ExitCode::bad_input,
               {"list.txt", "line 3", "missing.png"});
  test::write_text(dir.file("utf.txt"), "a.png\n\xff\xfe.png\n");
  expect_error([&] { read_image_list(dir.file("utf.txt")); }, ExitCode::bad_input, {"utf.txt", "line 2", "UTF-8"});
  test::write_text(dir.file("empty.txt"), "\n \n");
  expect_error([&] { read_image_list(dir.file("empty.txt")); }, ExitCode::bad_input, {"empty.txt", "no image paths"});
  test::write_text(dir.file("ok.txt"), "a.png\r\n\n");
  auto entries = read_image_list(dir.file("ok.txt"));
  BOOST_REQUIRE_EQUAL(entries.size(), 1u);
  BOOST_TEST(entries[0].path == dir.file("a.png"));  // relative to the list's folder, CR dropped
  test::write_text(dir.file("p.txt"), "a cat\n\n  \nthe dog \n");
  auto prompts = read_prompt_file(dir.file("p.txt"));
  BOOST_REQUIRE_EQUAL(prompts.size(), 2u);
  BOOST_TEST(prompts[1].line == 4);
  BOOST_TEST(prompts[1].text == "the dog ");

  // An unreadable image names its list line; no output is left behind.
  test::write_text(dir.file("bad.txt"), "a.png\n");
  BOOST_TEST(run_tool("--model builtin:tiny --images " + dir.file("bad.txt") + " -o " + dir.file("out.h5"),
                      dir.file("log")) == 2);
  std::string log = test::read_text(dir.file("log"));
  BOOST_TEST(log.find("line 1") != std::string::npos, log);
  BOOST_TEST(log.find("cannot decode") != std::string::npos, log);
  BOOST_TEST(test::count_files(dir.path(), "out.h5") == 0);
}

BOOST_AUTO_TEST_SUITE_END()
