// Snapshot retention (tools/retention.h): names carry the UTC time, and the
// --keep-* periods keep the newest snapshot of each of their N most recent
// periods, with hour, day, week (from Monday) and month boundaries in UTC.
#include "retention.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace bruce::cli {
namespace {

int64_t T(const char* utc) {
  auto t = ParseUtcTime(utc);
  EXPECT_TRUE(t.has_value()) << utc;
  return t.value_or(0);
}

// The names (as UTC times) of the snapshots a policy keeps.
std::set<std::string> Kept(const std::vector<const char*>& times, RetentionPolicy p) {
  std::vector<int64_t> ts;
  for (const char* t : times) ts.push_back(T(t));
  const std::vector<bool> keep = SnapshotsToKeep(ts, p);
  std::set<std::string> out;
  for (size_t i = 0; i < times.size(); ++i) {
    if (keep[i]) out.insert(times[i]);
  }
  return out;
}

TEST(Retention, NamesCarryTheUtcTime) {
  const int64_t t = T("2026-11-28T21:00:03Z");
  EXPECT_EQ(t, 1795899603);
  EXPECT_EQ(AutoSnapshotName("auto-", t), "auto-2026-11-28T210003Z");
  EXPECT_EQ(AutoSnapshotTime("auto-", "auto-2026-11-28T210003Z"), t);
  EXPECT_EQ(T("2026-11-28T210003Z"), t);
  EXPECT_FALSE(AutoSnapshotTime("auto-", "daily-2026-11-28T210003Z"));
  EXPECT_FALSE(AutoSnapshotTime("auto-", "auto-2026-11-28T210003Z-keep"));
  EXPECT_FALSE(AutoSnapshotTime("auto-", "auto-2026-11-31T000000Z")) << "31 November";
  EXPECT_FALSE(AutoSnapshotTime("auto-", "auto-2026-11-28T250000Z"));
  EXPECT_FALSE(ParseUtcTime("2026-11-28 21:00:03"));
}

TEST(Retention, HourlyKeepsTheNewestOfEachOfTheLastHours) {
  std::vector<std::string> storage;
  for (int h = 0; h < 30; ++h) {
    for (int m = 0; m < 60; m += 15) {
      char buf[32];
      snprintf(buf, sizeof buf, "2026-11-%02d-T%02d:%02d:00Z", 27 + h / 24, h % 24, m);
      storage.push_back(std::string(buf).replace(10, 1, ""));
    }
  }
  std::vector<const char*> times;
  for (const auto& s : storage) times.push_back(s.c_str());
  RetentionPolicy p;
  p.hourly = 24;
  const auto kept = Kept(times, p);
  ASSERT_EQ(kept.size(), 24u);
  for (const auto& k : kept) EXPECT_EQ(k.substr(14, 2), "45") << k << ": not its hour's newest";
  EXPECT_EQ(*kept.begin(), "2026-11-27T06:45:00Z");
  EXPECT_EQ(*kept.rbegin(), "2026-11-28T05:45:00Z");
}

TEST(Retention, DayWeekAndMonthBoundariesAreUtc) {
  RetentionPolicy daily;
  daily.daily = 2;
  EXPECT_EQ(Kept({"2026-11-27T10:00:00Z", "2026-11-27T23:59:59Z", "2026-11-28T00:00:00Z"}, daily),
            (std::set<std::string>{"2026-11-27T23:59:59Z", "2026-11-28T00:00:00Z"}));
  RetentionPolicy weekly;
  weekly.weekly = 2;
  // 2026-11-29 is a Sunday: the week of Monday 2026-11-30 is another one,
  // and Sunday 2026-12-06 still belongs to it.
  EXPECT_EQ(Kept({"2026-11-23T00:00:00Z", "2026-11-29T23:00:00Z", "2026-11-30T01:00:00Z",
                  "2026-12-06T23:59:59Z"},
                 weekly),
            (std::set<std::string>{"2026-11-29T23:00:00Z", "2026-12-06T23:59:59Z"}));
  RetentionPolicy monthly;
  monthly.monthly = 3;
  EXPECT_EQ(Kept({"2026-01-01T00:00:00Z", "2026-01-31T23:59:59Z", "2026-02-01T00:00:00Z",
                  "2026-02-28T12:00:00Z", "2026-04-15T00:00:00Z"},
                 monthly),
            (std::set<std::string>{"2026-01-31T23:59:59Z", "2026-02-28T12:00:00Z",
                                   "2026-04-15T00:00:00Z"}))
      << "March has none: the three most recent months with one";
}

TEST(Retention, PeriodsAddUpAndNothingElseIsKept) {
  RetentionPolicy p;
  p.hourly = 2;
  p.daily = 2;
  p.weekly = 1;
  p.monthly = 2;
  const std::vector<const char*> times = {
      "2026-10-05T08:00:00Z",  // October: kept by monthly
      "2026-10-20T08:00:00Z",  // pruned: October's newest is the one below
      "2026-10-31T08:00:00Z",  // monthly (October's newest)
      "2026-11-26T08:00:00Z",  // pruned: an older day, another week's
      "2026-11-27T09:00:00Z",  // daily (27th's newest)
      "2026-11-28T10:00:00Z",  // pruned: hour 10 is the third most recent
      "2026-11-28T11:30:00Z",  // pruned: not its hour's newest
      "2026-11-28T11:45:00Z",  // hourly
      "2026-11-28T12:00:00Z",  // hourly, daily, weekly, monthly
  };
  const std::set<std::string> want = {"2026-10-31T08:00:00Z", "2026-11-27T09:00:00Z",
                                      "2026-11-28T11:45:00Z", "2026-11-28T12:00:00Z"};
  EXPECT_EQ(Kept(times, p), want);
  EXPECT_TRUE(Kept(times, RetentionPolicy{}).empty());
}

}  // namespace
}  // namespace bruce::cli
