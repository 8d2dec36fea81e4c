// fs/control_proto.h — the messages of brucefs's control socket.
//
// A mounted store is written by its brucefs daemon only; the bruce CLI asks
// the daemon to make its changes (docs/FS.md "The control socket"). The
// daemon listens on an abstract Unix stream socket whose name it publishes
// in the store's lock file (Db::PublishEndpoint); a client sends one
// request and reads one reply, then the connection closes.
//
// A message is a set of named fields, each a byte string:
//
//   u32 total length of what follows (at most kMaxMessage)
//   u32 number of fields
//   per field: u32 name length, name, u32 value length, value
//
// every integer little-endian. Requests name the operation in "op"; replies
// carry an engine Status in "code" (bruce::Code as a decimal number), "msg",
// "errno" and "page", plus what the operation returns.
//
// Thread safety: Message is a value; the I/O functions use only their fd.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "bruce/status.h"

namespace brucefs::ctl {

// The largest message: what a request can carry (a value to put, the
// records to load) is bounded by it.
inline constexpr uint32_t kMaxMessage = uint32_t{256} << 20;
inline constexpr uint32_t kMaxPayload = kMaxMessage - (uint32_t{1} << 16);

struct Message {
  std::map<std::string, std::string> fields;

  void Set(const std::string& name, std::string value) { fields[name] = std::move(value); }
  void SetU64(const std::string& name, uint64_t v) { fields[name] = std::to_string(v); }
  bool Has(const std::string& name) const { return fields.count(name) != 0; }
  // The field's value, or "" when it is absent.
  const std::string& Get(const std::string& name) const;
  // The field as a decimal number; 0 when absent or malformed.
  uint64_t GetU64(const std::string& name) const;
  // The Status a reply carries; OK when it has no code.
  bruce::Status GetStatus() const;
  void SetStatus(const bruce::Status& s);
};

// Writes one message; kIOError on failure (EPIPE when the peer went away).
bruce::Status Send(int fd, const Message& m);
// Reads one message; kInvalidArgument for a malformed one, kIOError on a
// read error or an early end. With a deadline: kIOError once it passes or
// once wake_fd (if not -1) becomes readable.
struct Deadline {
  std::chrono::steady_clock::time_point until;
  int wake_fd = -1;
};
bruce::Status Receive(int fd, Message* m, const Deadline* d = nullptr);

// The records of a load request's "records" field: u32 key length, key,
// u32 value length, value, repeated.
void AppendRecord(std::string* out, std::string_view key, std::string_view value);
// Reads the next record at *pos; false at the end or when malformed
// (*bad set).
bool NextRecord(std::string_view in, size_t* pos, std::string_view* key,
                std::string_view* value, bool* bad);

// An abstract Unix socket: binds (a server) or connects (a client) to the
// endpoint name. Returns the socket or -errno.
int Listen(std::string_view name);
int Connect(std::string_view name);

}  // namespace brucefs::ctl
