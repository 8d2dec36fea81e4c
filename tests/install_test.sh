#!/usr/bin/env bash
# Installing: `cmake --install` into a DESTDIR puts every file where it
# belongs; a program built against the installed bruce.pc and one built
# with find_package(bruce) open a store; and, for a build configured with
# the /usr prefix, the .deb packages install with dpkg -i, mount a store
# through mount(8) and the installed helper, and are removed again.
#
#   tests/install_test.sh BUILD_DIR   (run by scripts/test.sh after the Release build)
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH  # dpkg needs sbin
BUILD=$(cd "${1:?usage: install_test.sh BUILD_DIR}" && pwd)
SRC=$(cd "$(dirname "$0")/.." && pwd)
T=$(mktemp -d /tmp/bruce-install.XXXXXX)
installed=()
cleanup() {
  local rc=$?
  mountpoint -q "$T/m" 2>/dev/null && umount "$T/m"
  [ ${#installed[@]} -eq 0 ] || dpkg --force-bad-path -r "${installed[@]}" >/dev/null 2>&1 || true
  rm -rf "$T"
  exit $rc
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$BUILD/CMakeCache.txt")
libdir=$(sed -n 's/^CMAKE_INSTALL_LIBDIR:PATH=//p' "$BUILD/CMakeCache.txt")   # lib/<multiarch> under /usr

DESTDIR=$T/root cmake --install "$BUILD" >/dev/null
root=$T/root$prefix
for f in bin/bruce bin/brucefs sbin/mount.fuse.brucefs sbin/mount.brucefs \
         "$libdir/libbruce.a" include/bruce/db.h include/bruce/status.h include/bruce/options.h \
         include/bruce/page_store.h "$libdir/pkgconfig/bruce.pc" "$libdir/cmake/bruce/bruceConfig.cmake" \
         "$libdir/cmake/bruce/bruceConfigVersion.cmake" "$libdir/cmake/bruce/bruceTargets.cmake" \
         lib/systemd/system/brucefs-snapshot@.service lib/systemd/system/brucefs-snapshot@.timer \
         lib/systemd/system/brucefs-scrub@.service lib/systemd/system/brucefs-scrub@.timer \
         share/man/man8/bruce.8 share/man/man8/brucefs.8 \
         share/doc/bruce/examples/var-lib-x.mount share/doc/bruce/examples/var-lib-x.automount; do
  [ -e "$root/$f" ] || fail "not installed: $prefix/$f"
done
grep -q "^ExecStart=$prefix/bin/bruce snapshot auto" "$root/lib/systemd/system/brucefs-snapshot@.service" ||
  fail "the unit does not name the installed bruce"
grep -q "$prefix/bin/brucefs" "$root/sbin/mount.fuse.brucefs" || fail "the helper does not name brucefs"
find "$T/root" -type f | sed "s|^$T/root||" | sort > "$T/files"
echo "installed $(wc -l < "$T/files") files under $prefix"
ok "cmake --install into a DESTDIR"

cat > "$T/prog.cc" <<'CC'
#include <cstdio>
#include <string>
#include "bruce/db.h"
int main(int argc, char** argv) {
  bruce::Options o;
  o.create_if_missing = true;
  auto db = bruce::Db::Open(argv[1], o);
  if (!db.ok()) return std::fprintf(stderr, "%s\n", db.status().ToString().c_str()), 1;
  auto w = (*db)->BeginWrite();
  if (!w.ok() || !(*w)->Main()->Put("k", "installed").ok() || !(*w)->Commit().ok()) return 1;
  auto r = (*db)->BeginRead();
  std::string v;
  if (!r.ok() || !(*r)->Main()->Get("k", &v).ok()) return 1;
  std::printf("%s\n", v.c_str());
  return argc > 2 ? 0 : 0;
}
CC
PKG_CONFIG_SYSROOT_DIR=$T/root PKG_CONFIG_LIBDIR=$root/$libdir/pkgconfig \
  g++ -std=c++20 "$T/prog.cc" -o "$T/prog-pc" \
  $(PKG_CONFIG_SYSROOT_DIR=$T/root PKG_CONFIG_LIBDIR=$root/$libdir/pkgconfig pkg-config --cflags --libs bruce) ||
  fail "a program built against bruce.pc"
[ "$("$T/prog-pc" "$T/pc.bruce")" = installed ] || fail "the bruce.pc program"
ok "a program built with pkg-config bruce opens a store"

mkdir -p "$T/cm"
cp "$T/prog.cc" "$T/cm/prog.cc"
cat > "$T/cm/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.20)
project(uses_bruce CXX)
set(CMAKE_CXX_STANDARD 20)
find_package(bruce 0.1 REQUIRED)
add_executable(prog prog.cc)
target_link_libraries(prog PRIVATE bruce::bruce)
CM
cmake -S "$T/cm" -B "$T/cm/b" -DCMAKE_PREFIX_PATH="$root" >/dev/null || fail "find_package(bruce)"
cmake --build "$T/cm/b" >/dev/null || fail "building with bruce::bruce"
[ "$("$T/cm/b/prog" "$T/cm.bruce")" = installed ] || fail "the find_package program"
ok "a program built with find_package(bruce) opens a store"

if [ "$prefix" != /usr ]; then
  echo "SKIP: .deb packages (the build's prefix is $prefix, packages need /usr)"
  exit 0
fi
(cd "$BUILD" && cpack -G DEB >/dev/null) || fail "cpack -G DEB"
bin_deb=$(ls "$BUILD"/bruce_*.deb) dev_deb=$(ls "$BUILD"/libbruce-dev_*.deb)
dpkg-deb -f "$bin_deb" Depends | tee "$T/depends"
depends_on() { tr ',|' '\n\n' <"$1" | sed 's/(.*//; s/:.*//; s/ //g' | grep -qx "$2"; }
# The package that owns a file, whichever name dpkg knows it by (a symlink
# or its target; /lib or /usr/lib on a merged-/usr system); empty if none.
owner() {
  local p c
  for p in "$1" "$(realpath -s "$1")" "$(readlink -f "$1")"; do
    for c in "$p" "${p#/usr}" "/usr$p"; do
      # "pkg:arch: path", or "pkg1:arch, pkg2:arch: path": the first package
      dpkg -S "$c" 2>/dev/null | sed -n '1{s/: \/.*//; s/,.*//; s/:.*//; p}' | grep . && return 0
    done
  done
  return 0
}
depends_on "$T/depends" fuse3 || fail "bruce.deb does not depend on fuse3 (mount(8)'s helper, fusermount3)"
# Every shared library the packaged programs load belongs to a package that
# bruce.deb depends on (the libraries are found on this system, as dpkg-shlibdeps found them).
dpkg-deb -x "$bin_deb" "$T/bin-deb"
needed=0
for exe in $(find "$T/bin-deb" -type f -perm -u+x); do
  [ "$(head -c 4 "$exe" | od -An -c | tr -d ' ')" = '177ELF' ] || continue  # scripts too
  for lib in $(objdump -p "$exe" | awk '$1 == "NEEDED" { print $2 }'); do
    # (awk reads all its input: a reader that stopped early would kill the
    # writer with SIGPIPE, which pipefail turns into a silent exit)
    path=$( (ldconfig -p 2>/dev/null || true) | awk -v l="$lib" '$1 == l && !p { print $NF; p = 1 }')
    [ -n "$path" ] || path=$( (ldd "$exe" || true) | awk -v l="$lib" '$1 == l && !p { print $3; p = 1 }')
    [ -n "$path" ] || fail "${exe#"$T/bin-deb"} needs $lib, which this system does not have"
    pkg=$(owner "$path")
    [ -n "$pkg" ] || fail "no package owns $path (needed by ${exe#"$T/bin-deb"})"
    [ "$pkg" = libc6 ] || depends_on "$T/depends" "$pkg" ||
      fail "${exe#"$T/bin-deb"} needs $lib from $pkg, which bruce.deb does not depend on"
    needed=$((needed + 1))
    echo "$pkg" >>"$T/owners"
  done
done
[ "$needed" -gt 0 ] || fail "found no shared library the packaged programs need"
ok "bruce.deb depends on the packages of the $needed shared libraries its programs load: $(sort -u "$T/owners" | tr '\n' ' ')"
# The -dev package: what bruce.pc links beyond libbruce comes from packages it depends on.
dpkg-deb -f "$dev_deb" Depends | tee "$T/dev-depends"
dpkg-deb -x "$dev_deb" "$T/dev-deb"
pc=$(find "$T/dev-deb" -name bruce.pc | head -1)
[ -n "$pc" ] || fail "libbruce-dev has no bruce.pc"
for l in $(sed -n 's/^Libs: //p' "$pc"); do
  case "$l" in -l*) ;; *) continue ;; esac
  [ "$l" = -lbruce ] && continue
  so=$(gcc -print-file-name="lib${l#-l}.so")
  [ -e "$so" ] || fail "bruce.pc links $l, which this system lacks"
  pkg=$(owner "$so")
  [ -n "$pkg" ] && depends_on "$T/dev-depends" "$pkg" ||
    fail "bruce.pc links $l (package ${pkg:-none}); libbruce-dev does not depend on it"
  echo "$pkg" >>"$T/dev-owners"
done
[ -s "$T/dev-owners" ] || fail "found no library bruce.pc links"
ok "libbruce-dev depends on the packages of what bruce.pc links: $(sort -u "$T/dev-owners" | tr '\n' ' ')"
installed=(bruce libbruce-dev)
# Some container images strip ldconfig and start-stop-daemon, which dpkg
# insists on finding; these packages need neither (no shared libraries, no
# init scripts).
force=()
if ! command -v ldconfig >/dev/null || ! command -v start-stop-daemon >/dev/null; then
  echo "note: this system lacks ldconfig or start-stop-daemon: dpkg runs with --force-bad-path"
  force=(--force-bad-path)
fi
dpkg "${force[@]}" -i "$bin_deb" "$dev_deb" >"$T/dpkg.out" 2>&1 || fail "dpkg -i: $(cat "$T/dpkg.out")"
for f in /usr/bin/bruce /usr/bin/brucefs /sbin/mount.fuse.brucefs /usr/include/bruce/db.h \
         /usr/lib/systemd/system/brucefs-snapshot@.timer /usr/share/man/man8/brucefs.8; do
  [ -e "$f" ] || fail "the package did not install $f"
done
/usr/bin/bruce create "$T/deb.bruce"
mkdir "$T/m"
mount -t fuse.brucefs "$T/deb.bruce" "$T/m" || fail "mount -t fuse.brucefs with the package"
echo "from the package" > "$T/m/f"
/usr/bin/bruce sync "$T/deb.bruce"
umount "$T/m"
for _ in $(seq 1 200); do pgrep -f "brucefs $T/deb.bruce" >/dev/null || break; sleep 0.05; done
[ "$(/usr/bin/bruce get "$T/deb.bruce" f)" = "from the package" ] || fail "the packaged mount"
g++ -std=c++20 "$T/prog.cc" -o "$T/prog-sys" $(pkg-config --cflags --libs bruce) || fail "system bruce.pc"
[ "$("$T/prog-sys" "$T/sys.bruce")" = installed ] || fail "the system bruce.pc program"
dpkg "${force[@]}" -r bruce libbruce-dev >"$T/dpkg.out" 2>&1 || fail "dpkg -r: $(cat "$T/dpkg.out")"
installed=()
[ ! -e /usr/bin/bruce ] && [ ! -e /sbin/mount.fuse.brucefs ] || fail "dpkg -r left files"
ok "the .deb packages install, mount through mount(8), build against, and remove"
