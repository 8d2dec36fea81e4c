#include "options.h"

#include <cctype>
#include <cstdlib>
#include <set>

namespace brucefs {

const char kUsage[] =
    "usage: brucefs STORE MOUNTPOINT [-o OPTION[,OPTION...]] [-f] [-d]\n"
    "\n"
    "Mounts the bruce store STORE on MOUNTPOINT. Options:\n"
    "  -o ro                   read-only\n"
    "  -o create               make the store if it does not exist\n"
    "  -o snapdir=hidden|visible  list .snapshots in the root (default hidden)\n"
    "  -o txg_timeout=SECONDS  commit the open transaction group this often\n"
    "                          (default 5; 0 commits only on fsync, limits, unmount)\n"
    "  -o dirty_max=BYTES      commit once this much is written (default 256M)\n"
    "  -o cache_size=BYTES     the engine's node cache (default: a quarter of\n"
    "                          the memory, or of the cgroup's limit)\n"
    "  -o allow_other          let other users in (modes are always checked)\n"
    "  -o default_permissions  the kernel checks modes (always on)\n"
    "  -o acl|noacl            POSIX ACLs (default acl; noacl: system.* xattrs\n"
    "                          get EOPNOTSUPP)\n"
    "  -o read_ahead=BYTES     the mount's readahead, up to 1M (default 1M, set\n"
    "                          when run as root; 0 keeps the kernel's 128K)\n"
    "  -o two_sync             commits sync their pages, then the meta page (two\n"
    "                          fdatasyncs; default one, verified at mount)\n"
    "  -f                      stay in the foreground\n"
    "  -d                      debug: foreground, log every request\n"
    "BYTES may end in K, M or G. Generic flags (nosuid, nodev, noexec, noatime, ...)\n"
    "go to the kernel; fstab-only ones (defaults, noauto, nofail, _netdev, x-*)\n"
    "are ignored.\n";

bool ParseBytes(const std::string& s, uint64_t* out) {
  if (s.empty() || !isdigit(static_cast<unsigned char>(s[0]))) return false;
  char* end = nullptr;
  unsigned long long v = strtoull(s.c_str(), &end, 10);
  std::string suffix(end);
  unsigned shift = 0;
  if (suffix == "K" || suffix == "k") {
    shift = 10;
  } else if (suffix == "M" || suffix == "m") {
    shift = 20;
  } else if (suffix == "G" || suffix == "g") {
    shift = 30;
  } else if (!suffix.empty()) {
    return false;
  }
  if (v > (~0ull >> shift)) return false;
  *out = uint64_t{v} << shift;
  return true;
}

namespace {

std::string ApplyOption(const std::string& opt, MountConfig* c) {
  static const std::set<std::string> kKernel = {"nosuid", "suid", "nodev", "dev", "noexec",
                                                "exec", "noatime", "atime", "sync", "async",
                                                "dirsync"};
  static const std::set<std::string> kIgnored = {"defaults", "auto", "noauto", "user",
                                                 "nouser", "users", "_netdev", "nofail",
                                                 "rw", "relatime", "owner", "group"};
  size_t eq = opt.find('=');
  std::string key = opt.substr(0, eq);
  std::string val = eq == std::string::npos ? "" : opt.substr(eq + 1);
  const bool has_val = eq != std::string::npos;
  auto flag = [&](bool* b) -> std::string {
    if (has_val) return "option " + key + " takes no value";
    *b = true;
    return "";
  };
  if (key == "ro") return flag(&c->fs.read_only);
  if (key == "create") return flag(&c->create);
  if (key == "two_sync") return flag(&c->two_sync);
  if (key == "allow_other") return flag(&c->allow_other);
  if (key == "acl" || key == "noacl") {
    bool on = false;
    std::string err = flag(&on);
    c->fs.acl = key == "acl";
    return err;
  }
  if (key == "default_permissions") {
    bool unused = false;
    return flag(&unused);
  }
  if (key == "snapdir") {
    if (val == "hidden") {
      c->fs.snapdir_visible = false;
    } else if (val == "visible") {
      c->fs.snapdir_visible = true;
    } else {
      return "snapdir must be hidden or visible, not '" + val + "'";
    }
    return "";
  }
  if (key == "txg_timeout") {
    uint64_t n = 0;
    if (!has_val || val.empty() || val.find_first_not_of("0123456789") != std::string::npos ||
        !ParseBytes(val, &n) || n > 86400) {
      return "txg_timeout must be a number of seconds from 0 to 86400, not '" + val + "'";
    }
    c->fs.txg_timeout_s = static_cast<unsigned>(n);
    return "";
  }
  if (key == "read_ahead") {
    uint64_t n = 0;
    if (!has_val || !ParseBytes(val, &n) || n > (uint64_t{1} << 20) || n % 4096 != 0) {
      return "read_ahead must be a size up to 1M in whole 4K pages, not '" + val + "'";
    }
    c->read_ahead = n;
    return "";
  }
  if (key == "dirty_max" || key == "cache_size") {
    uint64_t n = 0;
    if (!has_val || !ParseBytes(val, &n) || n == 0) {
      return key + " must be a size in bytes (K, M, G suffixes allowed), not '" + val + "'";
    }
    (key == "dirty_max" ? c->fs.dirty_max : c->cache_size) = n;
    return "";
  }
  if (!has_val && kKernel.count(key)) {
    c->kernel_flags.push_back(key);
    return "";
  }
  if (kIgnored.count(key) || key.rfind("x-", 0) == 0 || key == "comment") return "";
  return "unknown option '" + opt + "'";
}

}  // namespace

std::string ParseCommandLine(int argc, const char* const* argv, MountConfig* c) {
  std::vector<std::string> pos;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      c->help = true;
    } else if (a == "-V" || a == "--version") {
      c->version = true;
    } else if (a == "-f") {
      c->foreground = true;
    } else if (a == "-d") {
      c->debug = c->foreground = true;
    } else if (a == "-o" || a.rfind("-o", 0) == 0) {
      std::string list = a.size() > 2 ? a.substr(2) : "";
      if (list.empty()) {
        if (++i >= argc) return "-o needs a list of options";
        list = argv[i];
      }
      size_t start = 0;
      while (start <= list.size()) {
        size_t comma = list.find(',', start);
        std::string opt = list.substr(start, comma == std::string::npos ? std::string::npos
                                                                          : comma - start);
        if (!opt.empty()) {
          std::string err = ApplyOption(opt, c);
          if (!err.empty()) return err;
        }
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
    } else if (a.size() > 1 && a[0] == '-') {
      return "unknown flag '" + a + "'";
    } else {
      pos.push_back(a);
    }
  }
  if (c->help || c->version) return "";
  if (pos.size() != 2) return "expected STORE and MOUNTPOINT";
  c->store = pos[0];
  c->mountpoint = pos[1];
  return "";
}

}  // namespace brucefs
