// fas-eval: placeholder main until its capability lands.
#include "cmclip/core/app.hpp"
#include "cmclip/core/error.hpp"

int main(int argc, char** argv) {
  cmclip::Tool tool("fas-eval", "fas-eval", "");
  return tool.run(argc, argv, [] { throw cmclip::RuntimeFailure("fas-eval is not implemented in this build yet"); });
}
