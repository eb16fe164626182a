// The wallet's exit codes and the one way a command fails. Every code is documented in
// docs/wallet.md and wallet-cli/README.md; scripts depend on them, so they are never
// renumbered.
#pragma once

#include <stdexcept>
#include <string>

namespace pc::wallet {

enum class Exit : int {
  ok = 0,
  usage = 1,                  // bad command line, or a value the ledger would never accept
  wallet_unreadable = 2,      // wrong passphrase, or the wallet file is damaged
  node_unreachable = 3,       // cannot connect, no answer in time, or an answer we cannot read
  insufficient_balance = 4,   // not enough spendable points
  bad_address = 5,            // the address does not decode (typo, bad checksum, ...)
  rejected = 6,               // the node refused the transaction (or later dropped it)
  wallet_file = 7,            // wallet file missing, already exists, or cannot be written
  commit_timeout = 8,         // submitted, but not committed within the wait limit
  verification_failed = 9,    // verify-tx: a proof, hash or signature does not check out
  not_committed = 10,         // verify-tx: the transaction is unknown or still pending
  internal = 11,              // an unexpected failure: a bug in the wallet, please report it
  declined = 12,              // pay: the customer did not confirm the payment
};

// A command that cannot finish throws this; main() prints the message on one line on stderr
// and exits with the code. Each wallet run is one short command whose every failure ends the
// process, so carrying the exit code up to main() is the whole of the error handling.
class Failure : public std::runtime_error {
 public:
  Failure(Exit exit_code, const std::string& message)
      : std::runtime_error(message), exit_code_(exit_code) {}
  Exit exit_code() const { return exit_code_; }

 private:
  Exit exit_code_;
};

}  // namespace pc::wallet
