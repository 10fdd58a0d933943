// The informer's in-memory cache: objects keyed by "namespace/name".
//
// Objects are held as shared_ptr<const json>, so a reader can keep one it
// got from Get() or List() while the store moves on, without copying and
// without holding the lock. Memory is one parsed object per key, plus the
// transient second copy during a re-list.
//
// Replace() swaps the whole content in one step: readers see either the old
// set or the new one, never a mix. It returns what changed, so the informer
// can tell its handlers.
//
// Thread-safety: all methods may be called concurrently.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

namespace ember::kube {

using ObjectPtr = std::shared_ptr<const nlohmann::json>;

class Store {
 public:
  struct Change {
    ObjectPtr old_object;  // null for an add
    ObjectPtr new_object;  // null for a delete
  };

  ObjectPtr Get(const std::string& key) const;
  std::vector<ObjectPtr> List() const;
  std::vector<std::string> Keys() const;
  size_t Size() const;

  // Inserts or replaces; returns the previous object (null if none).
  ObjectPtr Apply(nlohmann::json object);
  // Removes by the object's key; returns what was stored (null if nothing).
  ObjectPtr Remove(const nlohmann::json& object);
  // Replaces everything. Returns adds, updates (resourceVersion differs) and
  // deletes relative to the previous content, in no particular order.
  std::vector<Change> Replace(std::vector<nlohmann::json> objects);

 private:
  mutable std::mutex mu_;
  std::unordered_map<std::string, ObjectPtr> objects_;
};

}  // namespace ember::kube
