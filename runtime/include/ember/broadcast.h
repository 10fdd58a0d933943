// Broadcast variables: read-only values shipped once to every executor.
//
// A large value (a dictionary, a lookup table) goes through
// ctx.broadcast(value), which returns a small Broadcast<T> handle; pass the
// handle to a function with ember::with(handle, fn). On an executor,
// value() fetches the encoded value from the driver on first use, decodes it
// once per process and caches it. The handle encodes as its id.
//
// Thread-safety: value() may be called concurrently from task threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "ember/function.h"
#include "ember/record.h"
#include "ember/task.h"

namespace ember {

namespace internal {
using BroadcastDecoder = std::shared_ptr<const void> (*)(std::string_view encoded);
// The process-wide cache; fetches through the executor's driver client on a
// miss. Throws TaskError when the value cannot be fetched or decoded.
const void* BroadcastValue(uint64_t id, BroadcastDecoder decode);
void PutBroadcastValue(uint64_t id, std::shared_ptr<const void> value);
// A random number fixed for the life of this process.
uint64_t ProcessToken();

template <typename T>
std::shared_ptr<const void> DecodeBroadcast(std::string_view encoded) {
  auto value = std::make_shared<T>();
  RecordReader reader(encoded);
  Status st = Decode(reader, *value);
  if (st.ok() && !reader.AtEnd()) st = DataLossError("trailing bytes after broadcast value");
  if (!st.ok()) Fail(st.WithContext("decoding broadcast variable"));
  return value;
}
}  // namespace internal

template <typename T>
class Broadcast {
 public:
  Broadcast() = default;
  explicit Broadcast(uint64_t id, std::shared_ptr<const void> lease = nullptr)
      : id_(id), lease_(std::move(lease)) {}

  uint64_t id() const { return id_; }
  // Driver side: while any copy of the handle, or any RDD whose function
  // holds one, is alive, the value stays on the driver and executors.
  const std::shared_ptr<const void>& lease() const { return lease_; }

  const T& value() const {
    // The handle travels inside closure bytes, so a cached pointer is only
    // trusted in the process that stored it.
    const uint64_t token = internal::ProcessToken();
    if (cached_token_ != token) {
      cached_ = static_cast<const T*>(internal::BroadcastValue(id_, &internal::DecodeBroadcast<T>));
      cached_token_ = token;
    }
    return *cached_;
  }

 private:
  uint64_t id_ = 0;
  std::shared_ptr<const void> lease_;
  mutable const T* cached_ = nullptr;
  mutable uint64_t cached_token_ = 0;
};

template <typename T>
struct Codec<Broadcast<T>> {
  static void Encode(RecordWriter& w, const Broadcast<T>& b) {
    // An RDD whose function state holds the handle keeps the value alive.
    internal::RetainScope::Note(b.lease());
    Codec<uint64_t>::Encode(w, b.id());
  }
  static Status Decode(RecordReader& r, Broadcast<T>& b) {
    uint64_t id = 0;
    RETURN_IF_ERROR(Codec<uint64_t>::Decode(r, id));
    b = Broadcast<T>(id);
    return Status::Ok();
  }
};

}  // namespace ember
