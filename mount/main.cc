// brucefs — mounts a bruce store as a filesystem (docs/FS.md).
//
// Unless -f, it first forks: the parent waits until the child has opened
// the store, mounted it and started serving, and exits 0 only then; if the
// child fails it prints one line on stderr, nothing stays mounted, and the
// parent exits with the child's status. The child (the daemon) then leaves
// the terminal and logs to syslog. It serves requests on several threads
// until unmounted (a lazy unmount included) or sent SIGTERM/SIGINT/SIGHUP,
// then commits the open transaction group and exits. Exit status: 0 clean,
// 1 could not open, mount or commit, 2 usage error.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "brucefs.h"
#include "control.h"
#include "fuse_ops.h"
#include "options.h"

namespace {

bool g_debug = false;

void SyslogLog(enum fuse_log_level level, const char* fmt, va_list ap) {
  vsyslog(static_cast<int>(level), fmt, ap);
}

// In the foreground: stderr, debug messages (every commit) only with -d.
void StderrLog(enum fuse_log_level level, const char* fmt, va_list ap) {
  if (level == FUSE_LOG_DEBUG && !g_debug) return;
  vfprintf(stderr, fmt, ap);
}

// Forks. The parent waits for the child's word that the mount is up (a 0
// byte on the pipe) and exits 0, or exits with the child's status when the
// child ends without it. The child returns the pipe's write end.
int Detach() {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) {
    perror("brucefs: pipe");
    exit(1);
  }
  const pid_t pid = fork();
  if (pid < 0) {
    perror("brucefs: fork");
    exit(1);
  }
  if (pid > 0) {
    close(p[1]);
    char c = 1;
    ssize_t n;
    do {
      n = read(p[0], &c, 1);
    } while (n < 0 && errno == EINTR);
    if (n == 1 && c == 0) _exit(0);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    _exit(WIFEXITED(status) && WEXITSTATUS(status) != 0 ? WEXITSTATUS(status) : 1);
  }
  close(p[0]);
  setsid();
  return p[1];
}

// The daemon is up: it leaves the terminal (stdio to /dev/null, cwd /),
// logs to syslog from now on, and releases the waiting parent.
void Ready(int notify_fd) {
  openlog("brucefs", LOG_PID, LOG_DAEMON);
  fuse_set_log_func(SyslogLog);
  if (chdir("/") != 0) {
    // (only the cwd stays busy)
  }
  const int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null >= 0) {
    dup2(null, 0);
    dup2(null, 1);
    dup2(null, 2);
    if (null > 2) close(null);
  }
  const char zero = 0;
  (void)!write(notify_fd, &zero, 1);
  close(notify_fd);
}

// The device ("major:minor") of the last mount on `dir` that
// /proc/self/mountinfo lists, or "" when nothing is mounted there.
std::string MountDevice(const std::string& dir) {
  char abs[PATH_MAX];
  if (realpath(dir.c_str(), abs) == nullptr) return "";
  std::string found;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string id, parent, dev, root, point;
    if (!(f >> id >> parent >> dev >> root >> point)) continue;
    std::string unescaped;
    for (size_t i = 0; i < point.size(); ++i) {
      if (point[i] == '\\' && i + 3 < point.size()) {
        unescaped.push_back(static_cast<char>((point[i + 1] - '0') * 64 +
                                              (point[i + 2] - '0') * 8 + (point[i + 3] - '0')));
        i += 3;
      } else {
        unescaped.push_back(point[i]);
      }
    }
    if (unescaped == abs) found = dev;
  }
  return found;
}

// Whether `dir` is already a mount point (of anything). Mounting over it
// would hide what is there.
bool IsMountPoint(const std::string& dir) { return !MountDevice(dir).empty(); }

// Sets the readahead of the mount on `dir` (its bdi's read_ahead_kb): the
// kernel gives a FUSE mount 128 KiB and lets only root raise it.
void SetReadAhead(const std::string& dir, uint64_t bytes) {
  if (bytes == 0) return;
  const std::string dev = MountDevice(dir);
  const std::string path = "/sys/class/bdi/" + dev + "/read_ahead_kb";
  std::ofstream f(path);
  if (dev.empty() || !(f << bytes / 1024) || !f.flush()) {
    fuse_log(FUSE_LOG_INFO, "brucefs: readahead left at the kernel's (%s not writable)\n",
             path.c_str());
  }
}

std::string EscapeOptionValue(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == ',' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

// notify_fd: the pipe to the waiting parent (-1 in the foreground).
int Run(brucefs::MountConfig& c, int notify_fd) {
  struct stat st;
  if (stat(c.store.c_str(), &st) != 0 && !c.create) {
    fprintf(stderr, "brucefs: %s: no such store (-o create makes one)\n", c.store.c_str());
    return 1;
  }
  if (stat(c.mountpoint.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    fprintf(stderr, "brucefs: %s: not a directory\n", c.mountpoint.c_str());
    return 1;
  }
  if (IsMountPoint(c.mountpoint)) {
    fprintf(stderr, "brucefs: %s is already a mount point (unmount it first)\n",
            c.mountpoint.c_str());
    return 1;
  }
  bruce::Options opts;
  opts.create_if_missing = c.create;
  opts.read_only = c.fs.read_only;
  opts.cache_bytes = c.cache_size;
  if (c.two_sync) opts.durability = bruce::Durability::kFullTwoSync;
  auto db = bruce::Db::Open(c.store, opts);
  if (!db.ok()) {
    if (db.status().code() == bruce::Code::kBusy) {
      fprintf(stderr,
              "brucefs: cannot mount %s: the store is in use by another process "
              "(already mounted, or open for writing in the bruce CLI)\n",
              c.store.c_str());
    } else {
      fprintf(stderr, "brucefs: cannot open %s: %s\n", c.store.c_str(),
              db.status().ToString().c_str());
    }
    return 1;
  }
  char abs[PATH_MAX];
  if (realpath(c.store.c_str(), abs) != nullptr) c.fs.store_path = abs;
  // Keys without attributes get the times of the store's last commit.
  if (stat(c.fs.store_path.c_str(), &st) == 0) {
    c.fs.default_time_ns = int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
  }
  c.fs.uid = getuid();
  c.fs.gid = getgid();
  brucefs::BruceFs fs(std::move(*db), c.fs);

  std::string o = "fsname=" + EscapeOptionValue(c.fs.store_path.empty() ? c.store : c.fs.store_path) +
                  ",subtype=brucefs,default_permissions";
  if (c.allow_other) o += ",allow_other";
  if (c.fs.read_only) o += ",ro";
  for (const auto& f : c.kernel_flags) o += "," + f;
  std::string argv0 = "brucefs";
  std::vector<char*> argv = {argv0.data(), const_cast<char*>("-o"), o.data()};
  if (c.debug) argv.push_back(const_cast<char*>("-d"));
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());
  fuse_session* se =
      fuse_session_new(&args, brucefs::Operations(), sizeof(fuse_lowlevel_ops), &fs);
  if (se == nullptr) {
    fprintf(stderr, "brucefs: cannot start a FUSE session\n");
    fuse_opt_free_args(&args);
    return 1;
  }
  if (fuse_set_signal_handlers(se) != 0 || fuse_session_mount(se, c.mountpoint.c_str()) != 0) {
    fprintf(stderr, "brucefs: cannot mount on %s\n", c.mountpoint.c_str());
    fuse_session_destroy(se);
    fuse_opt_free_args(&args);
    return 1;
  }
  SetReadAhead(c.mountpoint, c.read_ahead);
  bruce::Status s = fs.Start();
  // The bruce CLI's writes to the store come through the control socket.
  char mnt[PATH_MAX];
  brucefs::ControlServer control(
      &fs, se, realpath(c.mountpoint.c_str(), mnt) != nullptr ? mnt : c.mountpoint, getuid());
  if (s.ok() && !c.fs.read_only) {
    bruce::Status cs = control.Start();
    if (!cs.ok()) {
      fuse_log(FUSE_LOG_WARNING, "brucefs: no control socket (the bruce CLI cannot write "
               "the mounted store): %s\n", cs.ToString().c_str());
    }
  }
  int ret = 0;
  if (!s.ok()) {
    fuse_log(FUSE_LOG_ERR, "brucefs: cannot start on %s: %s\n", c.store.c_str(),
             s.ToString().c_str());
    ret = 1;
  } else {
    if (notify_fd >= 0) Ready(notify_fd);
    fuse_loop_config* cfg = fuse_loop_cfg_create();
    fuse_loop_cfg_set_max_threads(cfg, 16);
    int r = fuse_session_loop_mt(se, cfg);
    // A loop ended by SIGTERM/SIGINT/SIGHUP returns the signal: a clean exit.
    ret = (r == 0 || r == SIGTERM || r == SIGINT || r == SIGHUP) ? 0 : 1;
    fuse_loop_cfg_destroy(cfg);
  }
  control.RequestStop();
  // Commit before the mount goes away, so whoever waits for the unmount
  // (a signal's sender) finds the store at its final state.
  s = fs.Shutdown();
  if (!s.ok()) ret = 1;
  fuse_session_unmount(se);
  control.Stop();  // after the unmount, which releases any invalidation under way
  fuse_remove_signal_handlers(se);
  fuse_session_destroy(se);
  fuse_opt_free_args(&args);  // fuse_session_new may have added to them
  return ret;
}

}  // namespace

int main(int argc, char** argv) {
  brucefs::MountConfig c;
  std::string err = brucefs::ParseCommandLine(argc, argv, &c);
  if (!err.empty()) {
    fprintf(stderr, "brucefs: %s (brucefs --help lists the options)\n", err.c_str());
    return 2;
  }
  if (c.help) {
    fputs(brucefs::kUsage, stdout);
    return 0;
  }
  if (c.version) {
    printf("brucefs 0.1.0 (libfuse %s)\n", fuse_pkgversion());
    return 0;
  }
  g_debug = c.debug;
  fuse_set_log_func(StderrLog);
  // Fork before any thread starts or the store is opened.
  const int notify_fd = c.foreground ? -1 : Detach();
  return Run(c, notify_fd);
}
