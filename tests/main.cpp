#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "crypto/keys.hpp"

int main(int argc, char* argv[]) {
  pc::crypto::initialize();
  return Catch::Session().run(argc, argv);
}
