// tools/commands.h — the functions that run each bruce subcommand. Each
// takes a parsed Invocation and returns the process exit code (command.h),
// having printed any error itself.
//
// Thread safety: single-threaded, like the CLI.
#pragma once

#include "command.h"

namespace bruce::cli {

// cmd_write.cc
int RunCreate(const Invocation& inv);
int RunPut(const Invocation& inv);
int RunDel(const Invocation& inv);
int RunLoad(const Invocation& inv);

// cmd_read.cc
int RunGet(const Invocation& inv);
int RunDump(const Invocation& inv);
int RunLs(const Invocation& inv);
int RunCount(const Invocation& inv);
int RunRank(const Invocation& inv);
int RunNth(const Invocation& inv);

// cmd_value.cc
int RunCat(const Invocation& inv);
int RunWrite(const Invocation& inv);
int RunTruncate(const Invocation& inv);

// cmd_snapshot.cc
int RunSnapshotCreate(const Invocation& inv);
int RunSnapshotDestroy(const Invocation& inv);
int RunSnapshotRollback(const Invocation& inv);
int RunSnapshotList(const Invocation& inv);
int RunSnapshotAuto(const Invocation& inv);

// cmd_admin.cc
int RunStat(const Invocation& inv);
int RunCheck(const Invocation& inv);
int RunCompact(const Invocation& inv);
int RunRootHash(const Invocation& inv);
int RunTrees(const Invocation& inv);
int RunDiff(const Invocation& inv);  // cmd_diff.cc
int RunSend(const Invocation& inv);  // cmd_stream.cc
int RunReceive(const Invocation& inv);
int RunScrub(const Invocation& inv);  // cmd_scrub.cc

// cmd_daemon.cc: commands for a store that brucefs has mounted.
int RunSync(const Invocation& inv);
int RunStatus(const Invocation& inv);

}  // namespace bruce::cli
