#include "control_proto.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cstddef>
#include <cstring>

namespace brucefs::ctl {

namespace {

void PutU32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}

uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

bruce::Status WriteAll(int fd, const char* p, size_t n) {
  while (n > 0) {
    const ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return bruce::Status::IOError("control socket: send", w < 0 ? errno : EIO);
    p += w;
    n -= static_cast<size_t>(w);
  }
  return bruce::Status::OK();
}

bruce::Status ReadAll(int fd, char* p, size_t n, const Deadline* d) {
  while (n > 0) {
    if (d != nullptr) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          d->until - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        return bruce::Status::IOError("control socket: the request took too long", ETIMEDOUT);
      }
      pollfd pf[2] = {{fd, POLLIN, 0}, {d->wake_fd, POLLIN, 0}};
      const int k = ::poll(pf, d->wake_fd >= 0 ? 2 : 1, static_cast<int>(left.count()));
      if (k < 0 && errno == EINTR) continue;
      if (k < 0) return bruce::Status::IOError("control socket: poll", errno);
      if (d->wake_fd >= 0 && pf[1].revents != 0) {
        return bruce::Status::IOError("control socket: the daemon is stopping", ESHUTDOWN);
      }
      if (k == 0) continue;  // the deadline, checked above
    }
    const ssize_t r = ::recv(fd, p, n, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return bruce::Status::IOError("control socket: receive", errno);
    if (r == 0) return bruce::Status::IOError("control socket: the peer closed it", EPIPE);
    p += r;
    n -= static_cast<size_t>(r);
  }
  return bruce::Status::OK();
}

socklen_t AbstractAddress(std::string_view name, sockaddr_un* a) {
  std::memset(a, 0, sizeof *a);
  a->sun_family = AF_UNIX;
  // sun_path[0] == 0: the abstract namespace (no file, gone with the socket).
  const size_t n = std::min(name.size(), sizeof a->sun_path - 1);
  std::memcpy(a->sun_path + 1, name.data(), n);
  return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + n);
}

}  // namespace

const std::string& Message::Get(const std::string& name) const {
  static const std::string kEmpty;
  auto it = fields.find(name);
  return it == fields.end() ? kEmpty : it->second;
}

uint64_t Message::GetU64(const std::string& name) const {
  const std::string& s = Get(name);
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return 0;
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return UINT64_MAX;  // past any size: refused downstream
    v = v * 10 + d;
  }
  return v;
}

bruce::Status Message::GetStatus() const {
  const uint64_t code = GetU64("code");
  if (code == 0) return bruce::Status::OK();
  const uint64_t page = Has("page") ? GetU64("page") : bruce::Status::kNoPage;
  return bruce::Status::FromParts(static_cast<bruce::Code>(code), Get("msg"),
                                  static_cast<int>(GetU64("errno")), page);
}

void Message::SetStatus(const bruce::Status& s) {
  SetU64("code", static_cast<uint64_t>(s.code()));
  if (s.ok()) return;
  Set("msg", s.message());
  if (s.err() != 0) SetU64("errno", static_cast<uint64_t>(s.err()));
  if (s.page() != bruce::Status::kNoPage) SetU64("page", s.page());
}

bruce::Status Send(int fd, const Message& m) {
  std::string body;
  PutU32(&body, static_cast<uint32_t>(m.fields.size()));
  for (const auto& [name, value] : m.fields) {
    PutU32(&body, static_cast<uint32_t>(name.size()));
    body += name;
    PutU32(&body, static_cast<uint32_t>(value.size()));
    body += value;
  }
  if (body.size() > kMaxMessage) {
    return bruce::Status::InvalidArgument("a control request holds at most " +
                                          std::to_string(kMaxPayload >> 20) + " MiB");
  }
  std::string head;
  PutU32(&head, static_cast<uint32_t>(body.size()));
  BRUCE_RETURN_IF_ERROR(WriteAll(fd, head.data(), head.size()));
  return WriteAll(fd, body.data(), body.size());
}

bruce::Status Receive(int fd, Message* m, const Deadline* d) {
  m->fields.clear();
  char head[4];
  BRUCE_RETURN_IF_ERROR(ReadAll(fd, head, 4, d));
  const uint32_t len = GetU32(head);
  if (len > kMaxMessage || len < 4) {
    return bruce::Status::InvalidArgument("control socket: a message of " + std::to_string(len) +
                                          " bytes");
  }
  std::string body(len, '\0');
  BRUCE_RETURN_IF_ERROR(ReadAll(fd, body.data(), len, d));
  const uint32_t count = GetU32(body.data());
  size_t pos = 4;
  auto field = [&](std::string* out) {
    if (body.size() - pos < 4) return false;
    const uint32_t n = GetU32(body.data() + pos);
    pos += 4;
    if (body.size() - pos < n) return false;
    out->assign(body, pos, n);
    pos += n;
    return true;
  };
  for (uint32_t i = 0; i < count; ++i) {
    std::string name, value;
    if (!field(&name) || !field(&value)) {
      return bruce::Status::InvalidArgument("control socket: a malformed message");
    }
    m->fields[std::move(name)] = std::move(value);
  }
  if (pos != body.size()) return bruce::Status::InvalidArgument("control socket: trailing bytes");
  return bruce::Status::OK();
}

void AppendRecord(std::string* out, std::string_view key, std::string_view value) {
  PutU32(out, static_cast<uint32_t>(key.size()));
  out->append(key);
  PutU32(out, static_cast<uint32_t>(value.size()));
  out->append(value);
}

bool NextRecord(std::string_view in, size_t* pos, std::string_view* key,
                std::string_view* value, bool* bad) {
  *bad = false;
  if (*pos == in.size()) return false;
  auto part = [&](std::string_view* out) {
    if (in.size() - *pos < 4) return false;
    const uint32_t n = GetU32(in.data() + *pos);
    *pos += 4;
    if (in.size() - *pos < n) return false;
    *out = in.substr(*pos, n);
    *pos += n;
    return true;
  };
  if (!part(key) || !part(value)) {
    *bad = true;
    return false;
  }
  return true;
}

int Listen(std::string_view name) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  sockaddr_un a;
  const socklen_t len = AbstractAddress(name, &a);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), len) != 0 || ::listen(fd, 16) != 0) {
    const int err = errno;
    ::close(fd);
    return -err;
  }
  return fd;
}

int Connect(std::string_view name) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  sockaddr_un a;
  const socklen_t len = AbstractAddress(name, &a);
  int r;
  do {
    r = ::connect(fd, reinterpret_cast<sockaddr*>(&a), len);
  } while (r != 0 && errno == EINTR);
  if (r != 0) {
    const int err = errno;
    ::close(fd);
    return -err;
  }
  return fd;
}

}  // namespace brucefs::ctl
