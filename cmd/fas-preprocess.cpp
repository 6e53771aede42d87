// fas-preprocess: placeholder main until its capability lands.
#include "cmclip/core/app.hpp"
#include "cmclip/core/error.hpp"

int main(int argc, char** argv) {
  cmclip::Tool tool("fas-preprocess", "fas-preprocess", "");
  return tool.run(argc, argv, [] { throw cmclip::RuntimeFailure("fas-preprocess is not implemented in this build yet"); });
}
