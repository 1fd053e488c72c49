#pragma once
// Waiting for a condition instead of sleeping for a guessed time.
#include <chrono>
#include <thread>

namespace kwm::test {

// Polls `condition` until it holds or `timeout` passes: for state that changes
// asynchronously inside the server and has no event a client could wait for.
template <class Condition>
bool eventually(Condition condition, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

}  // namespace kwm::test
