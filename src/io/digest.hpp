#pragma once
// The checkpoint digest: XXH3-128 over a canonical byte payload of a RunRecord, so a
// checkpoint whose values changed in any way after it was written is recognised.
#include <string>

#include "io/run_record.hpp"

namespace tally::io {

/// 32 hex digits. Payload (docs/file-format.md): config text, status, then as
/// little-endian 64-bit words: chunk count, per chunk (done, sum, missing), restarts,
/// bits of elapsed_seconds, histogram length and cells. Format 2 hashes each 128-bit
/// sum as two words (low, high); format 1 as one. `format_version` 0: the record's own.
[[nodiscard]] std::string record_digest(const RunRecord& record, std::int64_t format_version = 0);

}  // namespace tally::io
