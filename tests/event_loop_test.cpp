// The node's writer thread (node/event_loop.hpp): events run one at a time in arrival
// order, a full inbox refuses with a typed error and runs nothing, and stop() runs what was
// queued before it.
#include <catch2/catch.hpp>

#include <future>
#include <vector>

#include "node/event_loop.hpp"

namespace {

using namespace pc;

}  // namespace

TEST_CASE("the writer's events run in arrival order on its own thread", "[node][event_loop]") {
  // Proves call() runs its work on the loop thread and returns the value, in posting order.
  node::ManualClock clock(0);
  node::EventLoop loop("pc-test-loop", 16, clock);
  std::vector<int> order;
  for (int i = 0; i < 5; ++i) {
    auto result = loop.call([&, i] {
      order.push_back(i);
      return loop.on_loop_thread();
    });
    REQUIRE(result);
    CHECK(*result);
  }
  CHECK(order == std::vector<int>{0, 1, 2, 3, 4});
  CHECK_FALSE(loop.on_loop_thread());
}

TEST_CASE("a full writer inbox refuses with too_large and runs nothing", "[node][event_loop]") {
  // Proves the inbox bound: with the loop busy and inbox_events_max events waiting, post()
  // is refused and call() returns too_large naming the limit, without running its work.
  node::ManualClock clock(0);
  node::EventLoop loop("pc-test-loop", 2, clock);
  std::promise<void> started;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  REQUIRE(loop.post([&] {
    started.set_value();
    released.wait();
  }));
  started.get_future().wait();  // the loop is busy; the inbox is empty
  int ran = 0;
  REQUIRE(loop.post([&] { ++ran; }));
  REQUIRE(loop.post([&] { ++ran; }));
  CHECK_FALSE(loop.post([&] { ++ran; }));

  std::promise<ledger::Result<int>> refused;
  std::thread caller([&] { refused.set_value(loop.call([&] { return ++ran; })); });
  auto result = refused.get_future().get();
  caller.join();
  REQUIRE_FALSE(result);
  CHECK(result.error().code == ledger::Code::too_large);
  CHECK(result.error().detail.find("writer_inbox_events_max") != std::string::npos);

  release.set_value();
  loop.stop();
  CHECK(ran == 2);
  // Stopped: refused too.
  CHECK_FALSE(loop.post([] {}));
}
