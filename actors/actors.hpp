#pragma once
// Every actor interface of kwmserverd, in one place, so the whole message flow can be
// read here. Handlers are listed per actor with who sends them and what they do.
//
//   net (WebSocket strand) ──text/binary/closed──▶ connection ──admit/lookup──▶ user_directory
//   HTTP request runners  ──issue/redeem────────▶ token_issuer
//   connection ──create/lookup──▶ channel_registry ──spawns──▶ channel
//   connection ──join/forward/hangup──▶ channel ──frames──▶ members' sinks
//   connection, channel ──frames──▶ net::frame_sink (never through another actor)
//   channel ──spawns──▶ pipeline ──attach/detach──▶ mcu_broker ──frames──▶ MCU control sockets
//   channel ──pipeline──▶ pipeline ──frames──▶ MCU data socket ──text──▶ pipeline ──deliver──▶ channel
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "net/websocket_link.hpp"
#include "protocol/admin_api.hpp"
#include "protocol/admin_token.hpp"
#include "protocol/auth_record.hpp"
#include "protocol/oidc_claims.hpp"
#include "protocol/rtm_messages.hpp"

namespace kwm::actors {

// -- atoms (at most 10 characters in CAF 0.17) -------------------------------------------

using issue_atom = caf::atom_constant<caf::atom("issue")>;
using redeem_atom = caf::atom_constant<caf::atom("redeem")>;
using sweep_atom = caf::atom_constant<caf::atom("sweep")>;
using text_atom = caf::atom_constant<caf::atom("text")>;
using binary_atom = caf::atom_constant<caf::atom("binary")>;
using closed_atom = caf::atom_constant<caf::atom("closed")>;
using admit_atom = caf::atom_constant<caf::atom("admit")>;
using count_atom = caf::atom_constant<caf::atom("count")>;
using lookup_atom = caf::atom_constant<caf::atom("lookup")>;
using shutdown_atom = caf::atom_constant<caf::atom("shutdown")>;
using create_atom = caf::atom_constant<caf::atom("create")>;
using join_atom = caf::atom_constant<caf::atom("join")>;
using forward_atom = caf::atom_constant<caf::atom("forward")>;
using hangup_atom = caf::atom_constant<caf::atom("hangup")>;
using retire_atom = caf::atom_constant<caf::atom("retire")>;
using group_atom = caf::atom_constant<caf::atom("group")>;
using chat_atom = caf::atom_constant<caf::atom("chat")>;
using list_atom = caf::atom_constant<caf::atom("list")>;
using delete_atom = caf::atom_constant<caf::atom("delete")>;
using verify_atom = caf::atom_constant<caf::atom("verify")>;
using recheck_atom = caf::atom_constant<caf::atom("recheck")>;
using touch_atom = caf::atom_constant<caf::atom("touch")>;
using renew_atom = caf::atom_constant<caf::atom("renew")>;
using discovery_atom = caf::atom_constant<caf::atom("discovery")>;
using keys_atom = caf::atom_constant<caf::atom("keys")>;
using refresh_atom = caf::atom_constant<caf::atom("refresh")>;
using pipeline_atom = caf::atom_constant<caf::atom("pipeline")>;
using deliver_atom = caf::atom_constant<caf::atom("deliver")>;
using reset_atom = caf::atom_constant<caf::atom("reset")>;
using attach_atom = caf::atom_constant<caf::atom("attach")>;
using detach_atom = caf::atom_constant<caf::atom("detach")>;
using claim_atom = caf::atom_constant<caf::atom("claim")>;
using control_atom = caf::atom_constant<caf::atom("control")>;
using data_atom = caf::atom_constant<caf::atom("data")>;
using reattach_atom = caf::atom_constant<caf::atom("reattach")>;
using left_atom = caf::atom_constant<caf::atom("left")>;
using resume_atom = caf::atom_constant<caf::atom("resume")>;
using owned_atom = caf::atom_constant<caf::atom("owned")>;
using nodes_atom = caf::atom_constant<caf::atom("nodes")>;
using rejoin_atom = caf::atom_constant<caf::atom("rejoin")>;
using retarget_atom = caf::atom_constant<caf::atom("retarget")>;
using leave_atom = caf::atom_constant<caf::atom("leave")>;
using op_atom = caf::atom_constant<caf::atom("op")>;
using run_atom = caf::atom_constant<caf::atom("run")>;
using drain_atom = caf::atom_constant<caf::atom("drain")>;

// -- connection: one per RTM WebSocket ---------------------------------------------------

using connection_actor = caf::typed_actor<
    // From net, in arrival order: one text frame. Rate limit, parse, validate, dispatch.
    caf::reacts_to<text_atom, std::string>,
    // From net: a binary frame of the given size. Ignored, but counts towards the rate limit.
    caf::reacts_to<binary_atom, uint64_t>,
    // From net: the socket is gone. The actor quits; channels and the directory notice
    // through their monitors.
    caf::reacts_to<closed_atom>,
    // From a group channel (id): another connection of this user replaced this one as the
    // member whose join got that membership number. The group no longer counts against
    // this connection's cap (D20); a notice about an older membership is ignored.
    caf::reacts_to<left_atom, std::string, uint64_t>,
    // Cluster mode, from the proxy or the channel of that id: the channel has a new owner
    // node. If this connection still is a member there (not hung up, not replaced), it joins
    // the channel again wherever the registry finds it now, and counts the new membership
    // number (D20); otherwise it only forgets the old handle.
    caf::reacts_to<rejoin_atom, std::string>>;

// A live connection as other actors address it: the actor for requests, the sink for
// frames (fan-out writes straight to the socket's queue, without an extra actor hop).
struct connection_ref {
  std::string user_id;
  std::string display_name;
  connection_actor actor;
  std::shared_ptr<net::frame_sink> sink;
};
using connection_list = std::vector<connection_ref>;

// -- request_runner: the actor steps of HTTP requests (actors/request_runner.hpp) ----------

// What a connect, TURN or WebSocket-open request does with actors: its requests to the
// issuer, the directory and the auth services, and their continuations, all with `self`.
using request_step = std::function<void(caf::event_based_actor*)>;

// A request runner is a dynamically typed actor (`caf::actor`: the steps use
// `event_based_actor` requests) with one handler:
//   (run_atom, std::shared_ptr<request_step>): from net's request handlers (any thread):
//   run the step now; its requests and continuations then share the runner with every
//   other request in flight there.
// A few live as long as the server (one per io thread). One new actor per request cost a
// spawn, and at its end a cancellation pushed to CAF 0.17's clock thread (a mutex, a
// condition broadcast and a context switch per request).

// -- token_issuer: connect keys (spec §2) -------------------------------------------------

// The outcome of redeeming a key: `found` is false for unknown, used or expired keys.
struct redeemed_key {
  bool found = false;
  protocol::auth_record auth;
};

// The outcome of issuing a key: the key (32 characters), or "" with the cap that refused it.
struct issued_key {
  std::string key;
  // Refused by the requesting client's share of the keys (429), not by the total (503).
  bool client_at_cap = false;
};

using token_issuer_actor = caf::typed_actor<
    // From a connect request (auth record, requesting client): store the auth of the
    // connect call under a fresh key and return the key, or refuse it when the server's
    // outstanding keys (D20: 503 `too many pending connects`) or this client's share
    // (429, same text) are at their cap. The client is an opaque name: the user id when
    // authenticated, otherwise the address (see actors/connect_client.hpp).
    caf::replies_to<issue_atom, protocol::auth_record, std::string>::with<issued_key>,
    // From a WebSocket open: remove the key (single use, even when it is expired) and
    // return what it grants if it was issued at most 30 s ago.
    caf::replies_to<redeem_atom, std::string>::with<redeemed_key>,
    // From itself, every second: drop expired keys (gone within 31 s of their issue).
    caf::reacts_to<sweep_atom>>;

// -- user_directory: user id → live connections -------------------------------------------

using user_directory_actor = caf::typed_actor<
    // From a WebSocket open: register a connection (monitored; removed when it dies)
    // unless its user already has `limit` live connections (0 = no limit). Id-less
    // anonymous connections are always admitted and never addressable.
    caf::replies_to<admit_atom, connection_ref, uint32_t>::with<bool>,
    // From a connect request: how many live connections a user has.
    caf::replies_to<count_atom, std::string>::with<uint64_t>,
    // From connections: every live connection of a user (empty when offline).
    caf::replies_to<lookup_atom, std::string>::with<connection_list>,
    // From a channel: write the frame to every live connection of the user (a hangup for a
    // call not answered yet); nothing when the user is offline.
    caf::reacts_to<deliver_atom, std::string, net::frame>,
    // From the runtime at shutdown: end every connection, then quit.
    caf::reacts_to<shutdown_atom>>;

// -- channel: one per 1:1 call channel ('*' + 32 characters) or group ('@' + group) --------

// What joining a channel did (spec §3.9).
enum class join_outcome : uint8_t {
  joined,          // a new member; the others got a "joined" notice
  already_member,  // this connection already was the member: nothing changed
  replaced,        // group: another connection of the user was replaced
  id_exists,          // 1:1: another connection of the user is the member (D4)
  closed,             // the channel is being removed
  create_restricted,  // the channel is empty and the joiner may not create channels
  full,               // group: a new member would exceed the group's member cap (D20)
};

// The webrtc_channel reply to a `webrtc_group` request: its id and the joiner's group hash.
struct group_reply {
  uint64_t reply_to = 0;
  std::string hash;
};

// A connection asking to become a channel's member, with what the channel sends before any
// side effect of the join reaches another member (D21).
struct join_request {
  explicit join_request(connection_ref who = {}, bool creates = true)
      : joiner(std::move(who)), may_create(creates) {}

  connection_ref joiner;
  bool may_create = true;  // joining an empty channel counts as creating it
  // webrtc_group: the reply, completed with the member list (including the joiner).
  std::optional<group_reply> reply;
  // An accepted call answer: relayed to the member `answer_target` (dropped when it is not a
  // member or the channel is pipelined).
  std::string answer_target;
  net::frame answer;
  // A member's rejoin after its channel moved to another node (cluster mode): the list it
  // holds is the old owner's, so a group sends it the current one.
  bool rejoin = false;
};

struct join_result {
  join_outcome outcome = join_outcome::closed;
  uint64_t membership = 0;  // joined, already_member, replaced: names this connection's membership
};

// Whether the joiner is the member connection after the join.
inline bool is_membership(join_outcome outcome) {
  return outcome == join_outcome::joined || outcome == join_outcome::already_member ||
         outcome == join_outcome::replaced;
}

using channel_actor = caf::typed_actor<
    // From a connection: make it its user's member connection. 1:1 channels refuse a
    // second connection of a member (D4); group channels replace it (spec §3.14), telling
    // the old connection it was replaced (a frame to its socket, `left` to its actor). A
    // joiner that may not create channels cannot join an empty one; a group at its member
    // cap refuses new users (`full`). On success the request's reply or relayed answer goes
    // out first (D21); then the other members get the "joined" notice and, in groups, the
    // new member list.
    caf::replies_to<join_atom, join_request>::with<join_result>,
    // From a connection: a chat message (spec §3.16). The channel is the sequencer: it
    // checks that the sender is the member connection, assigns id, ts and sender, echoes
    // to the sender, delivers to the others, then confirms delivery to the sender.
    // Replies with the error text, or "" when the message was delivered.
    caf::replies_to<chat_atom, connection_actor, protocol::chats_message>::with<std::string>,
    // From a connection: deliver a frame to the member connection of the user `target`.
    // Silently dropped when the target is not a member (no_session_for_user is never
    // revealed to clients).
    caf::reacts_to<forward_atom, std::string, net::frame>,
    // From a connection: `webrtc_hangup`. Removes the sender when it is its user's member
    // connection and delivers the frame to the target's member connection or, when the
    // target is not in the channel, to every live connection of the target user. The
    // delivery comes first, then the "left" notice and the member list (D21).
    caf::reacts_to<hangup_atom, connection_actor, std::string, net::frame>,
    // From a connection, in a pipelined channel (spec §3.17): a member's webrtc_signal or
    // webrtc_hangup (rendered with source and id), for the MCU. Hangups arrive as hangup_atom
    // and take the same way after removing the sender. Dropped without a pipeline.
    caf::reacts_to<pipeline_atom, net::frame>,
    // From the channel's pipeline: a frame from the MCU for the member connection of user
    // `target`; dropped when the target is not a member.
    caf::reacts_to<deliver_atom, std::string, net::frame>,
    // From the channel's pipeline after a re-attach: every member gets the group update with
    // `reset: true`.
    caf::reacts_to<reset_atom>,
    // From itself, when its last member left (or a refused creator), and from the registry
    // once it reached its lifetime: remove the channel if it is empty (N7).
    caf::reacts_to<sweep_atom>,
    // Cluster mode, from the registry: another node holds this channel's lease (this node
    // was paused or cut off past the node TTL). Every member is told to rejoin (`rejoin`
    // to its connection) and the channel ends without "left" notices: the members move to
    // the new owner, they do not leave.
    caf::reacts_to<retarget_atom>>;

// -- pipeline: one pipelined channel's link to the MCU (spec §3.17) ----------------------

using pipeline_actor = caf::typed_actor<
    // From its channel: a member's signal or hangup, written to the data socket; dropped
    // (logged) while there is none.
    caf::reacts_to<pipeline_atom, net::frame>,
    // From the MCU data route: the data socket of this pipeline's transaction opened; the
    // number tells its frames apart from those of earlier sockets.
    caf::reacts_to<data_atom, std::shared_ptr<net::frame_sink>, uint64_t>,
    // From the data socket: a text frame, delivered to the `target` member via the channel.
    // Invalid JSON or field types close the data socket (1001).
    caf::reacts_to<text_atom, std::string, uint64_t>,
    // From the data socket: it closed; attach again after 3 s.
    caf::reacts_to<closed_atom, uint64_t>,
    // From itself: send attach (a new transaction) while there is no data socket; repeats
    // every 10 s (watchdog). Only the newest scheduled attempt (by number) counts.
    caf::reacts_to<reattach_atom, uint64_t>,
    // From its channel when swept: detach on a control socket, close the data socket, quit.
    caf::reacts_to<detach_atom>>;

// -- mcu_broker: the MCU's control sockets and pending attach transactions ---------------

using mcu_broker_actor = caf::typed_actor<
    // From the MCU control route: a control socket opened; replies with its number.
    caf::replies_to<control_atom, std::shared_ptr<net::frame_sink>>::with<uint64_t>,
    // From a control socket: it closed.
    caf::reacts_to<closed_atom, uint64_t>,
    // From a pipeline: send `attach` for handle (0 = allocate one) on the next control socket
    // (round-robin) with a new transaction. Replies with the handle, or 0 when no control
    // socket is open (the pipeline's watchdog tries again).
    caf::replies_to<attach_atom, int64_t, pipeline_actor>::with<int64_t>,
    // From the MCU data route: the pipeline waiting for this transaction, or an invalid
    // handle for unknown, used or expired transactions. With `take` the transaction is used
    // up; without, it stays pending (a refused upgrade must not consume it, D11).
    caf::replies_to<claim_atom, std::string, bool>::with<pipeline_actor>,
    // From a pipeline being removed: send `detach` for its handle on the next control socket.
    caf::reacts_to<detach_atom, int64_t>,
    // From itself every 30 s: forget transactions pending for more than 30 s.
    caf::reacts_to<sweep_atom>>;

struct created_channel {
  std::string id;
  channel_actor actor;
};

// -- channel_registry: channel id → channel actor ------------------------------------------

using channel_registry_actor = caf::typed_actor<
    // From a connection starting a call: a new 1:1 channel whose first member is the caller;
    // an empty id and an invalid handle when the process or the caller's user is at its cap
    // of live channels (N7).
    caf::replies_to<create_atom, connection_ref>::with<created_channel>,
    // From a connection joining a group (group, user id): the group's channel, created for
    // that user when it is missing; an invalid handle when creating it would pass a cap (N7).
    caf::replies_to<group_atom, std::string, std::string>::with<channel_actor>,
    // From connections: the channel with this id, or an invalid handle when there is none.
    caf::replies_to<lookup_atom, std::string>::with<channel_actor>,
    // From a channel that is being removed: forget it, so that no lookup returns it again.
    caf::reacts_to<retire_atom, std::string, channel_actor>,
    // From itself, a few times per channel lifetime: every channel that reached its lifetime
    // gets one `sweep` (it goes if nobody ever joined it).
    caf::reacts_to<sweep_atom>,
    // From the runtime at shutdown: end every channel, then quit.
    caf::reacts_to<shutdown_atom>>;

// -- admin_tokens: admin-issued tokens, their records and revocations (spec §1.6, §5.2) -----

// The outcome of verifying a presented token: `valid` is false for any failure of
// spec §5.2 rules 1–5.
struct token_verdict {
  bool valid = false;
  protocol::token_claims claims;
  std::string token;  // set by renewals
};

// One piece of the token list (GET), so that no request renders the whole list at once.
struct admin_list_page {
  std::string text;   // JSON array text: "[" first, then objects separated by ","; "]\n" last
  std::string after;  // the key to continue after; empty when `text` ends the array
  uint64_t listed = 0;  // records in this and the earlier pages
};

// What a DELETE did.
enum class revocation_outcome {
  removed,    // revoked (Token) and the record removed: 204
  no_record,  // revoked (Token), there was no record: 404
  store_full  // --admin-max-revocations unexpired revocations are kept: nothing changed
};

using admin_tokens_actor = caf::typed_actor<
    // From the admin API (POST): sign a token for `sub` (random when empty) with the
    // request's claims object (stored and echoed only); replies with the token object.
    caf::replies_to<issue_atom, protocol::admin_token_object>::with<protocol::admin_token_object>,
    // From the admin API (GET): the records (in key order, at most 5000 in all) after the
    // key `after` ("" = from the start), `listed` of them already sent, rendered until the
    // page holds about `page_bytes`. Records changed between pages may or may not appear.
    caf::replies_to<list_atom, std::string, uint64_t, uint64_t>::with<admin_list_page>,
    // From the admin API (DELETE type, sub): revoke (Token) and remove the record.
    caf::replies_to<delete_atom, std::string, std::string>::with<revocation_outcome>,
    // From connect and turn requests: check a presented token (rules 1–5); refreshes its
    // record when valid.
    caf::replies_to<verify_atom, std::string>::with<token_verdict>,
    // From a WebSocket open: is the token of (sub, iat, exp) still unexpired and unrevoked?
    caf::replies_to<recheck_atom, std::string, int64_t, int64_t>::with<bool>,
    // From connections on ping (Token) and from Basic connects: refresh the record
    // admin-<type>-<sub> (never for a revoked token).
    caf::reacts_to<touch_atom, std::string, std::string, int64_t, int64_t>,
    // From a connection whose token nears expiry: a new token for (sub, iat) with a fresh
    // expiry, or an invalid verdict when the token was revoked (D8).
    caf::replies_to<renew_atom, std::string, int64_t>::with<token_verdict>,
    // From itself every 30 s: drop idle records and revocations whose tokens have expired.
    caf::reacts_to<sweep_atom>>;

// -- oidc_provider: Bearer access tokens of an OIDC issuer (spec §5.3) ---------------------

// The outcome of checking a Bearer token: `error` is the validator's text when invalid.
struct bearer_verdict {
  bool valid = false;
  std::string error;
  protocol::oidc_identity identity;
  std::string display_name;  // from the ID token, if one was given and matches
};

using oidc_provider_actor = caf::typed_actor<
    // From connect, turn and WebSocket-open requests: validate an access token (and an
    // optional ID token for the display name) with the `auth` form mode.
    caf::replies_to<verify_atom, std::string, std::string, std::string>::with<bearer_verdict>,
    // From the fetcher (io thread): the discovery document, or an error text.
    caf::reacts_to<discovery_atom, bool, std::string>,
    // From the fetcher (io thread): the JWKS document, or an error text.
    caf::reacts_to<keys_atom, bool, std::string>,
    // From itself: fetch discovery and keys again (periodically, sooner after failures).
    caf::reacts_to<refresh_atom>>;

// -- cluster mode only (--cluster-redis, docs/cluster.md) ---------------------------------
//
// Without the flag none of these actors exists and the interfaces above are served by the
// single-node actors. With it, the directory, the registry and the issuer are cluster twins
// behind the same interfaces (plus the handlers below), so connections need no change:
// a channel owned by another node is a `remote_channel` proxy, a member connection on
// another node is a `remote_member` ghost whose sink publishes to that node.

// Work that a Redis callback (on the cluster client's thread) hands back to the actor that
// started the call: run inside the actor, so its state and promises are only touched there.
struct cluster_task {
  std::function<void()> run;
};

// The alive node ids (sorted), from the node's heartbeat, and those of them that announced
// their drain (sorted; a draining node is alive until it leaves, but owns nothing any more).
struct node_list {
  std::vector<std::string> alive;
  std::vector<std::string> draining;
};

// An operation of a connection on another node for a channel owned here (decoded from the
// bus): who sent it and what it carries. `op` is one of cluster_op (actors/cluster_ops.hpp).
struct remote_operation {
  std::string channel;
  std::string node;         // the member's node
  uint64_t connection = 0;  // the member's connection id there
  uint8_t op = 0;
  std::string user;  // join, chat: the member's user; forward, hangup: the target user
  std::string body;
};

// A function answering a bus request (thread-safe, at most once).
struct bus_responder {
  std::function<void(std::string)> respond;
};

using cluster_token_issuer_actor = token_issuer_actor::extend<
    // From the Redis client's thread: the continuation of an issue or redeem.
    caf::reacts_to<resume_atom, cluster_task>>;

using cluster_admin_tokens_actor = admin_tokens_actor::extend<
    // From the Redis client's thread: the continuation of a record or revocation call.
    caf::reacts_to<resume_atom, cluster_task>>;

using cluster_directory_actor = user_directory_actor::extend<
    // From the Redis client's thread: the continuation of admit, count or lookup.
    caf::reacts_to<resume_atom, cluster_task>,
    // From the cluster node after an outage: write this node's exact per-user counts.
    caf::reacts_to<rejoin_atom>,
    // From itself, three times per presence expiry: the same, so that the presence of a
    // connection older than the expiry does not vanish (and a count that a race left wrong
    // is repaired).
    caf::reacts_to<refresh_atom>>;

using cluster_registry_actor = channel_registry_actor::extend<
    // From the Redis client's thread: the continuation of a lease call.
    caf::reacts_to<resume_atom, cluster_task>,
    // From the gateway (channel id, user id of a joining member or empty): the channel of
    // this id if this node owns it (a group nobody alive holds is taken, counted for that
    // user as its creator); an invalid handle otherwise, also when taking it would pass a
    // cap of live channels (N7).
    caf::replies_to<owned_atom, std::string, std::string>::with<channel_actor>,
    // From the gateway: the alive nodes changed, or a node announced its drain. Proxies of
    // channels whose owner died or drains are taken over here or pointed at the new owner.
    caf::reacts_to<nodes_atom, node_list>,
    // From the runtime at SIGTERM, before the goodbyes: give up the lease of every owned
    // channel, then tell the other nodes (a `draining` notice), so that the members there
    // move to a new owner while this node drains and its own clients, reconnecting
    // elsewhere, find that owner. Answers once the notice is out (false: Redis failed it).
    caf::replies_to<drain_atom>::with<bool>,
    // From the cluster node after an outage: acquire every owned lease again; a channel
    // whose lease another node holds now is handed over (its members rejoin there).
    caf::reacts_to<rejoin_atom>,
    // From itself every minute: renew the (garbage-collection) expiry of owned leases; a
    // lease found lost is acquired again or handed over as after an outage.
    caf::reacts_to<renew_atom>>;

using remote_channel_actor = channel_actor::extend<
    // From the Redis client's thread: the continuation of a bus request.
    caf::reacts_to<resume_atom, cluster_task>,
    // From the registry after the owner died: the channel now lives here (`local` valid) or
    // on `node` with `fence`. Every local member connection is told to rejoin (`rejoin`):
    // the connection knows whether it still is a member and takes its new membership number.
    caf::reacts_to<retarget_atom, channel_actor, std::string, uint64_t>>;

using cluster_gateway_actor = caf::typed_actor<
    // From the bus: an operation of a remote member for a channel owned here (forward,
    // hangup, leave); the ghost of the member is made or found first.
    caf::reacts_to<op_atom, remote_operation>,
    // From the bus: a request (join, chat) of a remote member, answered through `responder`.
    caf::reacts_to<op_atom, remote_operation, bus_responder>,
    // From the cluster node: the alive nodes changed; ghosts of dead nodes end (their
    // channels announce them as gone), the registry hears of it.
    caf::reacts_to<nodes_atom, node_list>,
    // From the runtime at shutdown: end every ghost, then quit.
    caf::reacts_to<shutdown_atom>>;

using cluster_mcu_broker_actor = mcu_broker_actor::extend<
    // From the Redis client's thread: the continuation of a handle, transaction or control
    // socket lookup.
    caf::reacts_to<resume_atom, cluster_task>,
    // From the gateway: an MCU operation of another node (mcu_control: write this attach or
    // detach on a control socket here; mcu_open, mcu_text, mcu_closed: a data socket there
    // for a pipeline here opened, sent a frame, ended).
    caf::reacts_to<op_atom, remote_operation>,
    // From the gateway: the alive nodes changed. Pipelines here whose data socket sat on a
    // dead node attach again; data sockets here for pipelines of a dead node close.
    caf::reacts_to<nodes_atom, node_list>,
    // From the cluster node after an outage: write this node's control socket count.
    caf::reacts_to<rejoin_atom>,
    // From itself three times per presence expiry: the same, so the count does not expire.
    caf::reacts_to<refresh_atom>>;

}  // namespace kwm::actors

// Local-only message types holding pointers; they never cross a process boundary.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kwm::protocol::auth_record)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<kwm::actors::request_step>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kwm::actors::redeemed_key)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kwm::actors::issued_key)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kwm::actors::connection_ref)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kwm::actors::connection_list)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kwm::net::frame)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<kwm::net::frame_sink>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kwm::actors::join_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kwm::actors::join_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kwm::actors::created_channel)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kwm::protocol::chats_message)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kwm::protocol::admin_token_object)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<kwm::protocol::admin_token_object>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kwm::actors::admin_list_page)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kwm::actors::revocation_outcome)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kwm::actors::token_verdict)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kwm::actors::bearer_verdict)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kwm::actors::cluster_task)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kwm::actors::node_list)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kwm::actors::remote_operation)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kwm::actors::bus_responder)
