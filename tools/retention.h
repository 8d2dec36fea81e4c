// tools/retention.h — which automatic snapshots to keep (bruce snapshot auto).
//
// Automatic snapshots are named PREFIX + their UTC time, "2026-11-28T210003Z"
// (ISO 8601, seconds, sortable). A policy keeps, for each of its periods
// (hour, day, ISO week from Monday, month; all in UTC), the newest snapshot
// of each of the N most recent periods that have one; a snapshot is kept
// when any period keeps it (the rule of restic's and sanoid's --keep-*).
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bruce::cli {

struct RetentionPolicy {
  uint64_t hourly = 0;
  uint64_t daily = 0;
  uint64_t weekly = 0;
  uint64_t monthly = 0;
  bool any() const { return hourly + daily + weekly + monthly > 0; }
};

// prefix + "YYYY-MM-DDTHHMMSSZ" for a time in seconds since the epoch.
std::string AutoSnapshotName(std::string_view prefix, int64_t time_s);
// The time in an automatic snapshot's name; nullopt when `name` is not
// prefix followed by exactly that form.
std::optional<int64_t> AutoSnapshotTime(std::string_view prefix, std::string_view name);
// "2026-11-28T21:00:03Z" or "2026-11-28T210003Z" (UTC) to seconds.
std::optional<int64_t> ParseUtcTime(std::string_view text);

// keep[i]: whether the snapshot taken at times[i] (seconds) stays.
std::vector<bool> SnapshotsToKeep(const std::vector<int64_t>& times, const RetentionPolicy& p);

}  // namespace bruce::cli
