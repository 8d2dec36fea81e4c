#include "control.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <random>

namespace brucefs {

using bruce::Status;

namespace {

std::string RandomName() {
  std::random_device rd;
  const uint64_t r = (uint64_t{rd()} << 32) ^ rd();
  char buf[40];
  snprintf(buf, sizeof buf, "brucefs-ctl-%016llx", static_cast<unsigned long long>(r));
  return buf;
}

}  // namespace

ControlServer::ControlServer(BruceFs* fs, fuse_session* se, std::string mountpoint, uid_t owner)
    : fs_(fs), se_(se), mountpoint_(std::move(mountpoint)), owner_(owner) {}

ControlServer::~ControlServer() { Stop(); }

Status ControlServer::Start() {
  // A random name: another process cannot squat it in advance, and the
  // client checks that the pid it reaches is the one the lock file names.
  std::string name;
  for (int i = 0; i < 8 && listen_fd_ < 0; ++i) {
    name = RandomName();
    const int fd = ctl::Listen(name);
    if (fd >= 0) {
      listen_fd_ = fd;
    } else if (fd != -EADDRINUSE) {
      return Status::IOError("control socket", -fd);
    }
  }
  if (listen_fd_ < 0) return Status::IOError("control socket", EADDRINUSE);
  if (::pipe2(wake_, O_CLOEXEC) != 0) return Status::IOError("pipe", errno);
  BRUCE_RETURN_IF_ERROR(fs_->PublishEndpoint(name));
  thread_ = std::thread([this] { Loop(); });
  return Status::OK();
}

void ControlServer::RequestStop() {
  if (wake_[1] >= 0 && !stopping_) {
    const char c = 'q';
    (void)!::write(wake_[1], &c, 1);
    stopping_ = true;
  }
}

void ControlServer::Stop() {
  RequestStop();
  if (thread_.joinable()) thread_.join();
  for (int* fd : {&listen_fd_, &wake_[0], &wake_[1]}) {
    if (*fd >= 0) ::close(*fd);
    *fd = -1;
  }
}

void ControlServer::Loop() {
  for (;;) {
    pollfd p[2] = {{listen_fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    if (::poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      fuse_log(FUSE_LOG_ERR, "brucefs: control socket: poll: %s\n", strerror(errno));
      return;
    }
    if (p[1].revents != 0) return;
    if ((p[0].revents & POLLIN) == 0) continue;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    Serve(fd);
    ::close(fd);
  }
}

void ControlServer::Serve(int fd) {
  ctl::Message req, reply;
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
      (cred.uid != owner_ && cred.uid != 0)) {
    fuse_log(FUSE_LOG_WARNING, "brucefs: control socket: refused a connection of uid %u\n",
             static_cast<unsigned>(cred.uid));
    reply.SetStatus(Status::IOError(
        "uid " + std::to_string(cred.uid) + " may not control the mount on " + mountpoint_ +
            " (only its owner, uid " + std::to_string(owner_) + ", and root may)",
        EACCES));
    (void)ctl::Send(fd, reply);
    return;
  }
  // A client that stalls holds the socket 30 s at most, and never past Stop.
  timeval tv{30, 0};
  (void)::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  const ctl::Deadline deadline{std::chrono::steady_clock::now() + std::chrono::seconds(30),
                               wake_[0]};
  Status s = ctl::Receive(fd, &req, &deadline);
  if (!s.ok()) {
    reply.SetStatus(s);
    (void)ctl::Send(fd, reply);
    return;
  }
  BruceFs::Invalidations inval;
  fs_->Control(req, &reply, &inval);
  if (req.Get("op") == "status") reply.Set("mountpoint", mountpoint_);
  Invalidate(inval);
  (void)ctl::Send(fd, reply);
}

void ControlServer::Invalidate(const BruceFs::Invalidations& inval) {
  // Names first, then what the inodes hold; ENOENT means the kernel holds
  // nothing of it. Once the session loop has ended nobody answers the
  // kernel, and an invalidation could wait on a request forever.
  for (const auto& [parent, name] : inval.entries) {
    if (fuse_session_exited(se_)) return;
    (void)fuse_lowlevel_notify_inval_entry(se_, parent, name.data(), name.size());
  }
  for (uint64_t ino : inval.inodes) {
    if (fuse_session_exited(se_)) return;
    (void)fuse_lowlevel_notify_inval_inode(se_, ino, 0, 0);
  }
}

}  // namespace brucefs
