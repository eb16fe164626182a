// Why block production stopped for good in this process (node/commit_pipeline.hpp).
#pragma once

#include <cstdint>
#include <string>

namespace pc::node {

struct StorageFailure {
  std::uint64_t height = 0;  // the block that could not be committed
  std::string reason;
};

}  // namespace pc::node
