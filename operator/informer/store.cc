#include "operator/informer/store.h"

#include "operator/kube/core/resource.h"

namespace ember::kube {

ObjectPtr Store::Get(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = objects_.find(key);
  return it == objects_.end() ? nullptr : it->second;
}

std::vector<ObjectPtr> Store::List() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<ObjectPtr> out;
  out.reserve(objects_.size());
  for (const auto& [key, object] : objects_) out.push_back(object);
  return out;
}

std::vector<std::string> Store::Keys() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  out.reserve(objects_.size());
  for (const auto& [key, object] : objects_) out.push_back(key);
  return out;
}

size_t Store::Size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return objects_.size();
}

ObjectPtr Store::Apply(nlohmann::json object) {
  std::string key = ObjectKey(object);
  auto ptr = std::make_shared<const nlohmann::json>(std::move(object));
  std::lock_guard<std::mutex> lock(mu_);
  ObjectPtr& slot = objects_[key];
  ObjectPtr old = std::move(slot);
  slot = std::move(ptr);
  return old;
}

ObjectPtr Store::Remove(const nlohmann::json& object) {
  std::string key = ObjectKey(object);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = objects_.find(key);
  if (it == objects_.end()) return nullptr;
  ObjectPtr old = std::move(it->second);
  objects_.erase(it);
  return old;
}

std::vector<Store::Change> Store::Replace(std::vector<nlohmann::json> objects) {
  // Build the new map outside the lock; only the swap is inside.
  std::unordered_map<std::string, ObjectPtr> next;
  next.reserve(objects.size());
  for (auto& object : objects) {
    std::string key = ObjectKey(object);
    next[std::move(key)] = std::make_shared<const nlohmann::json>(std::move(object));
  }
  objects.clear();
  std::unordered_map<std::string, ObjectPtr> previous = next;  // pointers only
  {
    std::lock_guard<std::mutex> lock(mu_);
    objects_.swap(previous);
  }
  std::vector<Change> changes;
  for (const auto& [key, object] : next) {
    auto old = previous.find(key);
    if (old == previous.end()) {
      changes.push_back({nullptr, object});
      continue;
    }
    if (ResourceVersionOf(*old->second) != ResourceVersionOf(*object)) {
      changes.push_back({old->second, object});
    }
    previous.erase(old);
  }
  for (auto& [key, object] : previous) changes.push_back({std::move(object), nullptr});
  return changes;
}

}  // namespace ember::kube
