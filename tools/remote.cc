#include "remote.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "session.h"

namespace bruce::cli {

bool FindDaemon(const std::string& store, Endpoint* ep) {
  auto r = Db::FindEndpoint(store);
  if (!r.ok()) return false;
  *ep = std::move(r).value();
  return true;
}

int Ask(const Invocation& inv, const Endpoint& ep, const ctl::Message& req, ctl::Message* reply) {
  const int fd = ctl::Connect(ep.name);
  if (fd < 0) {
    return Error(inv, "cannot reach the brucefs daemon (pid " + std::to_string(ep.pid) +
                          ") that holds " + inv.args[0] + ": " + std::strerror(-fd));
  }
  // The socket's name is in a file others may write: the process behind it
  // must be the one the lock file names, run by this user, root or the
  // store's owner.
  ucred cred{};
  socklen_t len = sizeof cred;
  struct stat st{};
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
      static_cast<uint32_t>(cred.pid) != ep.pid ||
      (cred.uid != ::getuid() && cred.uid != 0 &&
       !(::stat(inv.args[0].c_str(), &st) == 0 && cred.uid == st.st_uid))) {
    ::close(fd);
    return Error(inv, "the control socket of " + inv.args[0] +
                          " is not served by the daemon its lock file names (pid " +
                          std::to_string(ep.pid) + ")");
  }
  Status s = ctl::Send(fd, req);
  // A daemon that refuses the connection replies without reading the
  // request: its reply says why the send failed.
  Status r = ctl::Receive(fd, reply);
  if (r.ok() || s.ok()) s = r;
  ::close(fd);
  if (!s.ok()) return Error(inv, "talking to the brucefs daemon: " + s.ToString());
  return kExitOk;
}

int AskWrite(const Invocation& inv, const Endpoint& ep, ctl::Message req, Status* st,
             ctl::Message* reply) {
  SetTree(inv, &req);
  ctl::Message r;
  if (int rc = Ask(inv, ep, req, &r)) return rc;
  *st = r.GetStatus();
  if (!st->ok() && r.Get("failed") == "tree") return TreeError(inv, *st);
  if (reply != nullptr) *reply = std::move(r);
  return kExitOk;
}

void SetTree(const Invocation& inv, ctl::Message* req) {
  if (const std::string* t = inv.Value("--tree")) req->Set("tree", *t);
  if (inv.Has("--dup")) req->Set("dup", "1");
  if (const std::string* b = inv.Value("--bloom")) req->Set("bloom", *b);
}

int ReadRestOfStdin(const Invocation& inv, std::string* out) {
  std::string piece;
  bool eof = false;
  while (!eof) {
    if (!ReadStdinPiece(kPieceBytes, &piece, &eof)) {
      return Error(inv, std::string("reading stdin: ") + std::strerror(errno));
    }
    if (out->size() + piece.size() > ctl::kMaxPayload) {
      return BadInput(inv, "the store is mounted, and its daemon takes at most " +
                               std::to_string(ctl::kMaxPayload >> 20) +
                               " MiB in one request: copy large files into the mount instead");
    }
    out->append(piece);
  }
  return kExitOk;
}

}  // namespace bruce::cli
