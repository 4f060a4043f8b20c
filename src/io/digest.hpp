#pragma once
// The checkpoint digest: XXH3-128 over a canonical byte payload of a RunRecord, so a
// checkpoint whose values changed in any way after it was written is recognised.
#include <string>

#include "io/run_record.hpp"

namespace tally::io {

/// 32 hex digits. Payload (docs/file-format.md): config text, status, then as
/// little-endian 64-bit words: chunk count, per chunk (done, sum, missing), restarts,
/// bits of elapsed_seconds, histogram length and cells.
[[nodiscard]] std::string record_digest(const RunRecord& record);

}  // namespace tally::io
