#pragma once
// The outcome of an asynchronous cluster operation: a value or the reason there is none.
// Every callback of the cluster services receives one, exactly once, on the Redis client's
// strand.
#include <functional>
#include <string>
#include <utility>
#include <variant>

namespace kwm::cluster {

enum class failure : unsigned char {
  unavailable,  // Redis could not be reached (down, or no connection within the queue timeout)
  overloaded,   // the bound on pending commands was reached; nothing was sent
  timeout,      // Redis did not answer within the command timeout; the connection was reset
  lost,         // the connection broke while the command was in flight: it may have run
  stopped,      // the client is shutting down
  rejected,     // Redis answered with an error reply (the detail holds its text)
  malformed,    // the reply did not have the shape the operation expects
};

const char* to_string(failure kind);

struct error {
  failure kind = failure::unavailable;
  std::string detail;
};

// Used as T when an operation returns nothing but success.
struct done {};

template <class T>
class result {
 public:
  result(T value) : state_(std::move(value)) {}        // NOLINT: implicit on purpose
  result(error failed) : state_(std::move(failed)) {}  // NOLINT

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(state_); }
  const T& value() const { return std::get<0>(state_); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const error& failed() const { return std::get<1>(state_); }

 private:
  std::variant<T, error> state_;
};

template <class T>
using callback = std::function<void(result<T>)>;

}  // namespace kwm::cluster
