// What every Pointchain benchmark divides by, and the table they print. The machine may be
// shared and noisy, so a benchmark measures how many ed25519 signatures one core verifies per
// second with libsodium's crypto_sign_verify_detached (the raw verify rate) in the same run,
// at its start and at its end, and prints each rate also as a ratio to the higher sample.
// Verifying a signature is the unavoidable cost of every transaction, so a ratio says how
// many transactions the code handles in the time one core needs to check one signature each.
#pragma once

#include <sodium.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "crypto/hash.hpp"
#include "crypto/keys.hpp"
#include "node/worker_pool.hpp"

namespace pc::bench {

using SteadyClock = std::chrono::steady_clock;

inline constexpr std::size_t raw_message_count = 1'000;
inline constexpr std::size_t raw_message_bytes = 150;  // about one transaction's signing message

inline double seconds_between(SteadyClock::time_point start, SteadyClock::time_point end) {
  return std::chrono::duration<double>(end - start).count();
}

// A key derived from a label, so every run signs with the same keys.
inline crypto::SecretKey seeded_key(const std::string& label) {
  return crypto::SecretKey::from_seed(crypto::sha256(as_bytes(label)));
}

struct SignedMessage {
  crypto::PublicKey key{};
  Bytes message;
  crypto::Signature signature{};
};

// Distinct keys and distinct contents, so nothing is served from a cache within a pass.
inline std::vector<SignedMessage> make_signed_messages() {
  std::vector<SignedMessage> messages(raw_message_count);
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const crypto::SecretKey key = seeded_key("bench raw signer " + std::to_string(i));
    SignedMessage& entry = messages[i];
    entry.key = key.public_key();
    entry.message.resize(raw_message_bytes);
    for (std::size_t j = 0; j < raw_message_bytes; ++j) {
      entry.message[j] = static_cast<std::uint8_t>(i * 31 + j * 7);
    }
    entry.signature = key.sign(entry.message);
  }
  return messages;
}

// The baseline's verification: libsodium alone, no subgroup check of the key.
inline bool raw_verify(const SignedMessage& entry) {
  return crypto_sign_verify_detached(entry.signature.data(), entry.message.data(), entry.message.size(),
                                     entry.key.data()) == 0;
}

// CPU seconds the calling thread has used.
inline double thread_cpu_seconds() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) / 1e9;
}

struct VerifyRates {
  double per_wall_second = 0;
  // Per second of the thread's CPU time: unlike the wall-clock rate, it does not drop when
  // other processes take the core, so CPU costs measured elsewhere divide by it fairly.
  double per_cpu_second = 0;
};

// Verifications on the calling thread, looping over `messages` for about `seconds` with
// `verify` (raw_verify for the baseline). Throws if one fails.
template <class Verify>
VerifyRates verify_rates(const std::vector<SignedMessage>& messages, double seconds, Verify verify) {
  std::size_t verified = 0;
  const auto start = SteadyClock::now();
  const double cpu_start = thread_cpu_seconds();
  double elapsed = 0;
  do {
    for (const SignedMessage& entry : messages) {
      if (!verify(entry)) throw std::runtime_error("a baseline signature does not verify");
    }
    verified += messages.size();
    elapsed = seconds_between(start, SteadyClock::now());
  } while (elapsed < seconds);
  const double cpu = thread_cpu_seconds() - cpu_start;
  const double count = static_cast<double>(verified);
  return VerifyRates{count / elapsed, cpu > 0 ? count / cpu : 0};
}

// Verifications per wall-clock second; see verify_rates.
template <class Verify>
double verify_rate(const std::vector<SignedMessage>& messages, double seconds, Verify verify) {
  return verify_rates(messages, seconds, verify).per_wall_second;
}

inline double raw_verify_rate(const std::vector<SignedMessage>& messages, double seconds) {
  return verify_rate(messages, seconds, raw_verify);
}

// The same raw verifications spread over the pool: how much parallelism the machine gave
// this run. About pool.size() times the one-core rate on an idle machine, less when other
// work competes for the cores (every multi-threaded rate then suffers with it).
inline double parallel_verify_rate(const std::vector<SignedMessage>& messages, double seconds,
                                   node::WorkerPool& pool) {
  std::size_t verified = 0;
  std::atomic<bool> all_ok = true;
  const auto start = SteadyClock::now();
  double elapsed = 0;
  do {
    pool.run(messages.size(), [&](std::size_t i) {
      if (!raw_verify(messages[i])) all_ok = false;
    });
    verified += messages.size();
    elapsed = seconds_between(start, SteadyClock::now());
  } while (elapsed < seconds);
  if (!all_ok) throw std::runtime_error("a baseline signature does not verify");
  return static_cast<double>(verified) / elapsed;
}

inline double best_of(std::size_t repeats, const std::function<double()>& measure) {
  double best = 0;
  for (std::size_t i = 0; i < repeats; ++i) best = std::max(best, measure());
  return best;
}

// The one-core raw verify rate and the pool's, each sampled `repeats` times for
// `loop_seconds` at a bench's start and again at its end (call sample() twice). The higher
// one-core sample is the baseline every ratio divides by.
class VerifyBaseline {
 public:
  VerifyBaseline(node::WorkerPool& pool, double loop_seconds, std::size_t repeats)
      : pool_(pool), messages_(make_signed_messages()), loop_seconds_(loop_seconds), repeats_(repeats) {}

  void sample() {
    one_core_.push_back(best_of(repeats_, [&] {
      const VerifyRates rates = verify_rates(messages_, loop_seconds_, raw_verify);
      per_cpu_second_ = std::max(per_cpu_second_, rates.per_cpu_second);
      return rates.per_wall_second;
    }));
    parallel_.push_back(best_of(repeats_, [&] { return parallel_verify_rate(messages_, loop_seconds_, pool_); }));
  }

  // Raw verifies per wall second on one core: the higher sample.
  double one_core() const { return *std::max_element(one_core_.begin(), one_core_.end()); }
  double first_one_core() const { return one_core_.front(); }
  // The same on the pool: about pool.size() times one_core() on an idle machine.
  double parallel() const { return *std::max_element(parallel_.begin(), parallel_.end()); }
  // Raw verifies per second of the sampling thread's CPU time, the best of every sample: what
  // one verify costs, which other processes on the machine do not change much.
  double per_cpu_second() const { return per_cpu_second_; }
  double ratio(double rate) const { return rate / one_core(); }
  // The signed messages every sample verifies: a VerifyProbe verifies the same.
  const std::vector<SignedMessage>& messages() const { return messages_; }

  // The two lines under a bench's table: the samples, their drift, the calibration.
  void print_samples() const {
    const double first = one_core_.front();
    const double last = one_core_.back();
    std::printf("\nbaseline samples: %.0f at the start, %.0f at the end (%+.1f%%); the higher is the baseline\n", first,
                last, 100.0 * (last - first) / first);
    std::printf("calibration samples on %zu threads: %.2fx at the start, %.2fx at the end (%.2fx on an idle machine)\n",
                pool_.size(), ratio(parallel_.front()), ratio(parallel_.back()), static_cast<double>(pool_.size()));
  }

 private:
  node::WorkerPool& pool_;
  std::vector<SignedMessage> messages_;
  double loop_seconds_;
  std::size_t repeats_;
  std::vector<double> one_core_;
  std::vector<double> parallel_;
  double per_cpu_second_ = 0;
};

// What one raw verify costs in CPU time while a timed phase runs, measured on a thread of
// its own a few verifies at a time (about 2% of one core). The machine's speed moves by tens
// of percent within one run (bench/README.md), so the baseline's samples at a bench's start
// and end can be far from what a verify cost during the phase; a CPU time measured in the
// phase divides fairly only by a verify measured in it too.
class VerifyProbe {
 public:
  explicit VerifyProbe(const std::vector<SignedMessage>& messages)
      : messages_(messages), thread_([this] { run(); }) {}
  ~VerifyProbe() { stop(); }
  VerifyProbe(const VerifyProbe&) = delete;
  VerifyProbe& operator=(const VerifyProbe&) = delete;

  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  // CPU microseconds per raw verify while the probe ran; nullopt if it timed too few.
  std::optional<double> cpu_us_per_verify() const {
    std::lock_guard lock(mutex_);
    if (timed_ < timed_min) return std::nullopt;
    return 1e6 * cpu_seconds_ / static_cast<double>(timed_);
  }

  // The line under a bench's table that says what the (probe) rows divide by, against
  // `baseline_us`, the baseline's CPU per verify.
  static void print_line(double probe_us, double baseline_us) {
    std::printf("while the redeems ran, a probe thread of the bench timed one raw verify at %.1f us of CPU (%+.0f%%\n"
                "  from the %.1f us above): the (probe) rows count the redeems' CPU in those verifies\n",
                probe_us, 100.0 * (probe_us - baseline_us) / baseline_us, baseline_us);
  }

 private:
  static constexpr std::size_t warm_up_per_round = 2;  // not timed: caches refill after the pause
  static constexpr std::size_t timed_per_round = 16;
  static constexpr auto pause = std::chrono::milliseconds(50);
  static constexpr std::size_t timed_min = 100;

  void run() {
    std::size_t next = 0;
    const auto verify_next = [&] {
      if (!raw_verify(messages_[next])) throw std::runtime_error("a baseline signature does not verify");
      next = (next + 1) % messages_.size();
    };
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      lock.unlock();
      for (std::size_t i = 0; i < warm_up_per_round; ++i) verify_next();
      const double start = thread_cpu_seconds();
      for (std::size_t i = 0; i < timed_per_round; ++i) verify_next();
      const double cpu = thread_cpu_seconds() - start;
      lock.lock();
      cpu_seconds_ += cpu;
      timed_ += timed_per_round;
      wake_.wait_for(lock, pause, [&] { return stopping_; });
    }
  }

  const std::vector<SignedMessage>& messages_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;     // guarded by mutex_
  double cpu_seconds_ = 0;    // guarded by mutex_
  std::size_t timed_ = 0;     // guarded by mutex_
  std::thread thread_;        // last: starts once the members above exist
};

// ---------------------------------------------------------------------------------------
// The table

struct Row {
  std::string name;
  double value = 0;
  int decimals = 0;
  std::string unit;
  std::optional<double> ratio;  // to the raw verify rate
  std::string goal;             // empty: reported for information
  std::optional<bool> met;
};

inline void print_table(const std::vector<Row>& rows) {
  std::printf("\n%-38s %12s  %-16s %8s  %-9s %s\n", "measure", "value", "unit", "ratio", "goal", "");
  std::printf("%s\n", std::string(96, '-').c_str());
  for (const Row& row : rows) {
    char ratio_text[32] = "-";
    // Consensus rates are thousandths of the verify rate: keep their digits.
    if (row.ratio) std::snprintf(ratio_text, sizeof ratio_text, *row.ratio < 0.1 ? "%.4fx" : "%.2fx", *row.ratio);
    const char* verdict = !row.met ? "" : *row.met ? "met" : "NOT MET";
    std::printf("%-38s %12.*f  %-16s %8s  %-9s %s\n", row.name.c_str(), row.decimals, row.value,
                row.unit.c_str(), ratio_text, row.goal.empty() ? "-" : row.goal.c_str(), verdict);
  }
}

// A fresh directory under `base`, removed with everything in it when the object goes away.
class ScratchDirectory {
 public:
  ScratchDirectory(const std::filesystem::path& base, const std::string& prefix) {
    std::random_device entropy;
    for (;;) {
      path_ = base / (prefix + std::to_string(entropy()));
      if (std::filesystem::create_directory(path_)) break;
    }
  }
  ~ScratchDirectory() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  ScratchDirectory(const ScratchDirectory&) = delete;
  ScratchDirectory& operator=(const ScratchDirectory&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace pc::bench
