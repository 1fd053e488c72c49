#pragma once
// Asking a token issuer for keys in deterministic tests.
#include <optional>
#include <string>

#include "actors/actors.hpp"
#include "support/deterministic.hpp"

namespace kwm::test {

// The key issued to `client` for an anonymous `user_id` ("" when refused); nullopt when no
// reply came.
inline std::optional<std::string> issue_key(deterministic_fixture& world,
                                            const actors::token_issuer_actor& issuer,
                                            std::string user_id,
                                            std::string client = "one client") {
  auto issued = world.ask<actors::issued_key>(issuer, actors::issue_atom::value,
                                              anonymous_user(std::move(user_id)), client);
  if (!issued) return std::nullopt;
  return issued->key;
}

}  // namespace kwm::test
