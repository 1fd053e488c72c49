#pragma once
// The admin token records and revocations (spec §1.6, §5.2, D9) shared by every node
// (D23): a token issued on one node is listed on all, a DELETE on one node revokes on all
// at once (every check reads Redis; there is no cache that could lag), and records expire
// 60 s after their last refresh wherever it happened.
//
// A record is an id (admin-<type>-<sub>), an opaque body (the token object's other fields,
// encoded by the caller) and the token's `exp`, kept apart so a refresh can update the
// expiry without knowing the body. At most `max_records` records are kept, as many as a list
// shows (N4): a token whose record finds no room is still issued and refreshed, only not
// listed.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cluster/key_space.hpp"
#include "cluster/result.hpp"

namespace kwm::cluster {

class redis_client;

struct admin_record {
  std::string id;
  std::string body;
  int64_t exp = 0;
};

class admin_token_store {
 public:
  virtual ~admin_token_store() = default;
  // Creates or replaces a record (POST) and refreshes it.
  virtual void put(admin_record record, callback<done> finished) = 0;
  // Refreshes a record, creating it from `record` when it is missing or expired and
  // updating its exp when record.exp is not 0. Refused (false) when `subject` is not empty
  // and revoked at or after `issued_at`: revoked tokens never refresh their record.
  virtual void touch(admin_record record, std::string subject, int64_t issued_at,
                     callback<bool> finished) = 0;
  // Removes a record; whether one existed (and had not expired).
  virtual void remove(std::string id, callback<bool> finished) = 0;
  // The unexpired records with the smallest ids (byte order), at most `limit`.
  virtual void list(std::size_t limit, callback<std::vector<admin_record>> finished) = 0;
  // Revokes `subject` at `at` (unix seconds; a later revocation wins) and forgets
  // revocations older than `keep`; returns the subject's revocation time. A subject not yet
  // revoked is refused (failure::rejected, revocations_full) while `max_revocations` others
  // are kept (0 = no bound).
  virtual void revoke(std::string subject, int64_t at, std::chrono::seconds keep,
                      std::size_t max_revocations, callback<int64_t> finished) = 0;
  virtual void revoked_at(std::string subject, callback<std::optional<int64_t>> finished) = 0;
};

inline constexpr const char* revocations_full = "too many revocations";

std::unique_ptr<admin_token_store> make_redis_admin_tokens(
    redis_client& client, key_space keys, std::chrono::milliseconds record_lifetime,
    std::size_t max_records);

}  // namespace kwm::cluster
