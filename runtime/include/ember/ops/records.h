// Record helpers shared by the operations: the pair traits of the by-key
// operations, a value with no content, and a consumer that keeps what it
// is given.
#pragma once

#include <type_traits>
#include <utility>
#include <vector>

#include "ember/record.h"
#include "ember/task.h"

namespace ember::internal {

// A value with no content, for distinct's pairs.
struct Unit {
  friend bool operator==(Unit, Unit) { return true; }
};

template <typename T>
struct PairTraits {
  static_assert(sizeof(T) == 0, "Ember: this operation needs an RDD of std::pair<key, value>");
};
template <typename K, typename V>
struct PairTraits<std::pair<K, V>> {
  using Key = K;
  using Value = V;
};

template <typename T>
class VectorConsumer final : public Consumer<T> {
 public:
  void Push(T& v) override { items.push_back(std::move(v)); }
  std::vector<T> items;
};

}  // namespace ember::internal

namespace ember {
template <>
struct Codec<internal::Unit> {
  static void Encode(RecordWriter&, const internal::Unit&) {}
  static Status Decode(RecordReader&, internal::Unit&) { return Status::Ok(); }
};
}  // namespace ember
